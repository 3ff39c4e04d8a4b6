/**
 * The built-in images: the ones the seeds and common tutorials run. Each entry has its image's
 * real ENTRYPOINT/CMD/ENV, so `command` and `args` override them as on a real node.
 */
import type { ImageEntry } from "./catalog.js";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** registry.k8s.io/pause: wait for a signal; SIGINT/SIGTERM end it with exit 0 and pause's message. */
const PAUSE_SCRIPT = [
  `trap 'echo "Shutting down, got signal: Terminated" >&2; exit 0' TERM`,
  `trap 'echo "Shutting down, got signal: Interrupt" >&2; exit 0' INT`,
  "while :; do sleep 2147483647 & wait $!; done",
].join("\n");

function nginx(repository: string, tags: string[] | "*", sizeBytes: number, env: Record<string, string>): ImageEntry {
  return {
    repository,
    tags,
    entrypoint: ["/docker-entrypoint.sh"],
    cmd: ["nginx", "-g", "daemon off;"],
    env: { PATH, ...env },
    stopSignal: "SIGQUIT",
    executables: {
      "/docker-entrypoint.sh": { program: "nginx", args: ["--entrypoint"] },
      nginx: { program: "nginx" },
      "nginx-debug": { program: "nginx" },
    },
    sizeBytes,
  };
}

function userland(repository: string, cmd: string[], sizeBytes: number, extra: Partial<ImageEntry> = {}): ImageEntry {
  return { repository, tags: "*", cmd, env: { PATH }, sizeBytes, ...extra };
}

function kubia(repository: string, tags: string[] | "*", variant: string): ImageEntry {
  return {
    repository,
    tags,
    entrypoint: ["node", "app.js"],
    env: { PATH, NODE_VERSION: "7.10.1", YARN_VERSION: "0.24.4" },
    executables: { "node app.js": { program: "kubia", args: [variant] } },
    sizeBytes: 272_453_281,
  };
}

/** An image whose entrypoint is one of this package's programs. */
function program(repository: string, tags: string[] | "*", entrypoint: string[], executable: { program: string; args?: string[] }, sizeBytes: number, extra: Partial<ImageEntry> = {}): ImageEntry {
  return { repository, tags, entrypoint, env: { PATH }, executables: { [entrypoint.join(" ")]: executable }, sizeBytes, ...extra };
}

function helloApp(repository: string, tag: string, version: string): ImageEntry {
  return { repository, tags: [tag], entrypoint: ["/hello-app"], env: { PATH }, executables: { "/hello-app": { program: "hello-app", args: [version] } }, sizeBytes: 4_309_232 };
}

