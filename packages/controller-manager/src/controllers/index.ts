/**
 * Every controller the manager can run, in upstream's names. Each lives in its own folder with
 * its wiring (controller.ts) and its reconcile (sync.ts).
 */
import type { ControllerDescriptor } from "../controller/context.js";
import { cronJobController } from "./cronjob/index.js";
import { daemonSetController } from "./daemonset/index.js";
import { deploymentController } from "./deployment/index.js";
import { disruptionController } from "./disruption/index.js";
import { endpointControllerDescriptor } from "./endpoint/index.js";
import { endpointSliceControllerDescriptor } from "./endpointslice/index.js";
import { endpointSliceMirroringControllerDescriptor } from "./endpointslicemirroring/index.js";
import { ephemeralVolumeController } from "./ephemeral/index.js";
import { garbageCollectorController } from "./garbagecollector/index.js";
import { jobController } from "./job/index.js";
import { namespaceDeletionController } from "./namespace/index.js";
import { nodeLifecycleController } from "./nodelifecycle/index.js";
import { persistentVolumeBinderController } from "./persistentvolume/index.js";
import { podGCController } from "./podgc/index.js";
import { pvProtectionController } from "./pv-protection/index.js";
import { pvcProtectionController } from "./pvc-protection/index.js";
import { replicaSetController, replicationControllerController } from "./replicaset/index.js";
import { resourceQuotaController } from "./resourcequota/index.js";
import { rootCaCertPublisherDescriptor } from "./root-ca-cert-publisher/index.js";
import { serviceAccountControllerDescriptor } from "./serviceaccount/index.js";
import { serviceAccountTokenControllerDescriptor } from "./serviceaccount-token/index.js";
import { statefulSetController } from "./statefulset/index.js";
import { taintEvictionController } from "./tainteviction/index.js";
import { ttlAfterFinishedController } from "./ttlafterfinished/index.js";

export const ALL_CONTROLLERS: readonly ControllerDescriptor[] = [daemonSetController, deploymentController, replicaSetController, replicationControllerController, statefulSetController, jobController, cronJobController, ttlAfterFinishedController, endpointControllerDescriptor, endpointSliceControllerDescriptor, endpointSliceMirroringControllerDescriptor, serviceAccountControllerDescriptor, serviceAccountTokenControllerDescriptor, rootCaCertPublisherDescriptor, garbageCollectorController, namespaceDeletionController, persistentVolumeBinderController, pvcProtectionController, pvProtectionController, ephemeralVolumeController, resourceQuotaController, nodeLifecycleController, taintEvictionController, podGCController, disruptionController];
