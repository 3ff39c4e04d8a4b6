/** @kubemu/kubelet: the node agent. */
export {};
