// The persistentvolume binder (pkg/controller/volume/persistentvolume/pv_controller.go)
// with skiff's built-in local-path provisioner:
// - claims bind to the smallest fitting Available volume (class, access modes, capacity,
//   volume mode, selector), or to the volume they (or it) name, pre-bound;
// - WaitForFirstConsumer claims wait for the scheduler's volume.kubernetes.io/selected-node;
//   then volumes reachable from that node are matched, else one is provisioned there;
// - classes with provisioner skiff.io/local-path are provisioned by asking the node's agent
//   (VolumeHost) for a directory; the PV is `local`, pinned to the node; other provisioners
//   are left to external provisioners (ExternalProvisioning event);
// - phases Pending/Bound/Lost for claims, Available/Bound/Released/Failed for volumes;
// - a released volume is kept (Retain) or deleted with its directory (Delete); Recycle is
//   not supported.
// Nothing half-created: a directory whose PV cannot be written is removed again.
import type { KubeObject } from '../../proto/meta.js';
import { deepEqual } from '../../proto/canonical.js';
import { compareQuantities, memoryToBytes } from '../../proto/quantity.js';
import { ApiError } from '../api/errors.js';
import { storageClassOf } from '../resources/persistent-volume-common.js';
import { claimHasClass, defaultClass } from '../resources/storage-class.js';
import type { ResourceDef } from '../resources/types.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_LOCAL_PATH_NODE,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  HOSTNAME_LABEL,
  findBestMatch,
  isVolumeBoundToClaim,
  nodeByName,
  pinnedNodes,
  requestedStorage,
  volumeMismatch,
} from '../storage/match.js';
import { LOCAL_PATH_PROVISIONER, type VolumeHost } from '../storage/volume-host.js';
import type { ControllerContext, DefOf } from './context.js';
import { keyOf, runWhenSynced, splitKey, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';
import { rfc3339 } from '../../proto/api/time.js';

export const COMPONENT = 'persistentvolume-controller';
const RESYNC_MS = 15_000;
/** how soon a claim waiting for a VolumeHost (or a node) is looked at again */
const RETRY_MS = 5_000;

export const MSG_WAIT_FOR_FIRST_CONSUMER = 'waiting for first consumer to be created before binding';
export const MSG_NO_CLASS = 'no persistent volumes available for this claim and no storage class is set';

export function externalProvisioningMessage(provisioner: string): string {
  return `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`;
}

export interface PersistentVolumeControllerOptions {
  /** the node agents that make and remove local-path directories; absent: provisioning waits */
  volumeHost?: VolumeHost;
  /** picks among candidate nodes for an Immediate local-path claim (tests pass a fixed one) */
  random?: () => number;
}

class Retry extends Error {}

class PersistentVolumeController implements Controller {
  readonly name = COMPONENT;
  private readonly queue = new WorkQueue(200, 30_000);
  private readonly pvcDef: DefOf<'', 'persistentvolumeclaims'>;
  private readonly pvDef: DefOf<'', 'persistentvolumes'>;
  private pvcInf!: Informer<'PersistentVolumeClaim'>;
  private pvInf!: Informer<'PersistentVolume'>;
  private scInf!: Informer<'StorageClass'>;
  private nodeInf!: Informer<'Node'>;
  private loop?: { stop(): void };
  /** uids of volumes whose directory is gone and whose deletion was asked for (not asked twice) */
  private readonly removed = new Set<string>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: PersistentVolumeControllerOptions,
  ) {
    this.pvcDef = ctx.def('', 'v1', 'persistentvolumeclaims');
    this.pvDef = ctx.def('', 'v1', 'persistentvolumes');
  }

  async start(): Promise<void> {
    this.pvcInf = this.ctx.informers.get('', 'v1', 'persistentvolumeclaims');
    this.pvInf = this.ctx.informers.get('', 'v1', 'persistentvolumes');
    this.scInf = this.ctx.informers.get('storage.k8s.io', 'v1', 'storageclasses');
    this.nodeInf = this.ctx.informers.get('', 'v1', 'nodes');
    const claim = (c: KubeObject) => this.queue.add(`c:${keyOf(c)}`);
    const volume = (v: KubeObject) => this.queue.add(`v:${keyOf(v)}`);
    this.pvcInf.on({
      add: claim,
      update: (_o, c) => claim(c),
      // a deleted claim releases its volume
      delete: (c) => {
        const vn = c.spec?.volumeName;
        if (vn) this.queue.add(`v:${vn}`);
        for (const v of this.pvInf.list()) if (isVolumeBoundToClaim(v, c)) volume(v);
      },
    });
    // a volume that turned Available may be what a waiting claim needs
    const pending = (v: KubeObject) => {
      if (v.status?.phase === 'Available')
        for (const c of this.pvcInf.list()) if (c.status?.phase === 'Pending') claim(c);
    };
    this.pvInf.on({
      delete: (v) => {
        this.removed.delete(v.metadata.uid!);
      },
    });
    this.pvInf.on({
      add: (v) => {
        volume(v);
        this.claimOf(v);
        pending(v);
      },
      update: (o, v) => {
        volume(v);
        this.claimOf(v);
        if (o.status?.phase !== 'Available') pending(v);
      },
      // a claim that lost its volume, or that waits for any volume
      delete: (v) => {
        this.claimOf(v);
        for (const c of this.pvcInf.list()) if (c.status?.phase === 'Pending') claim(c);
      },
    });
    // a new or changed class may make waiting claims provisionable (or give them a default)
    this.scInf.on({
      add: () => {
        for (const c of this.pvcInf.list()) if (c.status?.phase !== 'Bound') claim(c);
      },
      update: () => {
        for (const c of this.pvcInf.list()) if (c.status?.phase !== 'Bound') claim(c);
      },
    });
    this.loop = runWhenSynced({
      informers: [this.pvcInf, this.pvInf, this.scInf, this.nodeInf],
      queue: this.queue,
      workers: 2,
      sync: (key) => (key.startsWith('c:') ? this.syncClaim(key.slice(2)) : this.syncVolume(key.slice(2))),
      onError: (key, err) => {
        if (!(err instanceof Retry)) this.ctx.log.warn({ err, key }, 'persistent volume sync failed; will retry');
      },
      resyncMs: RESYNC_MS,
      resync: () => [
        ...this.pvcInf.list().map((c) => `c:${keyOf(c)}`),
        ...this.pvInf.list().map((v) => `v:${keyOf(v)}`),
      ],
      enqueue: (k) => this.queue.add(k),
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private claimOf(v: KubeObject): void {
    const ref = v.spec?.claimRef;
    if (ref?.namespace && ref?.name) this.queue.add(`c:${ref.namespace}/${ref.name}`);
  }

  private event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const m = obj.metadata;
    return this.ctx.event({
      component: COMPONENT,
      type,
      reason,
      message,
      involvedObject: {
        kind: obj.kind ?? (m.namespace ? 'PersistentVolumeClaim' : 'PersistentVolume'),
        apiVersion: 'v1',
        namespace: m.namespace,
        name: m.name!,
        uid: m.uid!,
        resourceVersion: m.resourceVersion,
      },
    });
  }

  // ---------------- claims ----------------

  async syncClaim(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const claim = this.pvcInf.get(namespace, name);
    if (!claim) return;
    if (claim.metadata.annotations?.[ANN_BIND_COMPLETED] === undefined) return this.syncUnboundClaim(claim);
    return this.syncBoundClaim(claim);
  }

  private async syncUnboundClaim(claim: KubeObject): Promise<void> {
    const volumeName: string | undefined = claim.spec?.volumeName || undefined;
    if (!volumeName) {
      // retroactive default StorageClass assignment (Kubernetes 1.28+)
      if (!claimHasClass(claim)) {
        const def = defaultClass(this.scInf.list());
        if (def) {
          await this.updateClaim(claim, (c) => {
            if (claimHasClass(c)) return false;
            c.spec.storageClassName = def.metadata.name;
            return true;
          });
          return;
        }
      }
      const cls = storageClassOf(claim);
      const sc = cls ? this.scInf.get(undefined, cls) : undefined;
      const wffc = sc?.volumeBindingMode === 'WaitForFirstConsumer';
      const selected: string | undefined = claim.metadata.annotations?.[ANN_SELECTED_NODE] || undefined;
      const delay = wffc && !selected;
      const node = wffc && selected ? (this.nodeInf.get(undefined, selected) ?? nodeByName(selected)) : undefined;
      const volume = findBestMatch(claim, this.pvInf.list(), node, delay);
      if (volume) return this.bind(volume, claim);
      if (delay) {
        await this.event(claim, 'Normal', 'WaitForFirstConsumer', MSG_WAIT_FOR_FIRST_CONSUMER);
        return this.setClaimPhase(claim, 'Pending');
      }
      if (cls) {
        await this.setClaimPhase(claim, 'Pending');
        return this.provision(claim, cls, sc);
      }
      await this.event(claim, 'Normal', 'FailedBinding', MSG_NO_CLASS);
      return this.setClaimPhase(claim, 'Pending');
    }
    const volume = this.pvInf.get(undefined, volumeName);
    if (!volume) return this.setClaimPhase(claim, 'Pending'); // asked for a volume that does not exist (yet)
    if (!volume.spec?.claimRef) {
      const why = volumeMismatch(volume, claim);
      if (why) {
        await this.event(claim, 'Warning', 'VolumeMismatch', `Cannot bind to requested volume "${volumeName}": ${why}`);
        return this.setClaimPhase(claim, 'Pending');
      }
      return this.bind(volume, claim);
    }
    if (isVolumeBoundToClaim(volume, claim)) return this.bind(volume, claim);
    if (claim.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER] === undefined) {
      await this.event(claim, 'Warning', 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
      return this.setClaimPhase(claim, 'Pending');
    }
    return this.setClaimPhase(claim, 'Lost');
  }

  private async syncBoundClaim(claim: KubeObject): Promise<void> {
    const volumeName: string | undefined = claim.spec?.volumeName || undefined;
    if (!volumeName)
      return this.lose(
        claim,
        'ClaimLost',
        'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!',
      );
    const volume =
      this.pvInf.get(undefined, volumeName) ?? (await this.ctx.storage.tryGet(this.pvDef, undefined, volumeName));
    if (!volume)
      return this.lose(claim, 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
    if (!volume.spec?.claimRef || volume.spec.claimRef.uid === claim.metadata.uid)
      return this.bind(await this.expand(volume, claim), claim);
    return this.lose(claim, 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
  }

  /**
   * Volume expansion for local-path volumes (the resize admission let only classes with
   * allowVolumeExpansion through): a directory has no size to grow, so the larger request
   * is recorded as the volume's capacity, and bind() reports it in the claim's status.
   */
  private async expand(volume: KubeObject, claim: KubeObject): Promise<KubeObject> {
    if (volume.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED] !== LOCAL_PATH_PROVISIONER) return volume;
    const want = requestedStorage(claim);
    const have = volume.spec?.capacity?.storage;
    if (want === undefined || have === undefined || compareQuantities(want, have) <= 0) return volume;
    const out = await this.ctx.storage.guaranteedUpdate(this.pvDef, undefined, volume.metadata.name!, {}, (cur) => {
      cur.spec.capacity = { ...(cur.spec.capacity ?? {}), storage: want };
      return cur;
    });
    await this.event(claim, 'Normal', 'VolumeResizeSuccessful', 'Resize volume succeeded');
    return out;
  }

  private async lose(claim: KubeObject, reason: string, message: string): Promise<void> {
    if (claim.status?.phase === 'Lost') return;
    await this.setClaimPhase(claim, 'Lost');
    await this.event(claim, 'Warning', reason, message);
  }

  /** bind(): volume.claimRef, volume Bound, claim.volumeName + annotations, claim Bound — each only if it differs. */
  private async bind(volume: KubeObject, claim: KubeObject): Promise<void> {
    const m = claim.metadata;
    const vname = volume.metadata.name!;
    let pv = volume;
    const ref = volume.spec?.claimRef;
    if (!ref || ref.uid !== m.uid || ref.name !== m.name || ref.namespace !== m.namespace) {
      pv = await this.ctx.storage.guaranteedUpdate(this.pvDef, undefined, vname, {}, (cur) => {
        const r = cur.spec?.claimRef;
        if (r && !isVolumeBoundToClaim(cur, claim))
          throw new Retry(`volume ${vname} was bound to another claim meanwhile`);
        if (!r) cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes' };
        cur.spec.claimRef = {
          kind: 'PersistentVolumeClaim',
          namespace: m.namespace,
          name: m.name,
          uid: m.uid,
          apiVersion: 'v1',
          resourceVersion: m.resourceVersion,
        };
        return cur;
      });
    }
    if (pv.status?.phase !== 'Bound') await this.setVolumePhase(pv, 'Bound');
    let c = claim;
    if (claim.spec?.volumeName !== vname || claim.metadata.annotations?.[ANN_BIND_COMPLETED] === undefined) {
      const updated = await this.updateClaim(claim, (cur) => {
        if (cur.spec.volumeName && cur.spec.volumeName !== vname)
          throw new Retry(`claim was bound to ${cur.spec.volumeName} meanwhile`);
        const ann = { ...(cur.metadata.annotations ?? {}) };
        if (!cur.spec.volumeName) ann[ANN_BOUND_BY_CONTROLLER] = 'yes';
        ann[ANN_BIND_COMPLETED] = 'yes';
        cur.metadata.annotations = ann;
        cur.spec.volumeName = vname;
        return true;
      });
      if (!updated) return;
      c = updated;
    }
    const status = {
      ...(c.status ?? {}),
      phase: 'Bound',
      accessModes: pv.spec?.accessModes ?? [],
      capacity: pv.spec?.capacity ?? {},
    };
    if (!deepEqual(c.status ?? {}, status)) {
      await this.writeStatus(this.pvcDef, c, (cur) => {
        cur.status = {
          ...(cur.status ?? {}),
          phase: 'Bound',
          accessModes: pv.spec?.accessModes ?? [],
          capacity: pv.spec?.capacity ?? {},
        };
      });
    }
  }

  private async updateClaim(claim: KubeObject, fn: (cur: KubeObject) => boolean): Promise<KubeObject | undefined> {
    try {
      let changed = true;
      const out = await this.ctx.storage.guaranteedUpdate(
        this.pvcDef,
        claim.metadata.namespace,
        claim.metadata.name!,
        {},
        (cur) => {
          if (cur.metadata.uid !== claim.metadata.uid) throw new Retry('claim was re-created');
          changed = fn(cur);
          return cur;
        },
      );
      return changed ? out : undefined;
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  private async writeStatus(def: ResourceDef, obj: KubeObject, fn: (cur: KubeObject) => void): Promise<void> {
    try {
      await this.ctx.storage.guaranteedUpdate(
        def,
        obj.metadata.namespace,
        obj.metadata.name!,
        {},
        (cur) => {
          if (cur.metadata.uid !== obj.metadata.uid) throw new Retry('object was re-created');
          fn(cur);
          return cur;
        },
        'status',
      );
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return;
      throw e;
    }
  }

  private async setClaimPhase(claim: KubeObject, phase: string): Promise<void> {
    if (claim.status?.phase === phase) return;
    await this.writeStatus(this.pvcDef, claim, (cur) => {
      cur.status = { ...(cur.status ?? {}), phase };
    });
  }

  private async setVolumePhase(volume: KubeObject, phase: string, message?: string): Promise<void> {
    if (volume.status?.phase === phase && (message === undefined || volume.status?.message === message)) return;
    await this.writeStatus(this.pvDef, volume, (cur) => {
      const status: Record<string, unknown> = { ...(cur.status ?? {}), phase };
      if (message !== undefined) status.message = message;
      else delete status.message;
      if (cur.status?.phase !== phase) status.lastPhaseTransitionTime = rfc3339(this.ctx.now());
      cur.status = status;
    });
  }

  // ---------------- provisioning ----------------

  private async provision(claim: KubeObject, cls: string, sc: KubeObject | undefined): Promise<void> {
    if (claim.metadata.deletionTimestamp) return;
    if (!sc) {
      await this.event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${cls}" not found`);
      return;
    }
    const provisioner: string = sc.provisioner ?? '';
    const a = claim.metadata.annotations ?? {};
    if (a[ANN_STORAGE_PROVISIONER] !== provisioner || a[ANN_BETA_STORAGE_PROVISIONER] !== provisioner) {
      // setClaimProvisioner: tells (external) provisioners the claim is theirs
      await this.updateClaim(claim, (cur) => {
        cur.metadata.annotations = {
          ...(cur.metadata.annotations ?? {}),
          [ANN_STORAGE_PROVISIONER]: provisioner,
          [ANN_BETA_STORAGE_PROVISIONER]: provisioner,
        };
        return true;
      });
      return; // the update brings the claim back
    }
    if (provisioner !== LOCAL_PATH_PROVISIONER) {
      await this.event(claim, 'Normal', 'ExternalProvisioning', externalProvisioningMessage(provisioner));
      return;
    }
    const pvName = `pvc-${claim.metadata.uid}`;
    if (await this.ctx.storage.tryGet(this.pvDef, undefined, pvName)) {
      this.queue.add(`c:${keyOf(claim)}`); // provisioned before: bind it
      return;
    }
    const failed = (why: string) =>
      this.event(
        claim,
        'Warning',
        'ProvisioningFailed',
        `failed to provision volume with StorageClass "${cls}": ${why}`,
      );
    const node = this.pickNode(claim);
    if (!node) {
      await failed('no node is available to hold the volume');
      this.queue.addAfter(`c:${keyOf(claim)}`, RETRY_MS);
      return;
    }
    const host = this.opts.volumeHost;
    if (!host) {
      await failed('the local-path provisioner cannot reach the node agents');
      this.queue.addAfter(`c:${keyOf(claim)}`, RETRY_MS);
      return;
    }
    const request = requestedStorage(claim) ?? 0;
    let sizeBytes = 0;
    try {
      sizeBytes = memoryToBytes(request);
    } catch {
      sizeBytes = 0;
    }
    const basePath = typeof sc.parameters?.path === 'string' && sc.parameters.path ? sc.parameters.path : undefined;
    await this.event(
      claim,
      'Normal',
      'Provisioning',
      `${LOCAL_PATH_PROVISIONER} is provisioning volume for claim "${keyOf(claim)}" on node "${node}"`,
    );
    let path: string;
    try {
      ({ path } = await host.provision(node, { pvName, ...(basePath ? { basePath } : {}), sizeBytes }));
    } catch (e) {
      await failed(e instanceof Error ? e.message : String(e));
      throw new Retry('provisioning failed');
    }
    const m = claim.metadata;
    const pv: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: pvName,
        annotations: {
          [ANN_DYNAMICALLY_PROVISIONED]: LOCAL_PATH_PROVISIONER,
          [ANN_BOUND_BY_CONTROLLER]: 'yes',
          [ANN_LOCAL_PATH_NODE]: node,
        },
      },
      spec: {
        capacity: { storage: request },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
        storageClassName: cls,
        volumeMode: 'Filesystem',
        ...(Array.isArray(sc.mountOptions) && sc.mountOptions.length ? { mountOptions: sc.mountOptions } : {}),
        local: { path },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [node] }] }],
          },
        },
        claimRef: {
          kind: 'PersistentVolumeClaim',
          namespace: m.namespace,
          name: m.name,
          uid: m.uid,
          apiVersion: 'v1',
          resourceVersion: m.resourceVersion,
        },
      },
    };
    try {
      await this.ctx.storage.create(this.pvDef, undefined, pv, { fieldManager: COMPONENT });
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'AlreadyExists') {
        this.queue.add(`c:${keyOf(claim)}`);
        return;
      }
      // nothing half-created: take the directory back
      try {
        await host.remove(node, { pvName, path });
      } catch (err) {
        this.ctx.log.warn(
          { err, pv: pvName, node, path },
          'cannot remove the directory of a volume whose PV could not be created',
        );
      }
      await failed(`cannot create PersistentVolume: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
    await this.event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`);
    this.queue.add(`c:${keyOf(claim)}`);
  }

  /** The scheduler's choice for a WaitForFirstConsumer claim; for Immediate, a Ready, schedulable node at random. */
  private pickNode(claim: KubeObject): string | undefined {
    const selected = claim.metadata.annotations?.[ANN_SELECTED_NODE];
    if (selected) return selected;
    const ready = this.nodeInf
      .list()
      .filter(
        (n) =>
          !n.spec?.unschedulable &&
          !n.metadata.deletionTimestamp &&
          (n.status?.conditions ?? []).some(
            (c: { type?: string; status?: string }) => c?.type === 'Ready' && c.status === 'True',
          ),
      );
    if (!ready.length) return undefined;
    ready.sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    return ready[Math.floor((this.opts.random ?? Math.random)() * ready.length)]!.metadata.name;
  }

  // ---------------- volumes ----------------

  async syncVolume(name: string): Promise<void> {
    const volume = this.pvInf.get(undefined, name);
    if (!volume) return;
    const ref = volume.spec?.claimRef;
    if (!ref) return this.setVolumePhase(volume, 'Available');
    if (!ref.uid) return this.setVolumePhase(volume, 'Available'); // pre-bound, waiting for its claim
    let claim = this.pvcInf.get(ref.namespace, ref.name ?? '');
    if (!claim || claim.metadata.uid !== ref.uid)
      claim = await this.ctx.storage.tryGet(this.pvcDef, ref.namespace, ref.name ?? '');
    if (claim && claim.metadata.uid !== ref.uid) claim = undefined;
    if (!claim) {
      let v = volume;
      if (v.status?.phase !== 'Released' && v.status?.phase !== 'Failed') {
        await this.setVolumePhase(v, 'Released');
        v = { ...v, status: { ...(v.status ?? {}), phase: 'Released' } };
      }
      return this.reclaim(v);
    }
    if (!claim.spec?.volumeName) {
      this.queue.add(`c:${keyOf(claim)}`); // binding not complete; the claim's sync finishes it
      return;
    }
    if (claim.spec.volumeName === name) return this.setVolumePhase(volume, 'Bound');
    // the claim is bound to another volume
    const ann = volume.metadata.annotations ?? {};
    if (ann[ANN_DYNAMICALLY_PROVISIONED] && volume.spec?.persistentVolumeReclaimPolicy === 'Delete') {
      if (volume.status?.phase !== 'Released' && volume.status?.phase !== 'Failed')
        await this.setVolumePhase(volume, 'Released');
      return this.reclaim(volume);
    }
    await this.ctx.storage.guaranteedUpdate(this.pvDef, undefined, name, {}, (cur) => {
      if (cur.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER] !== undefined) {
        delete cur.spec.claimRef;
        delete cur.metadata.annotations[ANN_BOUND_BY_CONTROLLER];
      } else if (cur.spec.claimRef) {
        cur.spec.claimRef.uid = '';
      }
      return cur;
    });
  }

  private async reclaim(volume: KubeObject): Promise<void> {
    const name = volume.metadata.name!;
    switch (volume.spec?.persistentVolumeReclaimPolicy) {
      case 'Retain':
        return;
      case 'Recycle':
        if (volume.status?.phase === 'Failed') return;
        await this.setVolumePhase(volume, 'Failed', 'No recycler plugin found for the volume!');
        await this.event(
          volume,
          'Warning',
          'VolumeFailedRecycle',
          'No recycler plugin found for the volume! (skiff does not support the deprecated Recycle policy; use Delete or Retain)',
        );
        return;
      case 'Delete':
        break;
      default:
        return;
    }
    const provisionedBy = volume.metadata.annotations?.[ANN_DYNAMICALLY_PROVISIONED];
    if (provisionedBy && provisionedBy !== LOCAL_PATH_PROVISIONER) return; // its external provisioner deletes it
    const failDelete = async (why: string) => {
      await this.setVolumePhase(volume, 'Failed', why);
      await this.event(volume, 'Warning', 'VolumeFailedDelete', why);
    };
    if (!provisionedBy) {
      if (volume.status?.phase !== 'Failed')
        await failDelete(
          `error getting deleter volume plugin for volume "${name}": no deletable volume plugin matched`,
        );
      return;
    }
    const node = volume.metadata.annotations?.[ANN_LOCAL_PATH_NODE] || pinnedNodes(volume)[0];
    const path: string | undefined = volume.spec?.local?.path ?? volume.spec?.hostPath?.path;
    const host = this.opts.volumeHost;
    if (!node || !path) {
      if (volume.status?.phase !== 'Failed')
        await failDelete(`cannot delete volume "${name}": it names no node or path`);
      return;
    }
    const uid = volume.metadata.uid!;
    if (!this.removed.has(uid)) {
      if (!host) {
        await failDelete('the local-path provisioner cannot reach the node agents');
        this.queue.addAfter(`v:${name}`, RETRY_MS);
        return;
      }
      try {
        await host.remove(node, { pvName: name, path });
      } catch (e) {
        await failDelete(e instanceof Error ? e.message : String(e));
        throw new Retry('delete failed');
      }
      this.removed.add(uid);
    }
    if (volume.metadata.deletionTimestamp) return;
    try {
      await this.ctx.storage.delete(this.pvDef, undefined, name, { preconditions: { uid: volume.metadata.uid } });
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
    }
  }
}

export function create(ctx: ControllerContext, opts: PersistentVolumeControllerOptions = {}): Controller {
  return new PersistentVolumeController(ctx, opts);
}
