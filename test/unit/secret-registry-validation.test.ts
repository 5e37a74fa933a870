// ValidateSecret for registry credentials: a dockercfg / dockerconfigjson Secret must hold
// a JSON object, refused at create otherwise with the value redacted, and no parser
// message that would quote it (V8's JSON.parse errors quote the input).
import { describe, expect, it } from 'vitest';
import { secret } from '../../controlplane/resources/secret.js';
import type { KubeObject } from '../../proto/meta.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const obj = (type: string, key: string, value: string) =>
  ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'r', namespace: 'default' },
    type,
    data: { [key]: b64(value) },
  }) as unknown as KubeObject;

describe('registry credential secrets', () => {
  it.each([
    ['kubernetes.io/dockerconfigjson', '.dockerconfigjson', '{"auths":{"r.example":{"auth":"dTpw"}}}', undefined],
    ['kubernetes.io/dockercfg', '.dockercfg', '{"r.example":{"auth":"dTpw"}}', undefined],
    ['kubernetes.io/dockerconfigjson', '.dockerconfigjson', 'password: hunter2', 'invalid JSON'],
    ['kubernetes.io/dockercfg', '.dockercfg', '{"truncated": ', 'invalid JSON'],
    ['kubernetes.io/dockercfg', '.dockercfg', '  ', 'unexpected end of JSON input'],
    [
      'kubernetes.io/dockerconfigjson',
      '.dockerconfigjson',
      '["hunter2"]',
      'json: cannot unmarshal array into Go value of type map[string]interface {}',
    ],
    [
      'kubernetes.io/dockerconfigjson',
      '.dockerconfigjson',
      '"hunter2"',
      'json: cannot unmarshal string into Go value of type map[string]interface {}',
    ],
  ])('%s %s = %s', (type, key, value, problem) => {
    const causes = secret.validate!(obj(type, key, value));
    if (problem === undefined) return expect(causes).toEqual([]);
    expect(causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: `data[${key}]`,
        message: `Invalid value: "<secret contents redacted>": ${problem}`,
      },
    ]);
    expect(JSON.stringify(causes)).not.toContain('hunter2');
  });
});
