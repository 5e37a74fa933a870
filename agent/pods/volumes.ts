// A pod's volumes, the way kubelet's in-tree plugins lay them out under the pod's dir
// (<data-dir>/pods/<uid>/volumes/kubernetes.io~<plugin>/<volume>):
//   - emptyDir: a directory, removed with the pod; hostPath: the host's path;
//   - configMap, secret, downwardAPI, projected: files written by the AtomicWriter
//     (atomic-writer.ts) from the objects the worker read, mounted read-only into the
//     containers (as kubelet does), so a later rewrite shows up in running containers;
//     a subPath mount binds the file of that moment and never updates, as in Kubernetes.
// Secret volumes: kubelet puts them on a tmpfs so they never reach a disk. skiff keeps them
// in the agent's data dir (0700, like the data dir itself) under a 0700 plugin directory
// instead: no mount privileges needed, cleaned up with the pod, but on disk.
// Payload errors use kubelet's messages ("configmap \"x\" not found", "configmap references
// non-existent config key: k"); the pod worker reports them as FailedMount events.
import { chmodSync, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { KubeObject } from '../../proto/meta.js';
import type { Container, DownwardAPIVolumeFile, Volume } from '../../proto/api/types.gen.js';
import { writeAtomic, DATA_DIR_NAME, type Payload } from './atomic-writer.js';
import { fieldRef, resourceFieldRef, type EnvContext } from './env.js';
import { memoryToBytes } from '../../proto/quantity.js';
import { setVolumeOwnership } from '../storage/ownership.js';

export interface ResolvedMount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
  create: boolean;
  /** emptyDir medium Memory: a tmpfs shared by the pod's containers (hostPath unused) */
  tmpfs?: { volume: string; sizeBytes: number };
}

/** the directory of a bound claim's PV on this node (claims.ts), by pod volume name */
export interface ClaimPath {
  path: string;
  create: boolean;
}

const PLUGIN_DIRS = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
} as const;
type Plugin = keyof typeof PLUGIN_DIRS;
/** the volume sources whose files the agent writes */
const WRITTEN: Plugin[] = ['configMap', 'secret', 'downwardAPI', 'projected'];
const DEFAULT_MODE = 0o644;

export function podDir(dataDir: string, uid: string): string {
  return join(dataDir, 'pods', uid);
}

export function volumeDir(dataDir: string, uid: string, plugin: Plugin, name: string): string {
  return join(podDir(dataDir, uid), 'volumes', PLUGIN_DIRS[plugin], name);
}

function pluginOf(v: Volume | undefined): Plugin | undefined {
  return WRITTEN.find((p) => v?.[p]) ?? (v?.emptyDir ? 'emptyDir' : undefined);
}

/** the ConfigMaps and Secrets (by name, in the pod's namespace) the pod's volumes read */
export function volumeReferences(pod: KubeObject): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v?.configMap?.name) configMaps.add(v.configMap.name);
    if (v?.secret?.secretName) secrets.add(v.secret.secretName);
    for (const s of v?.projected?.sources ?? []) {
      if (s?.configMap?.name) configMaps.add(s.configMap.name);
      if (s?.secret?.name) secrets.add(s.secret.name);
    }
  }
  return { configMaps, secrets };
}

/** what was read: the object, null when it does not exist, or why it could not be read */
export interface VolumeSources {
  configMaps: ReadonlyMap<string, KubeObject | null | Error>;
  secrets: ReadonlyMap<string, KubeObject | null | Error>;
  /** ServiceAccount tokens of projected serviceAccountToken sources, by serviceAccountTokenKey (absent: none can be had) */
  tokens?: ReadonlyMap<string, string | Error>;
}

/** a projected serviceAccountToken source as the token manager is asked for it (expirationSeconds defaults to 3600) */
export interface TokenProjection {
  audience?: string;
  expirationSeconds: number;
}

export function serviceAccountTokenKey(t: { audience?: unknown; expirationSeconds?: unknown }): string {
  const exp = typeof t.expirationSeconds === 'number' ? t.expirationSeconds : 3600;
  return `${typeof t.audience === 'string' ? t.audience : ''}|${exp}`;
}

