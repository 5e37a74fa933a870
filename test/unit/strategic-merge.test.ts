import { describe, expect, it } from 'vitest';
import { strategicMergePatch, PatchError } from '../../controlplane/api/patch/strategic-merge.js';
import type { FieldSchema, SchemaDefs } from '../../proto/schema/types.js';
import { schemaFor, resolve as realResolve } from '../../proto/schema/check-fields.js';

// ---- a small hand-made schema, with refs, mirroring the k8s.io/api patch tags ------------

const str: FieldSchema = { t: 'string' };
const int: FieldSchema = { t: 'int' };
const ref = (name: string): FieldSchema => ({ t: 'ref', name });

const defs: SchemaDefs = {
  ObjectMeta: {
    t: 'object',
    fields: {
      name: str,
      labels: { t: 'map', values: str },
      annotations: { t: 'map', values: str },
      finalizers: { t: 'list', items: str, strategy: 'merge' },
      ownerReferences: {
        t: 'list',
        items: { t: 'object', fields: { uid: str, name: str } },
        strategy: 'merge',
        mergeKey: 'uid',
      },
    },
  },
  Container: {
    t: 'object',
    fields: {
      name: str,
      image: str,
      args: { t: 'list', items: str },
      ports: { t: 'list', items: ref('ContainerPort'), strategy: 'merge', mergeKey: 'containerPort' },
      env: { t: 'list', items: ref('EnvVar'), strategy: 'merge', mergeKey: 'name' },
      resources: ref('Resources'),
    },
  },
  ContainerPort: { t: 'object', fields: { containerPort: int, protocol: str, name: str } },
  EnvVar: { t: 'object', fields: { name: str, value: str } },
  Resources: {
    t: 'object',
    fields: { limits: { t: 'map', values: { t: 'quantity' } }, requests: { t: 'map', values: { t: 'quantity' } } },
  },
  Volume: {
    t: 'object',
    fields: {
      name: str,
      emptyDir: { t: 'object', fields: { medium: str } },
      configMap: { t: 'object', fields: { name: str } },
    },
  },
  PodSpec: {
    t: 'object',
    fields: {
      containers: { t: 'list', items: ref('Container'), strategy: 'merge', mergeKey: 'name' },
      volumes: { t: 'list', items: ref('Volume'), strategy: 'merge', mergeKey: 'name', retainKeys: true },
      tolerations: { t: 'list', items: { t: 'object', fields: { key: str, operator: str, effect: str } } },
      nodeName: str,
    },
  },
  Deployment: {
    t: 'object',
    fields: {
      apiVersion: str,
      kind: str,
      metadata: ref('ObjectMeta'),
      spec: {
        t: 'object',
        fields: {
          replicas: int,
          paused: { t: 'bool' },
          strategy: {
            t: 'object',
            retainKeys: true,
            fields: {
              type: str,
              rollingUpdate: {
                t: 'object',
                fields: { maxSurge: { t: 'intOrString' }, maxUnavailable: { t: 'intOrString' } },
              },
            },
          },
          template: { t: 'object', fields: { metadata: ref('ObjectMeta'), spec: ref('PodSpec') } },
        },
      },
    },
  },
  ConfigMap: {
    t: 'object',
    fields: { apiVersion: str, kind: str, metadata: ref('ObjectMeta'), data: { t: 'map', values: str } },
  },
};

function resolve(s: FieldSchema): FieldSchema {
  let cur = s;
  while (cur.t === 'ref') cur = defs[cur.name]!;
  return cur;
}

const deploy = defs['Deployment'];
const smp = (orig: unknown, patch: unknown, schema: FieldSchema | null = deploy!) =>
  strategicMergePatch(orig, patch, schema ?? undefined, resolve);

