// discovery.k8s.io/v1 EndpointSlice: port defaults (name "", protocol TCP), address type
// and endpoint validation, and the ADDRESSTYPE/PORTS/ENDPOINTS row.
import { isIP } from 'node:net';
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import type { DiscoveryEndpointPort, Endpoint } from '../../proto/api/types.gen.js';
import { field } from '../api/errors.js';
import { ageOf } from './age.js';
import { ageColumn, col, nameColumn } from './columns.js';
import {
  isDNS1123Subdomain,
  isRecord,
  isValidPortNum,
  nameIsDNSSubdomain,
  validateObjectMeta,
} from './meta-validation.js';
import type { ResourceDef } from './types.js';
import { ALL_VERBS } from './verbs.js';

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

// list entries as the schema decoder leaves them: objects whose fields may be missing, or null
type EndpointEntry = Partial<Endpoint> | null | undefined;
type PortEntry = DiscoveryEndpointPort | null | undefined;

function validateSlice(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const at = obj.addressType;
  if (!at) out.push(field.required('addressType'));
  else if (!ADDRESS_TYPES.includes(at)) out.push(field.notSupported('addressType', at, ADDRESS_TYPES));
  (Array.isArray(obj.endpoints) ? obj.endpoints : []).forEach((ep: EndpointEntry, i: number) => {
    const p = `endpoints[${i}].addresses`;
    const addrs: unknown[] = Array.isArray(ep?.addresses) ? ep.addresses : [];
    if (addrs.length === 0) out.push(field.required(p, 'must contain at least 1 address'));
    else if (addrs.length > 100)
      out.push({
        reason: 'FieldValueTooMany',
        message: `Too many: ${addrs.length}: must have at most 100 items`,
        field: p,
      });
    addrs.forEach((a, j) => {
      const s = String(a);
      if (at === 'IPv4' && isIP(s) !== 4) out.push(field.invalid(`${p}[${j}]`, s, 'must be a valid IPv4 address'));
      if (at === 'IPv6' && isIP(s) !== 6) out.push(field.invalid(`${p}[${j}]`, s, 'must be a valid IPv6 address'));
      if (at === 'FQDN') for (const m of isDNS1123Subdomain(s)) out.push(field.invalid(`${p}[${j}]`, s, m));
    });
  });
  (Array.isArray(obj.ports) ? obj.ports : []).forEach((port: PortEntry, i: number) => {
    const p = `ports[${i}]`;
    if (port?.port !== undefined && port?.port !== null)
      for (const m of isValidPortNum(port.port)) out.push(field.invalid(`${p}.port`, port.port, m));
    if (port?.protocol && !PROTOCOLS.includes(port.protocol))
      out.push(field.notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
  });
  return out;
}

/** listWithMoreString over up to three entries, "<unset>" when empty. */
function listWithMore(all: string[]): string {
  if (all.length === 0) return '<unset>';
  const list = all.slice(0, 3);
  return all.length > 3 ? `${list.join(',')} + ${all.length - 3} more...` : list.join(',');
}

export const endpointSlice: ResourceDef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  resource: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'EndpointSlice',

  defaults(obj) {
    for (const p of Array.isArray(obj.ports) ? obj.ports : []) {
      if (!isRecord(p)) continue;
      if (p.name === undefined || p.name === null) p.name = '';
      if (!p.protocol) p.protocol = 'TCP';
    }
  },

  validate: (obj) => [
    ...validateObjectMeta(obj, { namespaced: true, nameFn: nameIsDNSSubdomain }),
    ...validateSlice(obj),
  ],

  columns: [
    nameColumn(),
    col('AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice.'),
    col('Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    col('Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'),
    ageColumn(),
  ],

  row(obj, now) {
    const ports = (Array.isArray(obj.ports) ? obj.ports : []).map((p: PortEntry) =>
      typeof p?.port === 'number' ? String(p.port) : p?.name || '*',
    );
    const addrs = (Array.isArray(obj.endpoints) ? obj.endpoints : []).flatMap((e: EndpointEntry) =>
      Array.isArray(e?.addresses) ? e.addresses.map(String) : [],
    );
    return [obj.metadata?.name ?? '', obj.addressType ?? '', listWithMore(ports), listWithMore(addrs), ageOf(obj, now)];
  },
};
