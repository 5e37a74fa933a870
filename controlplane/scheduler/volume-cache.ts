// The scheduler's claims, volumes and storage classes (its PVC/PV/StorageClass informers),
// read by the VolumeBinding plugin through VolumeListers.
import type { KubeObject } from '../../proto/meta.js';
import type { WatchEvent } from '../api/storage.js';
import type { VolumeListers } from './framework.js';

export class VolumeCache implements VolumeListers {
  private readonly claims = new Map<string, KubeObject>();
  private readonly pvs = new Map<string, KubeObject>();
  private readonly classes = new Map<string, KubeObject>();

  claim(namespace: string, name: string): KubeObject | undefined {
    return this.claims.get(`${namespace}/${name}`);
  }

  volume(name: string): KubeObject | undefined {
    return this.pvs.get(name);
  }

  volumes(): readonly KubeObject[] {
    return [...this.pvs.values()];
  }

  storageClass(name: string): KubeObject | undefined {
    return this.classes.get(name);
  }

  /** Applies a watch event of kind PersistentVolumeClaim, PersistentVolume or StorageClass; true when it changed anything. */
  apply(kind: 'claim' | 'volume' | 'class', ev: WatchEvent): boolean {
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') return false;
    const obj = ev.object as KubeObject;
    const map = kind === 'claim' ? this.claims : kind === 'volume' ? this.pvs : this.classes;
    const key = kind === 'claim' ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name!;
    if (ev.type === 'DELETED') return map.delete(key);
    const prev = map.get(key);
    if (
      prev &&
      prev.metadata.uid === obj.metadata.uid &&
      Number(prev.metadata.resourceVersion) > Number(obj.metadata.resourceVersion)
    )
      return false;
    map.set(key, obj);
    return true;
  }
}
