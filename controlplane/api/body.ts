// Request bodies: JSON, YAML (apply-patch+yaml carries JSON from kubectl, but real YAML
// must work too) and Kubernetes protobuf (`kubectl create namespace|configmap|secret|
// deployment|…` POST typed objects as protobuf; client-go does not fall back after a 415).
// Protobuf is decoded to the same JSON objects, for the kinds proto/protobuf/tables.ts covers.
// Parse failures are 400 Status; a protobuf kind without a table is 415.
import { parse as parseYaml } from 'yaml';
import { decodeKubernetesProtobuf, PROTOBUF_CONTENT_TYPE, ProtobufError } from '../../proto/protobuf/decode.js';
import { ApiError, badRequest, unsupportedMediaType } from './errors.js';

const ACCEPTED = 'application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml, application/vnd.kubernetes.protobuf';

function decodeProtobuf(raw: Buffer): unknown {
  try {
    return decodeKubernetesProtobuf(raw);
  } catch (e) {
    if (!(e instanceof ProtobufError)) throw e;
    if (e.reason === 'unsupported') {
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${ACCEPTED} (${e.message})`);
    }
    throw badRequest(e.message);
  }
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
      try {
        return JSON.parse(text);
      } catch (e) {
        throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
      }
    case 'application/yaml':
    case 'application/apply-patch+yaml':
      try {
        return parseYaml(text, { maxAliasCount: 100 });
      } catch (e) {
        throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
      }
    case PROTOBUF_CONTENT_TYPE:
      return decodeProtobuf(raw);
    default:
      throw unsupportedMediaType(contentType ?? '');
  }
}
