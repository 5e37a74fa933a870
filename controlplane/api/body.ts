// Request bodies: JSON, YAML (apply-patch+yaml carries JSON from kubectl, but real YAML
// must work too) and Kubernetes protobuf (`kubectl create namespace|configmap|secret|
// deployment|…` POST typed objects as protobuf; client-go does not fall back after a 415).
// Protobuf is decoded to the same JSON objects, for the kinds proto/protobuf/tables.ts covers.
// Parse failures are 400 Status; a protobuf kind without a table is 415.
// Nesting is bounded before parsing (depth.ts: 1,000 levels for JSON, 500 for YAML), YAML
// aliases by count and by the size they expand to, so nothing after decoding meets a
// body deeper or larger than that. YAML that is JSON (kubectl's apply bodies) is parsed
// as JSON: the same result (a repeated key: the last wins, as in Kubernetes' YAML
// decoder), a hundred times faster, and JSON's depth bound.
import { parse as parseYaml } from 'yaml';
import { decodeKubernetesProtobuf, PROTOBUF_CONTENT_TYPE, ProtobufError } from '../../proto/protobuf/decode.js';
import { jsonTooDeep, MAX_BODY_DEPTH, MAX_YAML_DEPTH, valueTooLarge, yamlTooDeep } from './depth.js';
import { ApiError, badRequest, unsupportedMediaType } from './errors.js';

const ACCEPTED =
  'application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml, application/vnd.kubernetes.protobuf';
/** a YAML document may expand (aliases) to this many times its text, at least 64 KiB */
const YAML_EXPANSION = 4;

function decodeProtobuf(raw: Buffer): unknown {
  let v: unknown;
  try {
    v = decodeKubernetesProtobuf(raw);
  } catch (e) {
    if (!(e instanceof ProtobufError)) throw e;
    if (e.reason === 'unsupported') {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${ACCEPTED} (${e.message})`,
      );
    }
    throw badRequest(e.message);
  }
  // embedded JSON (RawExtension) and recursive messages can nest too
  if (valueTooLarge(v) === 'depth') throw badRequest(`exceeded max depth of ${MAX_BODY_DEPTH}`);
  return v;
}

export function decodeBody(contentType: string | undefined, raw: Buffer | undefined): unknown {
  const base = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (!raw || raw.length === 0) throw badRequest('the body of the request was empty');
  const text = raw.toString('utf8');
  switch (base) {
    case 'application/json':
    case 'application/json-patch+json':
    case 'application/merge-patch+json':
    case 'application/strategic-merge-patch+json':
    case 'application/apply-patch+json':
      if (jsonTooDeep(text))
        throw badRequest(`couldn't get version/kind; json parse error: exceeded max depth of ${MAX_BODY_DEPTH}`);
      try {
        return JSON.parse(text);
      } catch (e) {
        throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
      }
    case 'application/yaml':
    case 'application/apply-patch+yaml': {
      if (/^\s*[[{]/.test(text.slice(0, 64))) {
        if (jsonTooDeep(text))
          throw badRequest(`error converting YAML to JSON: yaml: exceeded max depth of ${MAX_BODY_DEPTH}`);
        try {
          return JSON.parse(text);
        } catch {
          // YAML flow syntax that is not JSON: the YAML path below
        }
      }
      if (yamlTooDeep(text))
        throw badRequest(`error converting YAML to JSON: yaml: exceeded max depth of ${MAX_YAML_DEPTH}`);
      let v: unknown;
      try {
        v = parseYaml(text, { maxAliasCount: 100 });
      } catch (e) {
        throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
      }
      const over = valueTooLarge(v, MAX_YAML_DEPTH, Math.max(64 * 1024, YAML_EXPANSION * text.length));
      if (over === 'depth')
        throw badRequest(`error converting YAML to JSON: yaml: exceeded max depth of ${MAX_YAML_DEPTH}`);
      if (over === 'size')
        throw badRequest('error converting YAML to JSON: yaml: document contains excessive aliasing');
      return v;
    }
    case PROTOBUF_CONTENT_TYPE:
      return decodeProtobuf(raw);
    default:
      throw unsupportedMediaType(contentType ?? '');
  }
}