/** a Deployment whose pod spec is `podSpec` */
const dep = (podSpec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { replicas: 1, template: { metadata: { labels: { app: 'web' } }, spec: podSpec }, ...extra },
});
const podPatch = (podSpec: Record<string, unknown>) => ({ spec: { template: { spec: podSpec } } });
const podSpecOf = (d: unknown) => (d as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec;
const names = (list: unknown) => (list as Array<{ name: string }>).map((x) => x.name);

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

describe('strategic merge patch: maps', () => {
  it('merges maps recursively and null deletes a key', () => {
    const out = smp(dep({ nodeName: 'n1' }), {
      metadata: { labels: { a: '1' } },
      spec: { replicas: 3, template: { spec: { nodeName: null } } },
    });
    expect(out).toStrictEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { a: '1' } },
      spec: { replicas: 3, template: { metadata: { labels: { app: 'web' } }, spec: {} } },
    });
  });

  it('configmap data.extra: null deletes a key; unmatched nulls are dropped', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1', extra: 'x' } };
    expect(smp(cm, { data: { extra: null, gone: null, b: '2' } }, defs['ConfigMap'])).toStrictEqual({
      ...cm,
      data: { a: '1', b: '2' },
    });
  });

  it('pause / resume (paused: null)', () => {
    const paused = smp(dep({}), { spec: { paused: true } }) as { spec: Record<string, unknown> };
    expect(paused.spec['paused']).toBe(true);
    const resumed = smp(paused, { spec: { paused: null } }) as { spec: Record<string, unknown> };
    expect('paused' in resumed.spec).toBe(false);
  });

  it('$patch: replace on a map replaces it', () => {
    const out = smp(dep({}), {
      spec: { template: { metadata: { labels: { $patch: 'replace', x: '1' } } } },
    }) as ReturnType<typeof dep>;
    expect(out.spec.template.metadata.labels).toStrictEqual({ x: '1' });
  });

  it('$patch: replace at the top level', () => {
    expect(smp({ a: 1, b: { c: 2 } }, { $patch: 'replace', b: { d: 3, e: null } }, null)).toStrictEqual({
      b: { d: 3 },
    });
  });

  it('$patch: delete on a map empties it (as upstream)', () => {
    const out = smp(dep({}), { spec: { template: { metadata: { labels: { $patch: 'delete' } } } } }) as ReturnType<
      typeof dep
    >;
    expect(out.spec.template.metadata.labels).toStrictEqual({});
  });

  it('$patch: merge on a map is the default merge', () => {
    const out = smp(dep({}), {
      spec: { template: { metadata: { labels: { $patch: 'merge', x: '1' } } } },
    }) as ReturnType<typeof dep>;
    expect(out.spec.template.metadata.labels).toStrictEqual({ app: 'web', x: '1' });
  });

  it('rejects an unknown $patch value', () => {
    expectPatchError(
      () => smp(dep({}), { spec: { $patch: 'explode' } }),
      'unknown patch type: explode in map: map[$patch:explode]',
    );
  });

  it('rejects a patch that is not an object', () => {
    expectPatchError(() => smp(dep({}), [1, 2]), 'invalid JSON document', 400);
  });

  it('a type change replaces the value', () => {
    expect(smp({ a: { b: 1 } }, { a: 'x' }, null)).toStrictEqual({ a: 'x' });
    expect(smp({ a: 'x' }, { a: { b: 1, c: null } }, null)).toStrictEqual({ a: { b: 1 } });
  });

  it('treats a null/undefined original as {}', () => {
    expect(smp(null, { a: 1, b: null }, null)).toStrictEqual({ a: 1 });
    expect(smp(undefined, { a: { b: 1 } }, null)).toStrictEqual({ a: { b: 1 } });
  });

  it('unknown fields (no schema) merge as maps and replace lists', () => {
    const live = { spec: { replicas: 1, extra: { a: 1, list: [{ name: 'x', v: 1 }] } } };
    const out = smp(live, { spec: { extra: { b: 2, list: [{ name: 'x', w: 2 }] } } });
    expect(out).toStrictEqual({ spec: { replicas: 1, extra: { a: 1, b: 2, list: [{ name: 'x', w: 2 }] } } });
  });

  it('does not mutate its inputs', () => {
    const live = dep({ containers: [{ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }] }] });
    const patch = podPatch({ containers: [{ name: 'a', env: [{ name: 'A', $patch: 'delete' }] }] });
    const liveCopy = structuredClone(live);
    const patchCopy = structuredClone(patch);
    const out = smp(live, patch);
    expect(live).toStrictEqual(liveCopy);
    expect(patch).toStrictEqual(patchCopy);
    (podSpecOf(out)['containers'] as Array<Record<string, unknown>>)[0]!['image'] = 'changed';
    expect(live.spec.template.spec['containers']).toStrictEqual(liveCopy.spec.template.spec['containers']);
  });
});

