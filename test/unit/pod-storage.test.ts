// The agent's pod storage logic: claim -> PV resolution with kubelet's messages, the size
// of memory-backed emptyDirs (kubelet's calculateEmptyDirMemorySize), PVC and emptyDir
// mounts, the bounded du, fsGroup ownership, and the emptyDir sizeLimit eviction.
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveClaim, type ClaimGetter } from '../../agent/pods/claims.js';
import {
  emptyDirMemorySize,
  limitedEmptyDirs,
  memoryVolumes,
  podMemoryLimit,
  resolveMounts,
  setUpEmptyDirs,
} from '../../agent/pods/volumes.js';
import { emptyDirMessage, enforceEmptyDirLimits } from '../../agent/pods/emptydir-eviction.js';
import { diskUsage } from '../../agent/storage/disk-usage.js';
import { setVolumeOwnership } from '../../agent/storage/ownership.js';
import type { KubeObject } from '../../proto/meta.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-ps-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function pvc(extra: Record<string, any> = {}): KubeObject {
  return {
    metadata: { name: 'data', namespace: 'default', uid: 'claim-uid', ...extra.metadata },
    spec: { volumeName: 'pv1', ...extra.spec },
    status: { phase: 'Bound', ...extra.status },
  } as KubeObject;
}
function pv(spec: Record<string, any>): KubeObject {
  return {
    metadata: { name: 'pv1', uid: 'pv-uid' },
    spec: { claimRef: { namespace: 'default', name: 'data', uid: 'claim-uid' }, ...spec },
  } as KubeObject;
}
function getter(claim: KubeObject | null | Error, vol: KubeObject | null | Error): ClaimGetter & { calls: string[] } {
  const calls: string[] = [];
  const f = (async (kind, namespace, name) => {
    calls.push(`${kind} ${namespace}/${name}`);
    const o = kind === 'PersistentVolumeClaim' ? claim : vol;
    if (o instanceof Error) throw o;
    return o;
  }) as ClaimGetter & { calls: string[] };
  f.calls = calls;
  return f;
}

describe('resolveClaim', () => {
  it('follows a bound claim to its local or hostPath PV', async () => {
    const g = getter(pvc(), pv({ local: { path: dir } }));
    expect(await resolveClaim('default', 'data', g)).toEqual({
      pvName: 'pv1',
      path: dir,
      source: 'local',
      create: false,
    });
    expect(g.calls).toEqual(['PersistentVolumeClaim default/data', 'PersistentVolume default/pv1']);
    expect(
      await resolveClaim(
        'default',
        'data',
        getter(pvc(), pv({ hostPath: { path: '/srv/x', type: 'DirectoryOrCreate' } })),
      ),
    ).toMatchObject({ path: '/srv/x', source: 'hostPath', create: true });
  });

  it("says why it cannot, in kubelet's words", async () => {
    const cases: Array<[KubeObject | null | Error, KubeObject | null | Error, string]> = [
      [
        null,
        null,
        'error processing PVC default/data: failed to fetch PVC from API server: persistentvolumeclaims "data" not found',
      ],
      [
        new Error('persistentvolumeclaims "data" is forbidden'),
        null,
        'error processing PVC default/data: failed to fetch PVC from API server: persistentvolumeclaims "data" is forbidden',
      ],
      [pvc({ status: { phase: 'Pending' } }), null, 'error processing PVC default/data: PVC is not bound'],
      [
        pvc({ metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } }),
        null,
        'error processing PVC default/data: PVC is being deleted',
      ],
      [pvc({ spec: { volumeName: '' } }), null, 'error processing PVC default/data: PVC has empty pvc.Spec.VolumeName'],
      [
        pvc(),
        null,
        'error processing PVC default/data: failed to fetch PV pv1 from API server: persistentvolumes "pv1" not found',
      ],
      [
        pvc(),
        pv({ claimRef: null, local: { path: dir } }),
        'error processing PVC default/data: found PV object pv1 but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim',
      ],
      [
        pvc(),
        pv({ claimRef: { uid: 'other' }, local: { path: dir } }),
        'error processing PVC default/data: found PV object pv1 but its pv.Spec.ClaimRef.UID other does not point to claim.UID claim-uid',
      ],
      [
        pvc(),
        pv({ local: { path: join(dir, 'missing') } }),
        `MountVolume.NewMounter initialization failed for volume "pv1" : path "${join(dir, 'missing')}" does not exist`,
      ],
      [
        pvc(),
        pv({ nfs: { server: 'nas', path: '/x' } }),
        'PV pv1: nfs volumes are not supported by skiff-agent (local and hostPath are)',
      ],
    ];
    for (const [c, v, msg] of cases)
      await expect(resolveClaim('default', 'data', getter(c, v)), msg).rejects.toThrow(msg);
  });
});

