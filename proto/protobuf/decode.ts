// Kubernetes protobuf bodies → the JSON objects the rest of skiff works with.
//
// A body is the 4 magic bytes `k8s\0` followed by a runtime.Unknown message whose typeMeta
// names the kind and whose raw field holds the object's own message. The object is decoded
// with the field-number tables in ./tables.ts; unknown field numbers are skipped by wire
// type. Anything malformed raises ProtobufError('malformed') (→ 400), a kind without a table
// or an unsupported envelope raises ProtobufError('unsupported') (→ 415).
// Map of the code base: ARCHITECTURE.md, "The parts".
import {
  KINDS,
  MESSAGES,
  supportedKinds,
  type FieldSpec,
  type MapField,
  type MessageField,
  type MessageTable,
  type ScalarField,
  type ScalarType,
} from './tables.js';
import {
  Reader,
  WireError,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  asDouble,
  asFloat,
  asInt32,
  asInt64,
  asUint32,
  asUint64,
} from './wire.js';

export const K8S_PROTOBUF_MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

export class ProtobufError extends Error {
  constructor(
    readonly reason: 'malformed' | 'unsupported',
    message: string,
  ) {
    super(message);
  }
}

/** nested messages deeper than this are refused (the tables' own depth is far below it) */
const MAX_DEPTH = 100;

type JsonObject = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8');

function malformed(message: string): ProtobufError {
  return new ProtobufError('malformed', message);
}

function table(name: string): MessageTable {
  const t = MESSAGES[name];
  if (!t) throw new Error(`protobuf table ${name} is missing`); // a bug in tables.ts, not in the input
  return t;
}

function wireName(w: number): string {
  return String(w);
}

function wrongWire(wire: number, spec: FieldSpec): ProtobufError {
  return malformed(`proto: wrong wireType = ${wireName(wire)} for field ${spec.name}`);
}

function expectedWire(t: ScalarType): number {
  switch (t) {
    case 'string':
    case 'bytes':
      return WIRE_LEN;
    case 'double':
      return WIRE_FIXED64;
    case 'float':
      return WIRE_FIXED32;
    default:
      return WIRE_VARINT;
  }
}