describe('strategic merge patch: merge lists', () => {
  it('merges containers by name, keeping ports', () => {
    const live = dep({
      containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80, protocol: 'TCP' }] }],
    });
    const out = smp(live, podPatch({ containers: [{ name: 'nginx', image: 'nginx:1.26' }] }));
    expect(podSpecOf(out)['containers']).toStrictEqual([
      { name: 'nginx', image: 'nginx:1.26', ports: [{ containerPort: 80, protocol: 'TCP' }] },
    ]);
  });

  it('ports: null deletes the list', () => {
    const live = dep({ containers: [{ name: 'nginx', image: 'x', ports: [{ containerPort: 80 }] }] });
    const out = smp(live, podPatch({ containers: [{ name: 'nginx', ports: null }] }));
    expect(podSpecOf(out)['containers']).toStrictEqual([{ name: 'nginx', image: 'x' }]);
  });

  it('merges nested maps inside a merged element (container resources)', () => {
    const live = dep({
      containers: [
        { name: 'a', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } } },
        { name: 'b', image: 'y' },
      ],
    });
    const out = smp(
      live,
      podPatch({ containers: [{ name: 'a', resources: { limits: { cpu: '2' }, requests: { cpu: null } } }] }),
    );
    expect(podSpecOf(out)['containers']).toStrictEqual([
      { name: 'a', image: 'x', resources: { limits: { cpu: '2', memory: '1Gi' }, requests: {} } },
      { name: 'b', image: 'y' },
    ]);
  });

  it('{"$patch":"delete","name":"B"} deletes an env var', () => {
    const live = dep({
      containers: [
        {
          name: 'c',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
            { name: 'C', value: '3' },
          ],
        },
      ],
    });
    const out = smp(live, podPatch({ containers: [{ name: 'c', env: [{ $patch: 'delete', name: 'B' }] }] }));
    expect(podSpecOf(out)['containers']).toStrictEqual([
      {
        name: 'c',
        env: [
          { name: 'A', value: '1' },
          { name: 'C', value: '3' },
        ],
      },
    ]);
  });

  it('deletes every element with the key (duplicates), as upstream', () => {
    const live = {
      spec: {
        template: {
          spec: { containers: [{ name: '1' }, { name: '1' }, { name: '2', image: 'a' }, { name: '3' }, { name: '3' }] },
        },
      },
    };
    const out = smp(
      live,
      podPatch({
        containers: [
          { name: '1', $patch: 'delete' },
          { name: '3', $patch: 'delete' },
        ],
      }),
    );
    expect(podSpecOf(out)['containers']).toStrictEqual([{ name: '2', image: 'a' }]);
  });

  it('a {"$patch":"replace"} element replaces the whole list', () => {
    const live = dep({
      containers: [
        { name: 'a', image: 'x' },
        { name: 'b', image: 'y' },
      ],
    });
    expect(
      podSpecOf(smp(live, podPatch({ containers: [{ $patch: 'replace' }, { name: 'c', image: 'z', args: null }] })))[
        'containers'
      ],
    ).toStrictEqual([{ name: 'c', image: 'z' }]);
    expect(podSpecOf(smp(live, podPatch({ containers: [{ $patch: 'replace' }] })))['containers']).toStrictEqual([]);
  });

  it('patch elements order the result; live-only elements keep their live position', () => {
    // apimachinery "preserve the order from the patch in a merging list" cases
    const live = dep({ containers: [{ name: '1' }, { name: '2', image: 'b' }, { name: '3' }] });
    expect(
      podSpecOf(
        smp(
          live,
          podPatch({
            containers: [
              { name: '3', image: 'c' },
              { name: '1', image: 'a' },
              { name: '2', args: ['x'] },
            ],
          }),
        ),
      )['containers'],
    ).toStrictEqual([
      { name: '3', image: 'c' },
      { name: '1', image: 'a' },
      { name: '2', image: 'b', args: ['x'] },
    ]);
    expect(
      podSpecOf(
        smp(
          live,
          podPatch({
            containers: [
              { name: '3', image: 'c' },
              { name: '1', image: 'a' },
            ],
          }),
        ),
      )['containers'],
    ).toStrictEqual([
      { name: '2', image: 'b' },
      { name: '3', image: 'c' },
      { name: '1', image: 'a' },
    ]);
  });

  it('a new element without $setElementOrder goes before the live-only ones (upstream ordering)', () => {
    const live = dep({ containers: [{ name: 'a' }, { name: 'b' }] });
    expect(names(podSpecOf(smp(live, podPatch({ containers: [{ name: 'c' }] })))['containers'])).toStrictEqual([
      'c',
      'a',
      'b',
    ]);
    expect(
      names(podSpecOf(smp(live, podPatch({ containers: [{ name: 'b', image: 'x' }, { name: 'c' }] })))['containers']),
    ).toStrictEqual(['a', 'b', 'c']);
  });

  it('$setElementOrder/containers fixes the order', () => {
    const live = dep({ containers: [{ name: 'a' }, { name: 'b' }] });
    const out = smp(
      live,
      podPatch({
        '$setElementOrder/containers': [{ name: 'b' }, { name: 'c' }, { name: 'a' }],
        containers: [{ name: 'c', image: 'z' }],
      }),
    );
    expect(podSpecOf(out)['containers']).toStrictEqual([{ name: 'b' }, { name: 'c', image: 'z' }, { name: 'a' }]);
  });

  it('$setElementOrder alone reorders; elements it does not list stay by live order', () => {
    const live = dep({ containers: [{ name: 'c', env: [{ name: 'A' }, { name: 'B' }, { name: 'C' }] }] });
    const out = smp(
      live,
      podPatch({ containers: [{ name: 'c', '$setElementOrder/env': [{ name: 'C' }, { name: 'A' }, { name: 'B' }] }] }),
    );
    expect(names((podSpecOf(out)['containers'] as Array<{ env: unknown }>)[0]!.env)).toStrictEqual(['C', 'A', 'B']);

    const live2 = dep({ containers: [{ name: '1' }, { name: '3' }] });
    const out2 = smp(
      live2,
      podPatch({
        '$setElementOrder/containers': [{ name: '3' }, { name: '2' }, { name: '1' }],
        containers: [
          { name: '3', image: '3' },
          { name: '1', image: '1' },
        ],
      }),
    );
    expect(podSpecOf(out2)['containers']).toStrictEqual([
      { name: '3', image: '3' },
      { name: '1', image: '1' },
    ]);
  });

  it('$setElementOrder must agree with the order of the patch list', () => {
    const live = dep({ containers: [{ name: '1' }, { name: '3' }, { name: '2' }] });
    expectPatchError(
      () =>
        smp(
          live,
          podPatch({
            '$setElementOrder/containers': [{ name: '1' }, { name: '2' }, { name: '3' }],
            containers: [
              { name: '3', image: '3' },
              { name: '1', image: '1' },
            ],
          }),
        ),
      /doesn't match \$setElementOrder list/,
    );
  });

  it('$setElementOrder on a list the live object lacks', () => {
    const out = smp(
      dep({}),
      podPatch({
        '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
        containers: [{ name: 'b', ports: null }, { name: 'a' }],
      }),
    );
    expect(podSpecOf(out)['containers']).toStrictEqual([{ name: 'b' }, { name: 'a' }]);
  });

  it('merge list element without the merge key is an error', () => {
    const live = dep({ containers: [{ name: 'a' }] });
    expectPatchError(
      () => smp(live, podPatch({ containers: [{ image: 'x' }] })),
      'map: map[image:x] does not contain declared merge key: name',
    );
    expectPatchError(
      () => smp(live, podPatch({ containers: [{ $patch: 'delete', image: 'x' }] })),
      /does not contain declared merge key: name/,
    );
  });

  it('rejects $patch: merge and unknown $patch values in a merge list', () => {
    const live = dep({ containers: [{ name: 'a' }] });
    expectPatchError(
      () => smp(live, podPatch({ containers: [{ $patch: 'merge', name: 'a' }] })),
      'merging lists cannot yet be specified in the patch',
    );
    expectPatchError(
      () => smp(live, podPatch({ containers: [{ $patch: 'nope', name: 'a' }] })),
      /unknown patch type: nope/,
    );
  });

  it('rejects lists of lists and mixed element types', () => {
    expectPatchError(
      () => smp(dep({ containers: [{ name: 'a' }] }), podPatch({ containers: [['x']] })),
      /list element types are not identical|lists of lists/,
    );
    expectPatchError(
      () => smp({ metadata: { finalizers: [['a']] } }, { metadata: { finalizers: [['b']] } }),
      'lists of lists are not supported',
    );
  });

  it('tolerations (no strategy) are replaced whole', () => {
    const live = dep({
      tolerations: [
        { key: 'a', operator: 'Exists' },
        { key: 'b', operator: 'Exists' },
      ],
    });
    const out = smp(live, podPatch({ tolerations: [{ key: 'c', operator: 'Exists', effect: null }] }));
    expect(podSpecOf(out)['tolerations']).toStrictEqual([{ key: 'c', operator: 'Exists' }]);
  });

  it('args (list of primitives without strategy) are replaced whole', () => {
    const live = dep({ containers: [{ name: 'a', args: ['x', 'y'] }] });
    expect(podSpecOf(smp(live, podPatch({ containers: [{ name: 'a', args: ['z'] }] })))['containers']).toStrictEqual([
      { name: 'a', args: ['z'] },
    ]);
  });

  it('cleans directives and nulls out of values the patch adds', () => {
    const live = dep({ containers: [{ name: 'a' }] });
    const out = smp(
      live,
      podPatch({
        '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
        containers: [
          {
            name: 'b',
            image: 'x',
            ports: null,
            '$setElementOrder/env': [{ name: 'E' }],
            env: [
              { name: 'E', value: 'v' },
              { name: 'F', $patch: 'delete' },
            ],
          },
        ],
      }),
    );
    expect(podSpecOf(out)['containers']).toStrictEqual([
      { name: 'a' },
      { name: 'b', image: 'x', env: [{ name: 'E', value: 'v' }] },
    ]);
  });

  it('ownerReferences merge by uid', () => {
    const live = { metadata: { name: 'x', ownerReferences: [{ uid: '1', name: 'a' }] } };
    const out = smp(live, {
      metadata: {
        ownerReferences: [
          { uid: '1', name: 'b' },
          { uid: '2', name: 'c' },
        ],
      },
    }) as { metadata: { ownerReferences: unknown } };
    expect(out.metadata.ownerReferences).toStrictEqual([
      { uid: '1', name: 'b' },
      { uid: '2', name: 'c' },
    ]);
  });
});

