// core/v1 Node: status defaults (allocatable from capacity, the always-present nodeInfo
// and daemonEndpoints structs), taint validation, and the `kubectl get nodes` row
// (Ready/NotReady/Unknown plus SchedulingDisabled; roles from node-role labels).
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import type { NodeAddress, NodeCondition, Taint } from '../../proto/api/types.gen.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import {
  isRecord,
  isQualifiedName,
  isValidLabelValue,
  nameIsDNSSubdomain,
  validateObjectMeta,
} from './meta-validation.js';
import { validateTaintEffect } from './pod-template.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const NODE_INFO_FIELDS = [
  'machineID',
  'systemUUID',
  'bootID',
  'kernelVersion',
  'osImage',
  'containerRuntimeVersion',
  'kubeletVersion',
  'kubeProxyVersion',
  'operatingSystem',
  'architecture',
];

function validateTaints(taints: unknown, path: string): StatusCause[] {
  if (!Array.isArray(taints)) return [];
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  // entries as the schema decoder leaves them: objects whose fields may be missing, or null
  taints.forEach((t: Partial<Taint> | null | undefined, i) => {
    const p = `${path}[${i}]`;
    const key = String(t?.key ?? '');
    if (!key) out.push(field.required(`${p}.key`));
    else for (const m of isQualifiedName(key)) out.push(field.invalid(`${p}.key`, key, m));
    if (t?.value) for (const m of isValidLabelValue(String(t.value))) out.push(field.invalid(`${p}.value`, t.value, m));
    out.push(...validateTaintEffect(t?.effect, false, `${p}.effect`));
    const id = `${key}:${t?.effect ?? ''}`;
    if (seen.has(id)) out.push(field.duplicate(p, t));
    seen.add(id);
  });
  return out;
}

export function nodeStatusCell(node: KubeObject): string {
  const conds: (Partial<NodeCondition> | null | undefined)[] = Array.isArray(node.status?.conditions)
    ? node.status.conditions
    : [];
  const ready = conds.find((c) => c?.type === 'Ready');
  const status: string[] = [];
  if (ready) status.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  if (status.length === 0) status.push('Unknown');
  if (node.spec?.unschedulable === true) status.push('SchedulingDisabled');
  return status.join(',');
}

export function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) {
      roles.add(v);
    }
  }
  return [...roles].sort().join(',') || '<none>';
}

function address(node: KubeObject, type: string): string {
  const addresses: (Partial<NodeAddress> | null | undefined)[] = Array.isArray(node.status?.addresses)
    ? node.status.addresses
    : [];
  return addresses.find((a) => a?.type === type)?.address ?? '<none>';
}

export const node: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Node',
  resource: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: ['status'],
  hasStatusSubresource: true,
  hasGeneration: false,
  schema: 'Node',

  defaults(obj) {
    if (!isRecord(obj.spec)) obj.spec = {};
    if (!isRecord(obj.status)) obj.status = {};
    const st = obj.status;
    if (!isRecord(st.allocatable) && isRecord(st.capacity)) st.allocatable = { ...st.capacity };
    if (!isRecord(st.daemonEndpoints)) st.daemonEndpoints = { kubeletEndpoint: { Port: 0 } };
    if (!isRecord(st.nodeInfo)) st.nodeInfo = {};
    for (const f of NODE_INFO_FIELDS) if (typeof st.nodeInfo[f] !== 'string') st.nodeInfo[f] = '';
  },

  validate(obj) {
    const out = validateObjectMeta(obj, { namespaced: false, nameFn: nameIsDNSSubdomain });
    out.push(...validateTaints(obj.spec?.taints, 'spec.taints'));
    return out;
  },

  columns: [
    nameColumn(),
    col('Status', 'string', 'The status of the node'),
    col('Roles', 'string', 'The roles of the node'),
    ageColumn(),
    col('Version', 'string', 'Kubelet Version reported by the node.'),
    col('Internal-IP', 'string', 'List of addresses reachable to the node.', 1),
    col('External-IP', 'string', 'List of addresses reachable to the node.', 1),
    col(
      'OS-Image',
      'string',
      'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
      1,
    ),
    col(
      'Kernel-Version',
      'string',
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      1,
    ),
    col(
      'Container-Runtime',
      'string',
      'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
      1,
    ),
  ],

  row(obj, now) {
    const info = obj.status?.nodeInfo ?? {};
    return [
      obj.metadata?.name ?? '',
      nodeStatusCell(obj),
      nodeRoles(obj),
      ageOf(obj, now),
      info.kubeletVersion ?? '',
      address(obj, 'InternalIP'),
      address(obj, 'ExternalIP'),
      info.osImage || '<unknown>',
      info.kernelVersion || '<unknown>',
      info.containerRuntimeVersion || '<unknown>',
    ];
  },

  fields: {
    'spec.unschedulable': (o) => String(o.spec?.unschedulable === true),
  },
};