describe('volume mounts', () => {
  const pod = (
    volumes: any[],
    containers: any[] = [{ name: 'c', volumeMounts: volumes.map((v) => ({ name: v.name, mountPath: `/${v.name}` })) }],
  ) => ({ metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec: { containers, volumes } }) as KubeObject;

  it("mount a claim's directory, read-only from the claim or the mount", () => {
    const p = pod([
      { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'ro', persistentVolumeClaim: { claimName: 'ro', readOnly: true } },
    ]);
    expect(() => resolveMounts(p, p.spec.containers[0], dir)).toThrow('volume "data" is not set up');
    const claims = new Map([
      ['data', { path: '/srv/a', create: false }],
      ['ro', { path: '/srv/b', create: false }],
    ]);
    expect(resolveMounts(p, p.spec.containers[0], dir, claims)).toEqual([
      { hostPath: '/srv/a', containerPath: '/data', readOnly: false, create: false },
      { hostPath: '/srv/b', containerPath: '/ro', readOnly: true, create: false },
    ]);
  });

  it('size a memory emptyDir as kubelet: node memory, else the pod limit, else a smaller sizeLimit', () => {
    const mem = { name: 'm', emptyDir: { medium: 'Memory' } };
    expect(emptyDirMemorySize(pod([mem]), mem, 8 * GiB)).toBe(8 * GiB);
    const limited = pod(
      [mem],
      [
        { name: 'a', resources: { limits: { memory: '100Mi' } } },
        { name: 'b', resources: { limits: { memory: '28Mi' } } },
      ],
    );
    expect(podMemoryLimit(limited)).toBe(128 * MiB);
    expect(emptyDirMemorySize(limited, mem, 8 * GiB)).toBe(128 * MiB);
    // one container without a limit: the pod has none
    expect(
      podMemoryLimit(pod([mem], [{ name: 'a', resources: { limits: { memory: '100Mi' } } }, { name: 'b' }])),
    ).toBeUndefined();
    const sized = { name: 'm', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } };
    expect(emptyDirMemorySize(limited, sized, 8 * GiB)).toBe(64 * MiB);
    // a sizeLimit above what the pod may use does not raise it
    expect(emptyDirMemorySize(limited, { emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }, 8 * GiB)).toBe(128 * MiB);
    expect(memoryVolumes(pod([sized, { name: 'd', emptyDir: {} }]), 8 * GiB)).toEqual([
      { volume: 'm', name: 'skiff_u1_m', sizeBytes: 64 * MiB },
    ]);
    expect(
      resolveMounts(
        pod([sized]),
        { name: 'c', volumeMounts: [{ name: 'm', mountPath: '/cache' }] },
        dir,
        new Map(),
        8 * GiB,
      ),
    ).toEqual([
      {
        hostPath: '',
        containerPath: '/cache',
        readOnly: false,
        create: false,
        tmpfs: { volume: 'skiff_u1_m', sizeBytes: 64 * MiB },
      },
    ]);
  });

  it('make emptyDirs 0777, and group fsGroup with setgid when the pod has one', () => {
    const p = pod([{ name: 'scratch', emptyDir: {} }]);
    (p.spec as any).securityContext = { fsGroup: 4321 };
    setUpEmptyDirs(p, dir);
    const st = statSync(join(dir, 'pods', 'u1', 'volumes', 'kubernetes.io~empty-dir', 'scratch'));
    expect(st.mode & 0o7777).toBe(0o2777);
    expect(st.gid).toBe(4321);
  });
});

describe('disk usage, ownership and eviction', () => {
  it('du counts blocks, hard links once, never follows symlinks, stops past the limit', async () => {
    writeFileSync(join(dir, 'a'), Buffer.alloc(256 * 1024, 1));
    linkSync(join(dir, 'a'), join(dir, 'a-link'));
    symlinkSync('/usr', join(dir, 'sym'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'b'), Buffer.alloc(256 * 1024, 1));
    const u = await diskUsage(dir);
    expect(u.partial).toBe(false);
    expect(u.bytes).toBeGreaterThanOrEqual(512 * 1024);
    expect(u.bytes).toBeLessThan(600 * 1024);
    const stopped = await diskUsage(dir, { stopAbove: 100 * 1024 });
    expect(stopped.bytes).toBeGreaterThan(100 * 1024);
  });

  it('SetVolumeOwnership: group, group rw (r for read-only), setgid dirs, OnRootMismatch', () => {
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'd', 'f'), 'x', { mode: 0o600 });
    chmodSync(join(dir, 'd', 'f'), 0o600);
    chmodSync(join(dir, 'd'), 0o700);
    expect(setVolumeOwnership(dir, 4321)).toEqual({ changed: 3, complete: true });
    expect(statSync(join(dir, 'd', 'f')).mode & 0o7777).toBe(0o660);
    expect(statSync(join(dir, 'd')).mode & 0o7777).toBe(0o2770);
    expect(statSync(join(dir, 'd', 'f')).gid).toBe(4321);
    expect(setVolumeOwnership(dir, 4321, { policy: 'OnRootMismatch' }).changed).toBe(0);
    expect(setVolumeOwnership(dir, 4321, { maxEntries: 2 })).toEqual({ changed: 2, complete: false });
  });

  it("evicts a pod whose emptyDir is over its sizeLimit, with kubelet's message", async () => {
    const mk = (uid: string, sizeLimit: string) =>
      ({
        metadata: { name: uid, namespace: 'default', uid },
        spec: {
          containers: [],
          volumes: [
            { name: 'scratch', emptyDir: { sizeLimit } },
            { name: 'm', emptyDir: { medium: 'Memory', sizeLimit: '1Ki' } },
          ],
        },
        status: { phase: 'Running' },
      }) as KubeObject;
    const over = mk('over', '1Mi');
    const under = mk('under', '10Mi');
    for (const p of [over, under]) {
      const d = limitedEmptyDirs(p, dir)[0]!.dir;
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'blob'), Buffer.alloc(2 * MiB, 1));
    }
    expect(limitedEmptyDirs(over, dir).map((v) => v.volume)).toEqual(['scratch']);
    const evictions: Array<[string, string]> = [];
    const w = (p: KubeObject) => ({
      pod: p,
      evicted: false,
      finished: false,
      evict: (m: string) => evictions.push([p.metadata.name!, m]),
    });
    expect(await enforceEmptyDirLimits([w(over), w(under)], dir)).toEqual(['over']);
    expect(evictions).toEqual([['over', 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". ']]);
    expect(emptyDirMessage('x', '1Mi')).toBe('Usage of EmptyDir volume "x" exceeds the limit "1Mi". ');
  });
});