describe('strategic merge patch: primitive sets, $retainKeys, $deleteFromPrimitiveList', () => {
  const withFinalizers = (f: string[]) => ({ metadata: { name: 'x', finalizers: f } });
  const finalizersOf = (o: unknown) => (o as { metadata: { finalizers?: string[] } }).metadata.finalizers;

  it('finalizers are set-merged', () => {
    expect(finalizersOf(smp(withFinalizers(['a', 'b']), { metadata: { finalizers: ['b', 'c'] } }))).toStrictEqual([
      'a',
      'b',
      'c',
    ]);
    expect(finalizersOf(smp(withFinalizers(['a', 'b']), { metadata: { finalizers: ['a'] } }))).toStrictEqual([
      'a',
      'b',
    ]);
    // a value new to the list goes first without $setElementOrder (upstream mergeSortedSlice)
    expect(finalizersOf(smp(withFinalizers(['a', 'b']), { metadata: { finalizers: ['c'] } }))).toStrictEqual([
      'c',
      'a',
      'b',
    ]);
    expect(
      finalizersOf(
        smp(withFinalizers(['a', 'b']), {
          metadata: { '$setElementOrder/finalizers': ['a', 'b', 'c'], finalizers: ['c'] },
        }),
      ),
    ).toStrictEqual(['a', 'b', 'c']);
    // apimachinery "preserve the order from the patch in a merging int list"
    expect(
      finalizersOf(smp(withFinalizers(['1', '2', '3']), { metadata: { finalizers: ['3', '1', '2'] } })),
    ).toStrictEqual(['3', '1', '2']);
    expect(finalizersOf(smp(withFinalizers(['1', '2', '3']), { metadata: { finalizers: ['3', '1'] } }))).toStrictEqual([
      '2',
      '3',
      '1',
    ]);
    // "$setElementOrder contains item that is not present in the int list to be merged"
    expect(
      finalizersOf(smp(withFinalizers(['1', '3']), { metadata: { '$setElementOrder/finalizers': ['3', '2', '1'] } })),
    ).toStrictEqual(['3', '1']);
  });

  it('$deleteFromPrimitiveList/finalizers removes values', () => {
    expect(
      finalizersOf(
        smp(withFinalizers(['a', 'b', 'c']), { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'z'] } }),
      ),
    ).toStrictEqual(['a', 'c']);
    // nothing to delete from: no list appears
    expect(
      smp({ metadata: { name: 'x' } }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] } }),
    ).toStrictEqual({ metadata: { name: 'x' } });
    // with an addition and an explicit order, as kubectl sends them
    expect(
      finalizersOf(
        smp(withFinalizers(['a', 'b', 'c']), {
          metadata: {
            '$setElementOrder/finalizers': ['d', 'a', 'c'],
            '$deleteFromPrimitiveList/finalizers': ['b'],
            finalizers: ['d'],
          },
        }),
      ),
    ).toStrictEqual(['d', 'a', 'c']);
  });

  it('malformed parallel-list keys are 400s', () => {
    expectPatchError(
      () => smp(withFinalizers(['a']), { metadata: { $deleteFromPrimitiveList: ['a'] } }),
      'invalid patch format of primitive list',
      400,
    );
    expectPatchError(
      () => smp(withFinalizers(['a']), { metadata: { $setElementOrder: ['a'] } }),
      'invalid patch format of setElementOrder list',
      400,
    );
  });

  it('$retainKeys on a volume keeps only the listed keys', () => {
    const live = dep({
      volumes: [
        { name: 'v', emptyDir: { medium: 'Memory' } },
        { name: 'w', emptyDir: {} },
      ],
    });
    const out = smp(
      live,
      podPatch({ volumes: [{ name: 'v', $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' } }] }),
    );
    expect(podSpecOf(out)['volumes']).toStrictEqual([
      { name: 'v', configMap: { name: 'cm' } },
      { name: 'w', emptyDir: {} },
    ]);
  });

  it('$retainKeys on the deployment strategy', () => {
    const live = dep({}, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    const out = smp(live, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }) as {
      spec: { strategy: unknown };
    };
    expect(out.spec.strategy).toStrictEqual({ type: 'Recreate' });
    // and back: retainKeys listing both keys keeps what the patch sets
    const back = smp(out, {
      spec: {
        strategy: { $retainKeys: ['rollingUpdate', 'type'], type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } },
      },
    }) as {
      spec: { strategy: unknown };
    };
    expect(back.spec.strategy).toStrictEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } });
  });

  it('$retainKeys must list every key the patch sets, and be a list', () => {
    const live = dep({}, { strategy: { type: 'RollingUpdate' } });
    expectPatchError(
      () => smp(live, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: {} } } }),
      'invalid patch format of retainKeys',
      400,
    );
    expectPatchError(
      () => smp(live, { spec: { strategy: { $retainKeys: 'type' } } }),
      'invalid patch format of retainKeys',
      400,
    );
    // null values and parallel lists are exempt
    expect(
      (
        smp(live, { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null } } }) as {
          spec: { strategy: unknown };
        }
      ).spec.strategy,
    ).toStrictEqual({
      type: 'RollingUpdate',
    });
  });
});

