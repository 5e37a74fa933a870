// status.qosClass for pods: the shared computation in proto/qos.ts.
import type { PodSpec } from '../../proto/api/types.gen.js';
import { podQOSClass, type QOSClass } from '../../proto/qos.js';
import { isDecoded } from './meta-validation.js';

export type { QOSClass };

export function computePodQOS(spec: unknown): QOSClass {
  return podQOSClass(isDecoded<PodSpec>(spec) ? spec : undefined);
}
