/**
 * The provisioner loop: claims annotated for rancher.io/local-path get a directory on their
 * selected node (made by a helper pod there) and a PV; Released PVs with reclaim Delete get their
 * directory removed (helper pod again) and are deleted. It re-lists every interval rather than
 * watching (upstream's informers resync every 15 s and react to watch events; kubemu's reaction
 * time is the interval).
 */
import { randomUUID } from "node:crypto";
import { type ApiServerClient, isAlreadyExists, isNotFound } from "./api.js";
import {
  basePathFor,
  buildHelperPod,
  buildVolume,
  type Claim,
  folderName,
  nodeOfVolume,
  PROVISIONER_NAME,
  type ProvisionerConfig,
  quantityBytes,
  SETUP_SCRIPT,
  shouldDelete,
  shouldProvision,
  type StorageClass,
  TEARDOWN_SCRIPT,
  validateClaim,
  type Volume,
  volumeName,
} from "./provisioning.js";

export interface ProvisionerOptions {
  client: ApiServerClient;
  config: ProvisionerConfig;
  namespace: string;
  helperImage: string;
  provisionerName?: string;
  intervalMs?: number;
  helperTimeoutMs?: number;
  log: (line: string) => void;
}

interface List<T> {
  items: T[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LocalPathProvisioner {
  private readonly busy = new Set<string>();
  private readonly identity: string;
  private stopped = false;
  private readonly name: string;

  constructor(private readonly o: ProvisionerOptions) {
    this.name = o.provisionerName ?? PROVISIONER_NAME;
    this.identity = `${this.name}_${process.env.HOSTNAME ?? "local-path-provisioner"}_${randomUUID()}`;
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.syncOnce();
      } catch (e) {
        this.o.log(`sync failed: ${(e as Error).message}`);
      }
      await sleep(this.o.intervalMs ?? 1000);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** One pass: start work for each claim to provision and each volume to delete (each runs once at a time). */
  async syncOnce(): Promise<void> {
    const [claims, classes, volumes] = await Promise.all([
      this.o.client.get<List<Claim>>("/api/v1/persistentvolumeclaims"),
      this.o.client.get<List<StorageClass>>("/apis/storage.k8s.io/v1/storageclasses"),
      this.o.client.get<List<Volume>>("/api/v1/persistentvolumes"),
    ]);
    const existing = new Set(volumes.items.map((v) => v.metadata.name));
    for (const claim of claims.items) {
      const sc = classes.items.find((c) => c.metadata.name === claim.spec?.storageClassName);
      const decision = shouldProvision(claim, sc, this.name);
      if (!decision.provision || existing.has(volumeName(claim))) continue;
      this.once(`claim/${claim.metadata.uid}`, () => this.provision(claim, sc!, decision.node));
    }
    for (const pv of volumes.items) {
      if (shouldDelete(pv, this.name)) this.once(`volume/${pv.metadata.name}`, () => this.deleteVolume(pv));
    }
  }

  private once(key: string, work: () => Promise<void>): void {
    if (this.busy.has(key)) return;
    this.busy.add(key);
    void work()
      .catch((e) => this.o.log(`${key}: ${(e as Error).message}`))
      .finally(() => this.busy.delete(key));
  }

  private async provision(claim: Claim, sc: StorageClass, node: string): Promise<void> {
    const key = `${claim.metadata.namespace}/${claim.metadata.name}`;
    await this.event(claim, "PersistentVolumeClaim", "Normal", "Provisioning", `External provisioner is provisioning volume for claim "${key}"`);
    try {
      const invalid = validateClaim(claim);
      if (invalid) throw new Error(invalid);
      const pvName = volumeName(claim);
      const path = `${basePathFor(this.o.config, node)}/${folderName(pvName, claim)}`;
      this.o.log(`Creating volume ${pvName} at ${node}:${path}`);
      await this.runHelper("create", pvName, node, path, quantityBytes(claim.spec?.resources?.requests?.storage), SETUP_SCRIPT);
      try {
        await this.o.client.post("/api/v1/persistentvolumes", buildVolume(claim, sc, node, path, this.name));
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
      this.o.log(`volume "${pvName}" for claim "${key}" saved`);
      await this.event(claim, "PersistentVolumeClaim", "Normal", "ProvisioningSucceeded", `Successfully provisioned volume ${pvName}`);
    } catch (e) {
      await this.event(claim, "PersistentVolumeClaim", "Warning", "ProvisioningFailed", `failed to provision volume with StorageClass "${sc.metadata.name}": ${(e as Error).message}`);
      throw e;
    }
  }

  private async deleteVolume(pv: Volume): Promise<void> {
    const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    const node = nodeOfVolume(pv);
    try {
      if (!path || !node) throw new Error(`no path or node set for volume ${pv.metadata.name}`);
      this.o.log(`Deleting volume ${pv.metadata.name} at ${node}:${path}`);
      await this.runHelper("delete", pv.metadata.name, node, path, 0, TEARDOWN_SCRIPT);
      await this.o.client.delete(`/api/v1/persistentvolumes/${pv.metadata.name}`).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
      this.o.log(`volume "${pv.metadata.name}" deleted`);
    } catch (e) {
      await this.event(pv, "PersistentVolume", "Warning", "VolumeFailedDelete", (e as Error).message);
      throw e;
    }
  }

  /** Runs the helper pod on the node and waits for it to succeed; it is removed afterwards either way. */
  private async runHelper(action: "create" | "delete", pvName: string, node: string, path: string, sizeBytes: number, script: string): Promise<void> {
    const pod = buildHelperPod({ action, pvName, node, namespace: this.o.namespace, image: this.o.helperImage, path, sizeBytes, script });
    const name = (pod.metadata as { name: string }).name;
    const url = `/api/v1/namespaces/${this.o.namespace}/pods/${name}`;
    await this.removePod(url);
    await this.o.client.post(`/api/v1/namespaces/${this.o.namespace}/pods`, pod);
    try {
      const deadline = Date.now() + (this.o.helperTimeoutMs ?? 120_000);
      for (;;) {
        const got = await this.o.client.get<{ status?: { phase?: string } }>(url);
        if (got.status?.phase === "Succeeded") return;
        if (got.status?.phase === "Failed") throw new Error(`${action} process failed: helper pod ${name} failed`);
        if (Date.now() > deadline) throw new Error(`${action} process timeout after ${Math.round((this.o.helperTimeoutMs ?? 120_000) / 1000)} seconds`);
        await sleep(500);
      }
    } finally {
      await this.removePod(url);
    }
  }

  private async removePod(url: string): Promise<void> {
    try {
      await this.o.client.delete(url);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return;
    }
    // The name is reused by the next helper: wait until the old pod is gone.
    for (let i = 0; i < 120; i++) {
      try {
        await this.o.client.get(url);
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      await sleep(500);
    }
  }

  private async event(obj: { metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string } }, kind: string, type: string, reason: string, message: string): Promise<void> {
    const ns = obj.metadata.namespace ?? "default";
    const now = new Date().toISOString();
    const ev = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${obj.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, namespace: ns },
      involvedObject: { apiVersion: "v1", kind, name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
      reason,
      message,
      type,
      source: { component: this.identity },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: this.identity,
    };
    try {
      await this.o.client.post(`/api/v1/namespaces/${ns}/events`, ev);
    } catch (e) {
      this.o.log(`event ${reason}: ${(e as Error).message}`);
    }
  }
}