export const builtinImages: readonly ImageEntry[] = [
  {
    repository: "registry.k8s.io/pause",
    tags: "*",
    entrypoint: ["/pause"],
    env: { PATH },
    // A shell loop rather than a node program: the pause container of every pod should cost next to nothing.
    executables: { "/pause": { host: "sh", args: ["-c", PAUSE_SCRIPT] } },
    sizeBytes: 320_368,
  },
  nginx("docker.io/library/nginx", ["alpine", "stable-alpine", "1.27-alpine", "1.27.3-alpine", "mainline-alpine"], 20_487_134, { NGINX_VERSION: "1.27.3", PKG_RELEASE: "1", NJS_VERSION: "0.8.7", NJS_RELEASE: "1" }),
  nginx("docker.io/library/nginx", "*", 72_188_133, { NGINX_VERSION: "1.27.3", NJS_VERSION: "0.8.7", NJS_RELEASE: "1~bookworm", PKG_RELEASE: "1~bookworm", DYNPKG_RELEASE: "1~bookworm" }),
  {
    repository: "registry.k8s.io/nginx-slim",
    tags: "*",
    cmd: ["nginx", "-g", "daemon off;"],
    env: { PATH },
    stopSignal: "SIGQUIT",
    executables: { nginx: { program: "nginx", args: ["--slim"] } },
    sizeBytes: 51_051_526,
  },
  helloApp("gcr.io/google-samples/hello-app", "1.0", "1.0.0"),
  helloApp("gcr.io/google-samples/hello-app", "2.0", "2.0.0"),
  helloApp("us-docker.pkg.dev/google-samples/containers/gke/hello-app", "1.0", "1.0.0"),
  helloApp("us-docker.pkg.dev/google-samples/containers/gke/hello-app", "2.0", "2.0.0"),
  kubia("docker.io/luksa/kubia", ["latest"], "latest"),
  kubia("docker.io/luksa/kubia", ["v1"], "v1"),
  kubia("docker.io/luksa/kubia", ["v2"], "v2"),
  kubia("docker.io/luksa/kubia", ["v3"], "v3"),
  kubia("docker.io/luksa/kubia", ["v4"], "v4"),
  kubia("docker.io/luksa/kubia-unhealthy", "*", "unhealthy"),
  kubia("docker.io/luksa/kubia-pet", "*", "pet"),
  kubia("docker.io/luksa/kubia-pet-peers", "*", "pet-peers"),
  userland("docker.io/library/busybox", ["sh"], 2_167_176, { busybox: true }),
  userland("gcr.io/google-containers/busybox", ["sh"], 1_315_168, { busybox: true }),
  userland("registry.k8s.io/busybox", ["sh"], 1_144_547, { busybox: true }),
  userland("docker.io/library/alpine", ["/bin/sh"], 3_653_068),
  userland("docker.io/library/ubuntu", ["/bin/bash"], 29_754_422),
  userland("docker.io/library/debian", ["bash"], 48_494_272),
  userland("docker.io/library/perl", ["perl", "-de0"], 335_044_381),
  userland("docker.io/library/python", ["python3"], 412_366_472),
  userland("docker.io/tutum/curl", ["/bin/bash"], 78_394_944),
  userland("docker.io/tutum/dnsutils", ["/bin/bash"], 80_563_229),
  userland("docker.io/curlimages/curl", ["curl"], 10_425_432, { entrypoint: ["/entrypoint.sh"], executables: { "/entrypoint.sh": { passthrough: true } } }),
  userland("docker.io/library/node", ["node"], 399_208_345, { entrypoint: ["docker-entrypoint.sh"], executables: { "docker-entrypoint.sh": { passthrough: true } } }),
  program("docker.io/luksa/fortune", ["latest"], ["/bin/fortuneloop.sh"], { program: "fortune", args: ["latest"] }, 88_354_802),
  program("docker.io/luksa/fortune", ["env"], ["/bin/fortuneloop.sh"], { program: "fortune", args: ["env"] }, 88_354_895, { env: { PATH, INTERVAL: "10" } }),
  program("docker.io/luksa/fortune", ["args"], ["/bin/fortuneloop.sh"], { program: "fortune", args: ["args"] }, 88_354_890, { cmd: ["10"] }),
  userland("docker.io/luksa/ssd-monitor", [], 1_113_554, { entrypoint: ["sh", "-c", 'while true; do echo "SSD OK"; sleep 5; done'], busybox: true }),
  program("docker.io/luksa/kubectl-proxy", "*", ["/kubectl-proxy.sh"], { program: "kubectl-proxy" }, 14_620_364),
  program("docker.io/kubetm/app", "*", ["node", "app.js"], { program: "kubetm", args: ["app"] }, 258_311_052, { workingDir: "/app" }),
  program("docker.io/kubetm/init", "*", ["node", "app.js"], { program: "kubetm", args: ["init"] }, 258_311_118, { workingDir: "/app" }),
  userland("docker.io/kiamol/ch03-sleep", ["sleep", "infinity"], 3_741_420),
  program("docker.io/kiamol/ch05-pi", "*", ["dotnet", "Pi.Web.dll"], { program: "pi" }, 97_815_322, { cmd: ["-m", "web"], workingDir: "/app" }),
  program("registry.k8s.io/test-webserver", "*", ["/test-webserver"], { program: "test-webserver" }, 3_017_218),
  program("registry.k8s.io/goproxy", "*", ["/goproxy"], { program: "goproxy" }, 2_519_640),
  program("docker.io/rancher/local-path-provisioner", "*", ["local-path-provisioner"], { program: "local-path-provisioner" }, 19_231_442),
  program("docker.io/kindest/local-path-provisioner", "*", ["local-path-provisioner"], { program: "local-path-provisioner" }, 19_422_358),
  userland("docker.io/kindest/local-path-helper", ["sh"], 2_921_140, { busybox: true }),
  {
    repository: "registry.k8s.io/ingress-nginx/controller",
    tags: "*",
    entrypoint: ["/usr/bin/dumb-init", "--"],
    cmd: ["/nginx-ingress-controller"],
    env: { PATH },
    executables: {
      "/usr/bin/dumb-init -- /nginx-ingress-controller": { program: "nginx-ingress-controller" },
      "/nginx-ingress-controller": { program: "nginx-ingress-controller" },
    },
    sizeBytes: 105_376_510,
  },
  program("registry.k8s.io/coredns/coredns", "*", ["/coredns"], { program: "coredns" }, 18_562_039),
  program("docker.io/metallb/controller", "*", ["/controller"], { program: "metallb-controller" }, 17_568_932),
  program("quay.io/metallb/controller", "*", ["/controller"], { program: "metallb-controller" }, 17_568_932),
  program("docker.io/metallb/speaker", "*", ["/speaker"], { program: "metallb-speaker" }, 18_951_430),
  program("quay.io/metallb/speaker", "*", ["/speaker"], { program: "metallb-speaker" }, 18_951_430),
  {
    repository: "docker.io/library/redis",
    tags: "*",
    entrypoint: ["docker-entrypoint.sh"],
    cmd: ["redis-server"],
    env: { PATH, REDIS_VERSION: "7.4.1" },
    workingDir: "/data",
    requires: ["redis-server"],
    executables: {
      "docker-entrypoint.sh redis-server": { host: "redis-server", appendArgs: ["--bind", "${POD_IP}", "--protected-mode", "no"] },
      "redis-server": { host: "redis-server", appendArgs: ["--bind", "${POD_IP}", "--protected-mode", "no"] },
      "docker-entrypoint.sh": { passthrough: true },
    },
    sizeBytes: 45_116_016,
  },
];
