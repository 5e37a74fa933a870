// ValidatePatchOptions as apimachinery does it: `force` only with an apply patch (any
// value, as a non-nil pointer upstream), an apply patch must name its field manager; both
// 422 PatchOptions.meta.k8s.io with a field cause.
import { describe, expect, it } from 'vitest';
import { checkPatchOptions } from '../../controlplane/api/query-options.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { prefixFromUserAgent } from '../../controlplane/api/storage.js';

function check(type: string, q: Record<string, string>, fieldManager?: string): ApiError | undefined {
  try {
    checkPatchOptions(type, q, { fieldManager });
    return undefined;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
}

describe('PatchOptions checks', () => {
  it.each([
    ['merge', {}, undefined, undefined],
    ['strategic', {}, 'kubectl-edit', undefined],
    ['apply', { force: 'true' }, 'kubectl', undefined],
    ['apply', {}, 'a', undefined],
    [
      'merge',
      { force: 'true' },
      undefined,
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    ],
    [
      'json',
      { force: 'false' },
      'm',
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    ],
    [
      'apply',
      {},
      undefined,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    ],
    [
      'apply',
      {},
      '',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    ],
  ] as const)('%s %j manager %s', (type, q, manager, message) => {
    const err = check(type, q, manager);
    if (message === undefined) return expect(err).toBeUndefined();
    expect(err?.code).toBe(422);
    expect(err?.message).toBe(message);
    expect(err?.details).toMatchObject({
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [{ field: Object.keys(q).length && type !== 'apply' ? 'force' : 'fieldManager' }],
    });
  });
});

describe('the default field manager from the User-Agent (prefixFromUserAgent)', () => {
  it.each([
    ['kubectl/v1.32.4 (linux/amd64) kubernetes/abc', 'kubectl'],
    ['OpenAPI-Generator/31.0.0/python', 'OpenAPI-Generator'],
    ['', ''],
    ['bad\u0000\u0007name\u007f/1', 'badname'],
    ['x'.repeat(16_000), 'x'.repeat(128)],
    ['é'.repeat(100), 'é'.repeat(64)],
  ])('%j → %j', (ua, manager) => expect(prefixFromUserAgent(ua)).toBe(manager));
});