/** read one scalar value of type t (the wire type was already checked) */
function readScalar(r: Reader, t: ScalarType): unknown {
  switch (t) {
    case 'string':
      return utf8.decode(r.bytes());
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64');
    case 'bool': {
      const v = r.varint64();
      return v.lo !== 0 || v.hi !== 0;
    }
    case 'int32':
      return asInt32(r.varint64());
    case 'uint32':
      return asUint32(r.varint64());
    case 'int64':
      return asInt64(r.varint64());
    case 'uint64':
      return asUint64(r.varint64());
    case 'double':
      return asDouble(r.fixed64());
    case 'float':
      return asFloat(r.fixed32());
  }
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

function setField(out: JsonObject, name: string, value: unknown, keepZero: boolean): void {
  if (value === undefined || (!keepZero && isZero(value))) delete out[name];
  else out[name] = value;
}

function pushField(out: JsonObject, name: string, value: unknown): void {
  const cur = out[name];
  if (Array.isArray(cur)) cur.push(value);
  else out[name] = [value];
}

/** own property even for keys like `__proto__` (map keys are user data) */
function setKey(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function decodeScalarField(r: Reader, wire: number, spec: ScalarField, out: JsonObject): void {
  const want = expectedWire(spec.type);
  if (spec.repeated && wire === WIRE_LEN && want !== WIRE_LEN) {
    // packed repeated numbers
    const { start, end } = r.lengthDelimited();
    const sub = new Reader(r.buf, start, end);
    if (!Array.isArray(out[spec.name])) out[spec.name] = [];
    while (!sub.eof()) pushField(out, spec.name, readScalar(sub, spec.type));
    return;
  }
  if (wire !== want) throw wrongWire(wire, spec);
  const v = readScalar(r, spec.type);
  if (spec.repeated) pushField(out, spec.name, v);
  else setField(out, spec.name, v, spec.ptr === true);
}

function decodeMapField(r: Reader, wire: number, spec: MapField, out: JsonObject, depth: number): void {
  if (wire !== WIRE_LEN) throw wrongWire(wire, spec);
  const { start, end } = r.lengthDelimited();
  const sub = new Reader(r.buf, start, end);
  let key = '';
  let value: unknown;
  while (!sub.eof()) {
    const t = sub.tag();
    if (t.field === 1) {
      if (t.wire !== WIRE_LEN) throw wrongWire(t.wire, spec);
      key = utf8.decode(sub.bytes());
    } else if (t.field === 2) {
      if (t.wire !== WIRE_LEN) throw wrongWire(t.wire, spec);
      if (spec.value === 'string') value = utf8.decode(sub.bytes());
      else if (spec.value === 'bytes') value = Buffer.from(sub.bytes()).toString('base64');
      else {
        const b = sub.lengthDelimited();
        value = decodeSpecialOrMessage(spec.value.message, new Reader(sub.buf, b.start, b.end), depth + 1, undefined);
      }
    } else sub.skip(t.wire, t.field);
  }
  if (value === undefined) {
    // an absent value is the zero value of its type
    value =
      spec.value === 'string' || spec.value === 'bytes'
        ? ''
        : decodeSpecialOrMessage(spec.value.message, new Reader(new Uint8Array(0)), depth + 1, undefined);
  }
  let m = out[spec.name] as JsonObject | undefined;
  if (!m || typeof m !== 'object') {
    m = {};
    out[spec.name] = m;
  }
  setKey(m, key, value);
}

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const ms = seconds * 1000;
  const d = new Date(ms);
  if (!Number.isFinite(ms) || Number.isNaN(d.getTime()) || d.getUTCFullYear() > 9999 || d.getUTCFullYear() < 1) {
    throw malformed(`proto: timestamp out of range: ${seconds}s`);
  }
  const base = d.toISOString().slice(0, 19);
  if (!micro) return `${base}Z`;
  if (nanos < 0 || nanos > 999_999_999) throw malformed(`proto: timestamp nanos out of range: ${nanos}`);
  return `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}

/**
 * decode a message payload; the special messages become JSON scalars. Returns undefined for
 * a value JSON would not carry (a zero Time).
 */
function decodeSpecialOrMessage(name: string, r: Reader, depth: number, into: JsonObject | undefined): unknown {
  if (depth > MAX_DEPTH) throw malformed('proto: message nested too deeply');
  switch (name) {
    case 'Time':
    case 'MicroTime': {
      if (r.eof()) return undefined; // Go marshals the zero time as an empty message
      const t = decodeFields(r, table(name), {}, depth);
      return rfc3339(Number(t.seconds ?? 0), Number(t.nanos ?? 0), name === 'MicroTime');
    }
    case 'IntOrString': {
      const t = decodeFields(r, table(name), {}, depth);
      return Number(t.type ?? 0) === 1 ? String(t.strVal ?? '') : Number(t.intVal ?? 0);
    }
    case 'Quantity': {
      const t = decodeFields(r, table(name), {}, depth);
      return typeof t.string === 'string' ? t.string : '0';
    }
    case 'FieldsV1': {
      const t = decodeFields(r, table(name), {}, depth);
      if (typeof t.Raw !== 'string') return {};
      try {
        return JSON.parse(Buffer.from(t.Raw, 'base64').toString('utf8'));
      } catch (e) {
        throw malformed(`proto: fieldsV1 is not JSON: ${(e as Error).message}`);
      }
    }
    default:
      return decodeFields(r, table(name), into ?? {}, depth);
  }
}

function decodeMessageField(r: Reader, wire: number, spec: MessageField, out: JsonObject, depth: number): void {
  if (wire !== WIRE_LEN) throw wrongWire(wire, spec);
  const { start, end } = r.lengthDelimited();
  const sub = new Reader(r.buf, start, end);
  if (spec.inline) {
    decodeSpecialOrMessage(spec.message, sub, depth + 1, out);
    return;
  }
  if (spec.repeated) {
    const v = decodeSpecialOrMessage(spec.message, sub, depth + 1, undefined);
    pushField(out, spec.name, v ?? null);
    return;
  }
  // a repeated occurrence of a singular message merges into the earlier one (protobuf semantics)
  const prev = out[spec.name];
  const into = prev && typeof prev === 'object' && !Array.isArray(prev) ? (prev as JsonObject) : undefined;
  const v = decodeSpecialOrMessage(spec.message, sub, depth + 1, into);
  const isSpecialScalar = v === undefined || typeof v !== 'object' || v === null;
  if (isSpecialScalar) setField(out, spec.name, v, spec.ptr === true || spec.message !== 'IntOrString');
  else out[spec.name] = v;
}

function decodeFields(r: Reader, t: MessageTable, out: JsonObject, depth: number): JsonObject {
  while (!r.eof()) {
    const { field, wire } = r.tag();
    const spec = t[field];
    if (!spec) {
      r.skip(wire, field);
      continue;
    }
    switch (spec.type) {
      case 'message':
        decodeMessageField(r, wire, spec, out, depth);
        break;
      case 'map':
        decodeMapField(r, wire, spec, out, depth);
        break;
      default:
        decodeScalarField(r, wire, spec, out);
    }
  }
  return out;
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WireError) throw malformed(`proto: ${e.message}`);
    throw e;
  }
}

/** decode one message (no envelope) by its table name, e.g. 'Deployment' */
export function decodeMessage(name: string, data: Uint8Array): JsonObject {
  return wrap(() => {
    const v = decodeSpecialOrMessage(name, new Reader(data), 0, undefined);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${name} is not an object message`);
    return v as JsonObject;
  });
}

export interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

export function hasMagic(data: Uint8Array): boolean {
  return data.length >= 4 && K8S_PROTOBUF_MAGIC.every((b, i) => data[i] === b);
}

/** the `k8s\0` + runtime.Unknown envelope */
export function decodeEnvelope(data: Uint8Array): Envelope {
  if (!hasMagic(data)) {
    throw malformed(
      `provided data does not appear to be a protobuf message, expected prefix [${[...K8S_PROTOBUF_MAGIC].join(' ')}]`,
    );
  }
  return wrap(() => {
    const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '' };
    const r = new Reader(data, 4);
    const unknown = table('Unknown');
    while (!r.eof()) {
      const { field, wire } = r.tag();
      const spec = unknown[field];
      if (!spec) {
        r.skip(wire, field);
        continue;
      }
      if (wire !== WIRE_LEN) throw wrongWire(wire, spec);
      switch (field) {
        case 1: {
          const { start, end } = r.lengthDelimited();
          const tm = decodeFields(new Reader(data, start, end), table('TypeMeta'), {}, 1);
          env.apiVersion = typeof tm.apiVersion === 'string' ? tm.apiVersion : '';
          env.kind = typeof tm.kind === 'string' ? tm.kind : '';
          break;
        }
        case 2:
          env.raw = r.bytes();
          break;
        case 3:
          env.contentEncoding = utf8.decode(r.bytes());
          break;
        case 4:
          env.contentType = utf8.decode(r.bytes());
          break;
        default:
          r.skip(wire, field);
      }
    }
    return env;
  });
}

/** a whole `application/vnd.kubernetes.protobuf` body → the object as JSON */
export function decodeKubernetesProtobuf(data: Uint8Array): JsonObject {
  const env = decodeEnvelope(data);
  if (env.contentEncoding !== '') {
    throw new ProtobufError('unsupported', `protobuf content encoding "${env.contentEncoding}" is not supported`);
  }
  const ct = env.contentType.split(';')[0]!.trim().toLowerCase();
  if (ct !== '' && ct !== PROTOBUF_CONTENT_TYPE) {
    throw new ProtobufError('unsupported', `protobuf envelope content type "${env.contentType}" is not supported`);
  }
  if (env.kind === '') throw malformed("Object 'Kind' is missing in the protobuf envelope");
  const message = KINDS[`${env.apiVersion}/${env.kind}`];
  if (!message) {
    throw new ProtobufError(
      'unsupported',
      `protobuf bodies are supported only for ${supportedKinds().join(', ')}; got ${env.apiVersion || '<no apiVersion>'} ${env.kind}`,
    );
  }
  const obj = decodeMessage(message, env.raw);
  const out: JsonObject = {};
  if (env.apiVersion) out.apiVersion = env.apiVersion;
  out.kind = env.kind;
  for (const [k, v] of Object.entries(obj)) setKey(out, k, v);
  return out;
}
