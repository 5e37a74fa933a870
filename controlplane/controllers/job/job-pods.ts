// How the Job controller makes its pods (controller.GetPodFromTemplate plus the Job's
// own labels and tracking finalizer) and finds them again (controllerRef by uid).
import type { KubeObject, OwnerReference } from '../../../proto/meta.js';
import { newControllerRef } from '../../../proto/api/owner.js';
import { clone } from '../../../proto/canonical.js';
import { controllerRefOf } from '../../../proto/api/owner.js';
import { CONTROLLER_UID_LABEL, JOB_NAME_LABEL } from '../../resources/job.js';
import { COMPLETION_INDEX_ANNOTATION, JOB_TRACKING_FINALIZER } from './job-state.js';

/** names.SimpleNameGenerator keeps 58 characters of the base before the 5-character suffix. */
const MAX_GENERATE_NAME_BASE = 58;

export function jobControllerRef(job: KubeObject): OwnerReference {
  return newControllerRef(job, 'batch/v1', 'Job');
}

/** Is `pod` controlled by this very Job (same uid)? */
export function ownedBy(pod: KubeObject, job: KubeObject): boolean {
  const ref = controllerRefOf(pod);
  return !!ref && ref.kind === 'Job' && ref.uid === job.metadata.uid;
}

/**
 * A pod for the job: template labels/annotations/spec, the job labels, generateName
 * `<job>-`, our finalizer. With a completion index (Indexed jobs): the index annotation
 * and label, hostname `<job>-<index>`, generateName `<job>-<index>-` and the
 * JOB_COMPLETION_INDEX variable in every container.
 */
export function podForJob(job: KubeObject, index?: number): KubeObject {
  const tpl = job.spec?.template ?? {};
  const name = job.metadata.name!;
  const uid = job.metadata.uid!;
  const labels: Record<string, string> = { ...(tpl.metadata?.labels ?? {}) };
  for (const k of [JOB_NAME_LABEL, 'job-name']) labels[k] ??= name;
  for (const k of [CONTROLLER_UID_LABEL, 'controller-uid']) labels[k] ??= uid;
  const finalizers: string[] = [...(tpl.metadata?.finalizers ?? [])];
  if (!finalizers.includes(JOB_TRACKING_FINALIZER)) finalizers.push(JOB_TRACKING_FINALIZER);
  const metadata: KubeObject['metadata'] = {
    generateName: `${name}-`.slice(0, MAX_GENERATE_NAME_BASE),
    labels,
    finalizers,
    ownerReferences: [jobControllerRef(job)],
  };
  if (tpl.metadata?.annotations && Object.keys(tpl.metadata.annotations).length)
    metadata.annotations = { ...tpl.metadata.annotations };
  const spec = clone(tpl.spec ?? {});
  if (index !== undefined) {
    metadata.annotations = { ...(metadata.annotations ?? {}), [COMPLETION_INDEX_ANNOTATION]: String(index) };
    labels[COMPLETION_INDEX_ANNOTATION] = String(index);
    metadata.generateName = `${name}-${index}-`.slice(0, MAX_GENERATE_NAME_BASE);
    spec.hostname = `${name}-${index}`;
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      if ((c.env ?? []).some((e: { name: string }) => e.name === 'JOB_COMPLETION_INDEX')) continue;
      c.env = [
        ...(c.env ?? []),
        {
          name: 'JOB_COMPLETION_INDEX',
          valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } },
        },
      ];
    }
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}
