import { dirname, join } from "node:path";

/**
 * Each kubelet's client certificate in the cluster's pki dir (kubeadm's kubelet-client-current.pem,
 * one per node here). Its own module so both the PKI and the component table use it without an
 * import cycle.
 */
export function nodeCertPaths(pkiDir: string, node: string): { cert: string; key: string } {
  return { cert: join(pkiDir, `kubelet-${node}.crt`), key: join(pkiDir, `kubelet-${node}.key`) };
}

/** Each kubelet's serving certificate for :10250 (kubeadm's kubelet.crt; signed by the cluster CA here). */
export function nodeServingCertPaths(pkiDir: string, node: string): { cert: string; key: string } {
  return { cert: join(pkiDir, `kubelet-${node}-serving.crt`), key: join(pkiDir, `kubelet-${node}-serving.key`) };
}

/** The IP of the node at index i (0-based): 127.0.100.<i+1>. */
export const nodeIp = (i: number) => `127.0.100.${i + 1}`;

/** The pki dir of a cluster's CA certificate path. */
export const pkiDirOf = (caCert: string) => dirname(caCert);
