// core/v1 PodTemplate, the kind: its template defaulted and validated as every workload's
// (pod-template.ts), generation bumped on template changes (podTemplateStrategy), and the
// printers' table NAME CONTAINERS IMAGES POD LABELS.
import { col, containerCells, nameColumn } from './columns.js';
import { formatLabels } from './label-selector.js';
import { isRecord, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import { defaultPodTemplate, validatePodTemplateSpec } from './pod-template.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

export const podTemplate: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'PodTemplate',
  resource: 'podtemplates',
  singular: 'podtemplate',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: true,
  schema: 'PodTemplate',

  defaults(obj) {
    // `template` is a struct, not a pointer, in Go: always present
    if (!isRecord(obj.template)) obj.template = {};
    defaultPodTemplate(obj.template);
  },

  // ValidatePodTemplate / ValidatePodTemplateUpdate (metadata immutables are checked by the API layer)
  validate(obj) {
    const out = validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain });
    out.push(...validatePodTemplateSpec(obj.template, 'template'));
    return out;
  },

  columns: [
    nameColumn(),
    col('Containers', 'string', 'Names of each container in the template.'),
    col('Images', 'string', 'Images referenced by each container in the template.'),
    col('Pod Labels', 'string', 'The labels for the pod template.'),
  ],
  row: (obj) => {
    const tpl = isRecord(obj.template) ? obj.template : {};
    const [names, images] = containerCells(tpl.spec);
    const labels =
      isRecord(tpl.metadata) && isRecord(tpl.metadata.labels)
        ? (tpl.metadata.labels as Record<string, string>)
        : undefined;
    return [obj.metadata?.name ?? '', names, images, formatLabels(labels)];
  },
};
