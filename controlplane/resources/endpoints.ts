// core/v1 Endpoints: port protocol defaulting, address/port validation and the
// ENDPOINTS cell ("10.42.0.5:80,10.42.1.7:80 + 3 more...").
import { isIP } from 'node:net';
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import type { EndpointAddress, EndpointPort, EndpointSubset } from '../../proto/api/types.gen.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import { isDNS1123Label, isRecord, isValidPortNum, nameIsDNSSubdomain, validateObjectMeta } from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

// list entries as the schema decoder leaves them: objects whose fields may be missing, or null
type SubsetEntry = EndpointSubset | null | undefined;
type AddressEntry = Partial<EndpointAddress> | null | undefined;
type PortEntry = Partial<EndpointPort> | null | undefined;

function validateSubsets(subsets: unknown): StatusCause[] {
  if (!Array.isArray(subsets)) return [];
  const out: StatusCause[] = [];
  subsets.forEach((ss: SubsetEntry, i) => {
    const p = `subsets[${i}]`;
    for (const key of ['addresses', 'notReadyAddresses'] as const) {
      const addresses: AddressEntry[] | undefined = ss?.[key];
      (Array.isArray(addresses) ? addresses : []).forEach((a, j) => {
        if (!isIP(String(a?.ip ?? '')))
          out.push(field.invalid(`${p}.${key}[${j}].ip`, a?.ip ?? '', 'must be a valid IP address'));
      });
    }
    const ports: PortEntry[] = Array.isArray(ss?.ports) ? ss.ports : [];
    ports.forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (ports.length > 1 && !port?.name) out.push(field.required(`${pp}.name`));
      else if (port?.name)
        for (const m of isDNS1123Label(String(port.name))) out.push(field.invalid(`${pp}.name`, port.name, m));
      // a missing (or null) port is no port number: NaN fails the same check
      for (const m of isValidPortNum(port?.port ?? NaN)) out.push(field.invalid(`${pp}.port`, port?.port ?? 0, m));
      if (!port?.protocol) out.push(field.required(`${pp}.protocol`));
      else if (!PROTOCOLS.includes(port.protocol))
        out.push(field.notSupported(`${pp}.protocol`, port.protocol, PROTOCOLS));
    });
  });
  return out;
}

/** formatEndpoints: up to three ip:port pairs, then "+ N more...". */
export function formatEndpoints(obj: KubeObject): string {
  const subsets: SubsetEntry[] = Array.isArray(obj.subsets) ? obj.subsets : [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  const hostPort = (ip: string, port: number | undefined): string =>
    ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  for (const ss of subsets) {
    const addresses: AddressEntry[] = Array.isArray(ss?.addresses) ? ss.addresses : [];
    const ports: PortEntry[] = Array.isArray(ss?.ports) ? ss.ports : [];
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a?.ip ?? '');
      }
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(hostPort(a?.ip ?? '', port?.port));
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

export const endpoints: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  resource: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'Endpoints',

  defaults(obj) {
    for (const ss of Array.isArray(obj.subsets) ? obj.subsets : []) {
      for (const p of Array.isArray(ss?.ports) ? ss.ports : []) if (isRecord(p) && !p.protocol) p.protocol = 'TCP';
    }
  },

  validate(obj) {
    return [
      ...validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }),
      ...validateSubsets(obj.subsets),
    ];
  },

  columns: [
    nameColumn(),
    col('Endpoints', 'string', 'The set of all endpoints is the union of all subsets.'),
    ageColumn(),
  ],
  row: (obj, now) => [obj.metadata?.name ?? '', formatEndpoints(obj), ageOf(obj, now)],
};
