// Request bodies: JSON, YAML (apply-patch+yaml carries JSON from kubectl, but real YAML
// must work too) and, for now, a clear 415 for protobuf. Parse failures are 400 Status.
import { parse as parseYaml } from 'yaml';
import { badRequest, unsupportedMediaType } from './errors.js';

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
    default:
      throw unsupportedMediaType(contentType ?? '');
  }
}