/** the serviceAccountToken sources of the pod's projected volumes, one per audience and lifetime */
export function tokenReferences(pod: KubeObject): TokenProjection[] {
  const out = new Map<string, TokenProjection>();
  for (const v of pod.spec?.volumes ?? []) {
    for (const s of v?.projected?.sources ?? []) {
      const t = s?.serviceAccountToken;
      if (!t) continue;
      const exp = typeof t.expirationSeconds === 'number' ? t.expirationSeconds : 3600;
      out.set(serviceAccountTokenKey(t), {
        ...(typeof t.audience === 'string' && t.audience ? { audience: t.audience } : {}),
        expirationSeconds: exp,
      });
    }
  }
  return [...out.values()];
}

export class VolumeError extends Error {}

interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

function source(
  kind: 'configmap' | 'secret',
  m: ReadonlyMap<string, KubeObject | null | Error>,
  name: string | undefined,
  optional: boolean,
): KubeObject | null {
  const o = name === undefined ? undefined : m.get(name);
  if (o instanceof Error) throw new VolumeError(o.message);
  if (o === undefined) throw new VolumeError(`${kind} "${name}" was not read`);
  if (o === null && !optional) throw new VolumeError(`${kind} "${name}" not found`);
  return o;
}

/** configMap.MakePayload / secret.MakePayload: every key, or the listed items */
function keyPayload(
  kind: 'configmap' | 'secret',
  obj: KubeObject | null,
  items: KeyToPath[] | undefined,
  defaultMode: number,
  optional: boolean,
  out: Payload,
): void {
  if (!obj) return; // optional and missing: an empty volume
  const files = new Map<string, Buffer>();
  const data = (obj.data ?? {}) as Record<string, string>;
  if (kind === 'configmap') {
    for (const [k, v] of Object.entries(data)) files.set(k, Buffer.from(String(v ?? ''), 'utf8'));
    for (const [k, v] of Object.entries((obj.binaryData ?? {}) as Record<string, string>))
      files.set(k, Buffer.from(String(v ?? ''), 'base64'));
  } else {
    for (const [k, v] of Object.entries(data)) files.set(k, Buffer.from(String(v ?? ''), 'base64'));
  }
  if (!items?.length) {
    for (const [k, b] of files) out[k] = { data: b, mode: defaultMode };
    return;
  }
  for (const it of items) {
    const b = files.get(it.key);
    if (!b) {
      if (optional) continue;
      throw new VolumeError(
        kind === 'configmap'
          ? `configmap references non-existent config key: ${it.key}`
          : `references non-existent secret key: ${it.key}`,
      );
    }
    out[it.path] = { data: b, mode: it.mode ?? defaultMode };
  }
}