describe('strategic merge patch: kubectl apply', () => {
  // The exact patch from KUBECTL.md §4.
  const applyPatch = {
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}\n' } },
    spec: {
      replicas: 3,
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'nginx' }],
          containers: [
            {
              '$setElementOrder/env': [{ name: 'A' }],
              env: [{ $patch: 'delete', name: 'B' }],
              image: 'nginx:1.26',
              name: 'nginx',
              ports: null,
            },
          ],
        },
      },
    },
  };
  const live = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'demo',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"old":true}\n', other: 'x' },
    },
    spec: {
      replicas: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: 'nginx:1.25',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              resources: {},
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };
  const expected = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'demo',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}\n', other: 'x' },
    },
    spec: {
      replicas: 3,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'nginx', image: 'nginx:1.26', env: [{ name: 'A', value: '1' }], resources: {} }],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };

  it('applies the kubectl apply patch (hand-made schema)', () => {
    expect(smp(live, applyPatch)).toStrictEqual(expected);
  });

  it('applies the kubectl apply patch (real Deployment schema)', () => {
    const schema = schemaFor('Deployment');
    expect(schema).toBeDefined();
    expect(strategicMergePatch(live, applyPatch, schema, realResolve)).toStrictEqual(expected);
  });

  it('real schema: rollout restart, volumes retainKeys, strategy retainKeys, finalizers, tolerations', () => {
    const schema = schemaFor('Deployment');
    const restarted = strategicMergePatch(
      live,
      {
        spec: {
          template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-22T14:05:27Z' } } },
        },
      },
      schema,
      realResolve,
    ) as typeof live;
    expect(restarted.spec.template.metadata).toStrictEqual({
      labels: { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-22T14:05:27Z' },
    });

    const out = strategicMergePatch(
      live,
      {
        metadata: { finalizers: ['f'] },
        spec: {
          strategy: { $retainKeys: ['type'], type: 'Recreate' },
          template: {
            spec: {
              volumes: [{ name: 'data', $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' } }],
              tolerations: [{ key: 'k', operator: 'Exists' }],
              containers: [{ name: 'nginx', ports: [{ containerPort: 443 }], env: [{ name: 'C', value: '3' }] }],
            },
          },
        },
      },
      schema,
      realResolve,
    ) as typeof live & { metadata: { finalizers: string[] } };
    expect(out.metadata.finalizers).toStrictEqual(['f']);
    expect(out.spec.strategy).toStrictEqual({ type: 'Recreate' });
    const spec = out.spec.template.spec as Record<string, unknown>;
    expect(spec['volumes']).toStrictEqual([{ name: 'data', configMap: { name: 'cm' } }]);
    expect(spec['tolerations']).toStrictEqual([{ key: 'k', operator: 'Exists' }]);
    const c = (spec['containers'] as Array<Record<string, unknown>>)[0]!;
    expect(c['ports']).toStrictEqual([{ containerPort: 443 }, { containerPort: 80, protocol: 'TCP' }]);
    expect(c['env']).toStrictEqual([
      { name: 'C', value: '3' },
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
  });

  it('real schema: status conditions merge by type', () => {
    const schema = schemaFor('Deployment');
    const withStatus = {
      ...live,
      status: {
        conditions: [
          { type: 'Available', status: 'True' },
          { type: 'Progressing', status: 'True' },
        ],
      },
    };
    const out = strategicMergePatch(
      withStatus,
      { status: { conditions: [{ type: 'Available', status: 'False' }] } },
      schema,
      realResolve,
    ) as {
      status: { conditions: unknown };
    };
    expect(out.status.conditions).toStrictEqual([
      { type: 'Available', status: 'False' },
      { type: 'Progressing', status: 'True' },
    ]);
  });
});
