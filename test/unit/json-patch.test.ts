import { describe, expect, it } from 'vitest';
import { jsonMergePatch } from '../../controlplane/api/patch/json-merge.js';
import { jsonPatch } from '../../controlplane/api/patch/json-patch.js';
import { PatchError } from '../../controlplane/api/patch/strategic-merge.js';

function expectPatchError(fn: () => unknown, match: RegExp | string, code?: number) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PatchError);
  expect((err as PatchError).message).toMatch(match);
  if (code !== undefined) expect((err as PatchError).code).toBe(code);
}

describe('JSON merge patch (RFC 7386)', () => {
  // RFC 7386 appendix A
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(cases)('merge(%j, %j)', (orig, patch, want) => {
    expect(jsonMergePatch(orig, patch)).toStrictEqual(want);
  });

  it('kubectl scale: {"spec":{"replicas":3}}', () => {
    const scale = {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 'web' },
      spec: { replicas: 1 },
      status: { replicas: 1, selector: 'app=web' },
    };
    expect(jsonMergePatch(scale, { spec: { replicas: 3 } })).toStrictEqual({ ...scale, spec: { replicas: 3 } });
  });

  it('replaces lists whole and does not mutate its inputs', () => {
    const orig = {
      spec: { containers: [{ name: 'a', ports: [{ containerPort: 80 }] }] },
      metadata: { labels: { a: '1' } },
    };
    const patch = { spec: { containers: [{ name: 'a', image: 'x' }] }, metadata: { labels: { b: '2', a: null } } };
    const o = structuredClone(orig);
    const p = structuredClone(patch);
    const out = jsonMergePatch(orig, patch) as typeof orig;
    expect(out).toStrictEqual({ spec: { containers: [{ name: 'a', image: 'x' }] }, metadata: { labels: { b: '2' } } });
    expect(orig).toStrictEqual(o);
    expect(patch).toStrictEqual(p);
    out.spec.containers[0]!.name = 'changed';
    (out.metadata.labels as Record<string, string>)['c'] = '3';
    expect(orig).toStrictEqual(o);
    expect(patch).toStrictEqual(p);
  });

  it('keeps a __proto__ key as data', () => {
    const out = jsonMergePatch({}, JSON.parse('{"__proto__":{"x":1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
  });
});

describe('JSON patch (RFC 6902, evanphx/json-patch v4 semantics)', () => {
  const deployment = () => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:1.26' }] },
      },
    },
  });

  it('kubectl rollout undo: replace /spec/template and a missing /metadata/annotations', () => {
    const d = deployment();
    const oldTemplate = {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] },
    };
    const ops = [
      { op: 'replace', path: '/spec/template', value: oldTemplate },
      {
        op: 'replace',
        path: '/metadata/annotations',
        value: { 'deployment.kubernetes.io/revision': '1', 'kubernetes.io/change-cause': 'x' },
      },
    ];
    const out = jsonPatch(d, ops) as ReturnType<typeof deployment> & { metadata: { annotations: unknown } };
    expect(out.spec.template).toStrictEqual(oldTemplate);
    expect(out.metadata.annotations).toStrictEqual({
      'deployment.kubernetes.io/revision': '1',
      'kubernetes.io/change-cause': 'x',
    });
    expect(d).toStrictEqual(deployment());
    expect(ops[0]!.value).toStrictEqual({
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] },
    });
    // the result shares nothing with the operations
    (out.spec.template.spec.containers[0] as { image: string }).image = 'changed';
    expect(oldTemplate.spec.containers[0]!.image).toBe('nginx:1.25');
  });

  it('replace under a missing parent fails', () => {
    expectPatchError(
      () => jsonPatch(deployment(), [{ op: 'replace', path: '/metadata/annotations/x', value: 'y' }]),
      /replace operation does not apply: doc is missing path/,
      422,
    );
  });

  it('replace of an array index out of range fails', () => {
    expectPatchError(
      () => jsonPatch(deployment(), [{ op: 'replace', path: '/spec/template/spec/containers/3', value: {} }]),
      /does not apply|invalid index/,
      422,
    );
  });

  it('add, remove, copy, move, and escaped pointers', () => {
    const out = jsonPatch(deployment(), [
      { op: 'add', path: '/metadata/annotations', value: {} },
      { op: 'add', path: '/metadata/annotations/a~1b', value: '1' },
      { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'side', image: 'busybox' } },
      { op: 'remove', path: '/metadata/labels/app' },
      { op: 'copy', from: '/spec/replicas', path: '/metadata/annotations/replicas' },
      { op: 'move', from: '/metadata/annotations/a~1b', path: '/metadata/annotations/moved' },
      { op: 'replace', path: '/spec/replicas', value: 5 },
    ]) as ReturnType<typeof deployment> & { metadata: { annotations: unknown } };
    expect(out.metadata).toStrictEqual({ name: 'web', labels: {}, annotations: { replicas: 2, moved: '1' } });
    expect(out.spec.replicas).toBe(5);
    expect(out.spec.template.spec.containers.map((c) => c.name)).toStrictEqual(['nginx', 'side']);
  });

  it('test passes or fails the patch', () => {
    expect(
      (
        jsonPatch(deployment(), [
          { op: 'test', path: '/spec/replicas', value: 2 },
          { op: 'replace', path: '/spec/replicas', value: 3 },
        ]) as ReturnType<typeof deployment>
      ).spec.replicas,
    ).toBe(3);
    expectPatchError(
      () => jsonPatch(deployment(), [{ op: 'test', path: '/spec/replicas', value: 7 }]),
      'testing value /spec/replicas failed: test failed',
      422,
    );
    // v4: testing a missing location against null passes
    expect(jsonPatch(deployment(), [{ op: 'test', path: '/metadata/annotations', value: null }])).toStrictEqual(
      deployment(),
    );
  });

  it('remove of a missing key fails', () => {
    expectPatchError(
      () => jsonPatch(deployment(), [{ op: 'remove', path: '/metadata/annotations' }]),
      /remove operation does not apply/,
      422,
    );
  });

  it('add under a missing parent fails', () => {
    expectPatchError(
      () => jsonPatch(deployment(), [{ op: 'add', path: '/metadata/annotations/x', value: '1' }]),
      /add operation does not apply/,
      422,
    );
  });

  it('rejects unknown operations and malformed documents', () => {
    expectPatchError(
      () => jsonPatch(deployment(), [{ op: 'frobnicate', path: '/a' }]),
      'Unexpected kind: frobnicate',
      422,
    );
    expectPatchError(() => jsonPatch(deployment(), [{ op: 'add', value: 1 }]), /missing a path/, 422);
    expectPatchError(
      () => jsonPatch(deployment(), { op: 'add', path: '/a', value: 1 }),
      /cannot unmarshal object/,
      400,
    );
    expectPatchError(
      () => jsonPatch(deployment(), ['add']),
      /cannot unmarshal string into Go value of type jsonpatch.Operation/,
      400,
    );
    expectPatchError(() => jsonPatch(deployment(), [{ op: 'add', path: '/metadata/x' }]), /add operation/, 422);
  });

  it('does not mutate the original when a later operation fails', () => {
    const d = deployment();
    expectPatchError(
      () =>
        jsonPatch(d, [
          { op: 'replace', path: '/spec/replicas', value: 9 },
          { op: 'test', path: '/spec/replicas', value: 2 },
        ]),
      /test failed/,
    );
    expect(d).toStrictEqual(deployment());
  });
});
