# One image for every kubemu component (compose mode: `./kubemu compose`, then `docker-compose up`).
# The base is made locally (no image registry is reachable): scripts/compose-base-image.sh builds
# kubemu-base:bookworm (Debian minbase + bubblewrap, busybox, dnsutils, curl + the host's node).
# Build from a built checkout (`npm run build`): the image copies dist/, not sources.
ARG BASE_IMAGE=kubemu-base:bookworm
FROM ${BASE_IMAGE}
WORKDIR /opt/kubemu
# Dependencies first (they change least); node_modules/@kubemu/* are workspace links into packages/.
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
COPY packages/common/package.json packages/common/
COPY packages/etcd-raft/package.json packages/etcd-raft/
COPY packages/apiserver/package.json packages/apiserver/
COPY packages/scheduler/package.json packages/scheduler/
COPY packages/controller-manager/package.json packages/controller-manager/
COPY packages/images/package.json packages/images/
COPY packages/kubelet/package.json packages/kubelet/
COPY packages/kube-proxy/package.json packages/kube-proxy/
COPY packages/cli/package.json packages/cli/
COPY packages/common/dist packages/common/dist
COPY packages/etcd-raft/dist packages/etcd-raft/dist
COPY packages/apiserver/dist packages/apiserver/dist
COPY packages/scheduler/dist packages/scheduler/dist
COPY packages/controller-manager/dist packages/controller-manager/dist
COPY packages/images/dist packages/images/dist
COPY packages/kubelet/dist packages/kubelet/dist
COPY packages/kube-proxy/dist packages/kube-proxy/dist
COPY packages/cli/dist packages/cli/dist
COPY kubemu ./
# Every process of a compose cluster accepts its Docker network's hosts (see @kubemu/common network-mode).
ENV KUBEMU_NETWORK=compose
CMD ["node", "packages/cli/dist/main.js", "--help"]