/** fieldpath.FormatMap: sorted `key="value"` lines, values quoted as Go's %q does */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(String(m![k]))}`)
    .join('\n');
}

function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** downwardapi.CollectData */
function downwardPayload(
  pod: KubeObject,
  items: DownwardAPIVolumeFile[] | undefined,
  defaultMode: number,
  ctx: EnvContext,
  out: Payload,
): void {
  for (const it of items ?? []) {
    let value: string;
    try {
      if (it.fieldRef) {
        const p: string = it.fieldRef.fieldPath;
        if (p === 'metadata.labels') value = formatMap(pod.metadata.labels as Record<string, string> | undefined);
        else if (p === 'metadata.annotations')
          value = formatMap(pod.metadata.annotations as Record<string, string> | undefined);
        else value = fieldRef(pod, p, ctx);
      } else if (it.resourceFieldRef) {
        const ref = it.resourceFieldRef;
        const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
          (x: Container) => x.name === ref.containerName,
        );
        value = resourceFieldRef(c, ref, pod);
      } else continue;
    } catch (e) {
      throw new VolumeError(`downward API item ${it.path}: ${(e as Error).message}`);
    }
    out[it.path] = { data: value, mode: it.mode ?? defaultMode };
  }
}

export interface VolumeWarning {
  volume: string;
  reason: string;
  message: string;
}

/** the files of one written volume (configMap, secret, downwardAPI, projected) */
export function volumePayload(
  pod: KubeObject,
  v: Volume,
  sources: VolumeSources,
  ctx: EnvContext,
  warn: (w: VolumeWarning) => void = () => undefined,
): Payload {
  const out: Payload = {};
  if (v.configMap) {
    const c = v.configMap;
    keyPayload(
      'configmap',
      source('configmap', sources.configMaps, c.name, !!c.optional),
      c.items,
      c.defaultMode ?? DEFAULT_MODE,
      !!c.optional,
      out,
    );
  } else if (v.secret) {
    const s = v.secret;
    keyPayload(
      'secret',
      source('secret', sources.secrets, s.secretName, !!s.optional),
      s.items,
      s.defaultMode ?? DEFAULT_MODE,
      !!s.optional,
      out,
    );
  } else if (v.downwardAPI) {
    downwardPayload(pod, v.downwardAPI.items, v.downwardAPI.defaultMode ?? DEFAULT_MODE, ctx, out);
  } else if (v.projected) {
    const mode = v.projected.defaultMode ?? DEFAULT_MODE;
    for (const s of v.projected.sources ?? []) {
      if (s.configMap) {
        keyPayload(
          'configmap',
          source('configmap', sources.configMaps, s.configMap.name, !!s.configMap.optional),
          s.configMap.items,
          mode,
          !!s.configMap.optional,
          out,
        );
      } else if (s.secret) {
        keyPayload(
          'secret',
          source('secret', sources.secrets, s.secret.name, !!s.secret.optional),
          s.secret.items,
          mode,
          !!s.secret.optional,
          out,
        );
      } else if (s.downwardAPI) {
        downwardPayload(pod, s.downwardAPI.items, mode, ctx, out);
      } else if (s.serviceAccountToken) {
        const t = sources.tokens?.get(serviceAccountTokenKey(s.serviceAccountToken));
        if (t === undefined) {
          warn({
            volume: v.name,
            reason: 'UnsupportedVolumeSource',
            message: `volume "${v.name}": serviceAccountToken projection skipped (no ${s.serviceAccountToken.path ?? 'token'} file): the agent cannot ask the server for tokens`,
          });
        } else {
          if (t instanceof Error) throw new VolumeError(t.message);
          // kubelet writes the token file 0600 when the pod sets fsGroup; else the volume's mode
          out[s.serviceAccountToken.path ?? 'token'] = { data: t, mode: mode };
        }
      } else if (s.clusterTrustBundle) {
        warn({
          volume: v.name,
          reason: 'UnsupportedVolumeSource',
          message: `volume "${v.name}": clusterTrustBundle projection skipped: skiff has no ClusterTrustBundle API`,
        });
      }
    }
  }
  return out;
}

export interface VolumeSetUpResult {
  /** volumes whose files were (re)written */
  written: string[];
  /** volumes that could not be written this time, with kubelet's message */
  errors: Array<{ volume: string; message: string }>;
  /** written volumes not ready yet (never written successfully): the pod's containers must wait */
  notReady: string[];
  warnings: VolumeWarning[];
}

/**
 * Write (or refresh) every configMap/secret/downwardAPI/projected volume of the pod. A
 * volume that fails keeps what it had (kubelet keeps the last good content); one that
 * never succeeded is not ready, and the pod's containers wait for it.
 */
export function setUpVolumes(
  pod: KubeObject,
  dataDir: string,
  sources: VolumeSources,
  ctx: EnvContext,
): VolumeSetUpResult {
  const r: VolumeSetUpResult = { written: [], errors: [], notReady: [], warnings: [] };
  const uid = pod.metadata.uid!;
  for (const v of pod.spec?.volumes ?? []) {
    const plugin = pluginOf(v);
    if (!plugin || plugin === 'emptyDir') continue;
    const dir = volumeDir(dataDir, uid, plugin, v.name);
    try {
      const payload = volumePayload(pod, v, sources, ctx, (w) => r.warnings.push(w));
      const pluginDir = join(podDir(dataDir, uid), 'volumes', PLUGIN_DIRS[plugin]);
      if (!existsSync(pluginDir)) {
        mkdirSync(pluginDir, { recursive: true, mode: plugin === 'secret' ? 0o700 : 0o750 });
        if (plugin === 'secret') chmodSync(pluginDir, 0o700);
      }
      // the volume dir is the mount's root inside the container: every user there may enter it
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o755);
      if (writeAtomic(dir, payload)) {
        r.written.push(v.name);
        // kubelet's SetVolumeOwnership after each write: group fsGroup, group-readable
        const fsGroup = pod.spec?.securityContext?.fsGroup;
        if (typeof fsGroup === 'number') setVolumeOwnership(dir, fsGroup, { readOnly: true });
      }
    } catch (e) {
      r.errors.push({ volume: v.name, message: (e as Error).message });
      if (!existsSync(join(dir, DATA_DIR_NAME))) r.notReady.push(v.name);
    }
  }
  return r;
}

/** the written volumes a container mounts */
export function mountedWrittenVolumes(pod: KubeObject, container: Container | undefined): Set<string> {
  const byName = new Map<string, Volume>((pod.spec?.volumes ?? []).map((v: Volume) => [v.name, v]));
  const out = new Set<string>();
  for (const m of container?.volumeMounts ?? []) {
    const p = pluginOf(byName.get(m.name));
    if (p && p !== 'emptyDir') out.add(m.name);
  }
  return out;
}

/**
 * kubelet's calculateEmptyDirMemorySize: the node's allocatable memory, or the pod's memory
 * limit when it has one (every container limited) and it is smaller, or the volume's
 * sizeLimit when it is smaller still.
 */
/** the fields of a pod volume these sizes read */
interface MemoryVolumeSpec {
  name?: string;
  emptyDir?: { medium?: string; sizeLimit?: string | number | null } | null;
}

export function emptyDirMemorySize(
  pod: KubeObject,
  v: MemoryVolumeSpec | undefined,
  nodeAllocatableBytes: number,
): number {
  let size = nodeAllocatableBytes;
  const podLimit = podMemoryLimit(pod);
  if (podLimit !== undefined && podLimit > 0 && podLimit <= size) size = podLimit;
  const sl = v?.emptyDir?.sizeLimit;
  if (sl !== undefined && sl !== null) {
    let bytes: number | undefined;
    try {
      bytes = memoryToBytes(sl);
    } catch {
      bytes = undefined;
    }
    if (bytes !== undefined && bytes > 0 && bytes <= size) size = bytes;
  }
  return size;
}

/** the pod's memory limit as its cgroup gets it: the sum over containers (at least the largest init container), only when every container has one */
export function podMemoryLimit(pod: KubeObject): number | undefined {
  const limitOf = (
    c: { resources?: { limits?: { memory?: string | number | null } } } | undefined,
  ): number | undefined => {
    const l = c?.resources?.limits?.memory;
    if (l === undefined || l === null) return undefined;
    try {
      return memoryToBytes(l);
    } catch {
      return undefined;
    }
  };
  let sum = 0;
  for (const c of pod.spec?.containers ?? []) {
    const l = limitOf(c);
    if (l === undefined) return undefined;
    sum += l;
  }
  let initMax = 0;
  for (const c of pod.spec?.initContainers ?? []) {
    const l = limitOf(c);
    if (l === undefined) return undefined;
    initMax = Math.max(initMax, l);
  }
  return Math.max(sum, initMax);
}

/** the Docker volume holding a memory-backed emptyDir of the pod */
export function memoryVolumeName(uid: string, volume: string): string {
  return `skiff_${uid}_${volume}`;
}

/** the pod's emptyDir volumes with medium Memory, and their tmpfs sizes */
export function memoryVolumes(
  pod: KubeObject,
  nodeAllocatableBytes: number,
): Array<{ volume: string; name: string; sizeBytes: number }> {
  const volumes: (MemoryVolumeSpec & { name: string })[] = pod.spec?.volumes ?? [];
  return volumes
    .filter((v) => v?.emptyDir && v.emptyDir.medium === 'Memory')
    .map((v) => ({
      volume: v.name,
      name: memoryVolumeName(pod.metadata.uid!, v.name),
      sizeBytes: emptyDirMemorySize(pod, v, nodeAllocatableBytes),
    }));
}

/**
 * Make the pod's disk-backed emptyDir directories as kubelet does: 0777 (any uid in the
 * pod may write), then group fsGroup with setgid when the pod has one (SetVolumeOwnership).
 */
export function setUpEmptyDirs(pod: KubeObject, dataDir: string): void {
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  for (const v of pod.spec?.volumes ?? []) {
    if (!v?.emptyDir || v.emptyDir.medium === 'Memory') continue;
    const dir = volumeDir(dataDir, pod.metadata.uid!, 'emptyDir', v.name);
    if (existsSync(dir)) continue;
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    if (typeof fsGroup === 'number') setVolumeOwnership(dir, fsGroup);
  }
}

/** the pod's disk-backed emptyDirs that have a sizeLimit (enforced by eviction), with the limit as written and in bytes */
export function limitedEmptyDirs(
  pod: KubeObject,
  dataDir: string,
): Array<{ volume: string; dir: string; limit: string; limitBytes: number }> {
  const out: Array<{ volume: string; dir: string; limit: string; limitBytes: number }> = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (
      !v?.emptyDir ||
      v.emptyDir.medium === 'Memory' ||
      v.emptyDir.sizeLimit === undefined ||
      v.emptyDir.sizeLimit === null
    )
      continue;
    let limitBytes: number;
    try {
      limitBytes = memoryToBytes(v.emptyDir.sizeLimit);
    } catch {
      continue;
    }
    if (limitBytes <= 0) continue;
    out.push({
      volume: v.name,
      dir: volumeDir(dataDir, pod.metadata.uid!, 'emptyDir', v.name),
      limit: String(v.emptyDir.sizeLimit),
      limitBytes,
    });
  }
  return out;
}

export function resolveMounts(
  pod: KubeObject,
  container: Container,
  dataDir: string,
  claims: ReadonlyMap<string, ClaimPath> = new Map(),
  nodeAllocatableBytes = 0,
): ResolvedMount[] {
  const volumes = new Map<string, Volume>((pod.spec?.volumes ?? []).map((v: Volume) => [v.name, v]));
  const out: ResolvedMount[] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new Error(`volume "${m.name}" is not defined in the pod`);
    let hostPath: string;
    let create = false;
    let readOnly = !!m.readOnly;
    const plugin = pluginOf(v);
    if (plugin === 'emptyDir' && v.emptyDir?.medium === 'Memory') {
      if (m.subPath)
        throw new Error(`volume "${v.name}": subPath is not supported on a memory-backed emptyDir by skiff-agent`);
      out.push({
        hostPath: '',
        containerPath: m.mountPath,
        readOnly,
        create: false,
        tmpfs: {
          volume: memoryVolumeName(pod.metadata.uid!, v.name),
          sizeBytes: emptyDirMemorySize(pod, v, nodeAllocatableBytes),
        },
      });
      continue;
    } else if (plugin === 'emptyDir') {
      hostPath = volumeDir(dataDir, pod.metadata.uid!, 'emptyDir', v.name);
      create = true;
    } else if (plugin) {
      // always read-only, as kubelet mounts them since 1.10
      readOnly = true;
      const dir = volumeDir(dataDir, pod.metadata.uid!, plugin, v.name);
      if (!existsSync(join(dir, DATA_DIR_NAME))) throw new Error(`volume "${v.name}" is not set up`);
      if (m.subPath) {
        // the file of this moment (through the ..data symlink), never updated: Kubernetes' subPath semantics
        const target = join(dir, m.subPath);
        let real: string;
        try {
          real = realpathSync(target);
        } catch {
          throw new Error(`subPath "${m.subPath}" does not exist in volume "${v.name}"`);
        }
        const rel = relative(realpathSync(dir), real);
        if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
          throw new Error(`subPath "${m.subPath}" escapes volume "${v.name}"`);
        out.push({ hostPath: real, containerPath: m.mountPath, readOnly, create: false });
        continue;
      }
      hostPath = dir;
    } else if (v.hostPath) {
      hostPath = v.hostPath.path;
      create = v.hostPath.type === 'DirectoryOrCreate';
    } else if (v.persistentVolumeClaim) {
      const c = claims.get(v.name);
      if (!c) throw new Error(`volume "${v.name}" is not set up`);
      hostPath = c.path;
      create = c.create;
      readOnly = readOnly || v.persistentVolumeClaim.readOnly === true;
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw new Error(`volume "${v.name}": ${kind} volumes are not supported by skiff-agent yet`);
    }
    if (m.subPath) hostPath = join(hostPath, m.subPath);
    out.push({ hostPath, containerPath: m.mountPath, readOnly, create });
  }
  return out;
}
