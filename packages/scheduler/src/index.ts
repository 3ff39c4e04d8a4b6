/** @kubemu/scheduler: kube-scheduler's behaviour, leader-elected. */
export {};
