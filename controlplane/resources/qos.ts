// status.qosClass for pods: the shared computation in proto/qos.ts.
import { podQOSClass, type QOSClass } from '../../proto/qos.js';

export type { QOSClass };

export function computePodQOS(spec: any): QOSClass {
  return podQOSClass(spec);
}
