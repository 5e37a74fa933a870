// The seam between the control plane's local-path provisioner and the node agents: the
// server never touches a node's disk, it asks the node's agent (over its connection) to
// make or remove a volume directory. Implemented by controlplane/agents (gateway + agent
// messages); the PV controller takes it as an optional dependency.
// Map of the code base: ARCHITECTURE.md, "The parts".

/** StorageClass provisioner name of skiff's built-in local-path provisioner. */
export const LOCAL_PATH_PROVISIONER = 'skiff.io/local-path';

export interface ProvisionRequest {
  /** the PersistentVolume's name (`pvc-<claim uid>`); the directory's last path element */
  pvName: string;
  /** StorageClass parameter "path": the base directory; absent → `<agent data-dir>/storage` */
  basePath?: string;
  /** requested capacity in bytes (recorded; not enforced on the directory) */
  sizeBytes: number;
}

export interface RemoveRequest {
  pvName: string;
  /** the PV's spec.local.path (or spec.hostPath.path), exactly as provision() returned it */
  path: string;
}

export interface VolumeHost {
  /**
   * Has the agent of `node` create the volume directory; resolves with the absolute path it
   * made. Rejects with an Error whose message is the reason (node not connected, permission
   * denied, disk full…); then nothing was created.
   */
  provision(node: string, req: ProvisionRequest): Promise<{ path: string }>;
  /** Has the agent of `node` delete the directory (recursively). Rejects with the reason. */
  remove(node: string, req: RemoveRequest): Promise<void>;
}
