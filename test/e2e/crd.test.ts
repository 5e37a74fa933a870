// CustomResourceDefinitions as the real kubectl 1.32 and @kubernetes/client-node use
// them: the docs' CronTab CRD established and discovered (short name, category), objects
// validated (kubectl's messages), pruned, defaulted and printed with their columns,
// `kubectl explain`, status and scale subresources, watches, two versions, cluster scope,
// name conflicts, and deleting the CRD deleting its objects and its API group.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  httpsRequest,
  k,
  kubectl,
  kubectlAvailable,
  kubectlBg,
  startServer,
  type ServerProc,
} from './harness.js';

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
    categories: [all]
  versions:
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec:
                type: string
                pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'
              image:
                type: string
                maxLength: 40
              replicas:
                type: integer
                minimum: 1
                maximum: 10
                default: 1
              mode:
                type: string
                enum: [Fast, Slow]
          status:
            type: object
            properties:
              replicas: {type: integer}
              labelSelector: {type: string}
    selectableFields:
    - jsonPath: .spec.mode
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    - {name: Image, type: string, priority: 1, jsonPath: .spec.image}
`;

const CT = `apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: my-new-cron-object
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
`;

const haveKubectl = kubectlAvailable();

describe.skipIf(!haveKubectl)('CustomResourceDefinitions with kubectl', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
    expect(k(s, ['apply', '-f', '-'], CRD)).toContain(
      'customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created',
    );
    k(s, ['wait', '--for', 'condition=established', '--timeout=30s', 'crd/crontabs.stable.example.com']);
  }, 60_000);
  afterAll(async () => {
    await s?.cleanup();
  });

  it('the CRD is listed and its type discovered with its short name', () => {
    expect(k(s, ['get', 'crd'])).toMatch(
      /NAME\s+CREATED AT\ncrontabs\.stable\.example\.com\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/,
    );
    expect(k(s, ['api-resources', '--api-group=stable.example.com'])).toMatch(
      /crontabs\s+ct\s+stable\.example\.com\/v1\s+true\s+CronTab/,
    );
    const crd = JSON.parse(k(s, ['get', 'crd', 'crontabs.stable.example.com', '-o', 'json']));
    expect(crd.status.acceptedNames).toMatchObject({
      plural: 'crontabs',
      kind: 'CronTab',
      shortNames: ['ct'],
      categories: ['all'],
    });
    expect(crd.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).toEqual([
      'NamesAccepted=True',
      'Established=True',
    ]);
    expect(crd.status.storedVersions).toEqual(['v1']);
    // the cleanup finalizer is added by the first delete, as kube-apiserver's CRD REST does
    expect(crd.metadata.finalizers).toBeUndefined();
  });

  it('creates, defaults and prints objects by name, short name and category', () => {
    expect(k(s, ['apply', '-f', '-'], CT)).toContain('crontab.stable.example.com/my-new-cron-object created');
    expect(k(s, ['get', 'crontabs'])).toMatch(
      /NAME\s+SPEC\s+REPLICAS\s+AGE\nmy-new-cron-object\s+\* \* \* \* \*\/5\s+1\s+\d+s/,
    );
    expect(k(s, ['get', 'ct', '-o', 'wide'])).toMatch(
      /NAME\s+SPEC\s+REPLICAS\s+AGE\s+IMAGE\nmy-new-cron-object\s+\* \* \* \* \*\/5\s+1\s+\d+s\s+my-awesome-cron-image/,
    );
    expect(k(s, ['get', 'all'])).toContain('crontab.stable.example.com/my-new-cron-object');
    const o = JSON.parse(k(s, ['get', 'ct', 'my-new-cron-object', '-o', 'json']));
    expect(o.spec).toEqual({ cronSpec: '* * * * */5', image: 'my-awesome-cron-image', replicas: 1 });
    expect(o.metadata.generation).toBe(1);
    expect(k(s, ['apply', '-f', '-'], CT)).toContain('crontab.stable.example.com/my-new-cron-object unchanged');
  });

  it('refuses invalid objects and unknown fields as Kubernetes words it', () => {
    const bad = kubectl(s, ['apply', '-f', '-'], {
      input: CT.replace('my-new-cron-object', 'bad').replace(
        'image: my-awesome-cron-image',
        'replicas: three\n  mode: Medium',
      ),
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The CronTab "bad" is invalid: ');
    expect(bad.stderr).toContain(
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    );
    expect(bad.stderr).toContain('spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"');
    const missing = kubectl(s, ['create', '-f', '-'], {
      input: '{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"r"},"spec":{"replicas":0}}',
    });
    expect(missing.stderr).toContain('spec.cronSpec: Required value');
    expect(missing.stderr).toContain(
      'spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
    );
    const extra = kubectl(s, ['apply', '-f', '-'], {
      input: CT.replace('my-new-cron-object', 'extra').replace('image: my-awesome-cron-image', 'colour: blue'),
    });
    expect(extra.stderr).toContain(
      'Error from server (BadRequest): error when creating "STDIN": CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: unknown field "spec.colour"',
    );
    // without validation the unknown field is pruned
    expect(
      k(
        s,
        ['apply', '--validate=false', '-f', '-'],
        CT.replace('my-new-cron-object', 'pruned').replace('image: my-awesome-cron-image', 'colour: blue'),
      ),
    ).toContain('created');
    expect(JSON.parse(k(s, ['get', 'ct', 'pruned', '-o', 'json'])).spec).toEqual({
      cronSpec: '* * * * */5',
      replicas: 1,
    });
    expect(kubectl(s, ['get', 'ct', 'bad']).code).not.toBe(0);
  });

  it('kubectl explain reads the CRD schema', () => {
    const out = k(s, ['explain', 'crontab.spec']);
    expect(out).toContain('GROUP:      stable.example.com');
    expect(out).toContain('KIND:       CronTab');
    expect(out).toMatch(/cronSpec\t<string> -required-/);
    expect(out).toMatch(/replicas\t<integer>/);
  });

  it('patches by merge and JSON patch; a strategic merge patch is refused with 415 as upstream', () => {
    expect(k(s, ['patch', 'ct', 'my-new-cron-object', '--type', 'merge', '-p', '{"spec":{"replicas":2}}'])).toContain(
      'patched',
    );
    expect(
      k(s, [
        'patch',
        'ct',
        'my-new-cron-object',
        '--type',
        'json',
        '-p',
        '[{"op":"replace","path":"/spec/image","value":"v2"}]',
      ]),
    ).toContain('patched');
    const smp = kubectl(s, ['patch', 'ct', 'my-new-cron-object', '-p', '{"spec":{"replicas":3}}']);
    expect(smp.stderr).toContain(
      'application/strategic-merge-patch+json is not supported by stable.example.com/v1, Kind=CronTab: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
    const o = JSON.parse(k(s, ['get', 'ct', 'my-new-cron-object', '-o', 'json']));
    expect(o.spec).toMatchObject({ replicas: 2, image: 'v2' });
    expect(o.metadata.generation).toBe(3);
    // server-side apply and dry-run
    expect(k(s, ['apply', '--server-side', '-f', '-'], CT.replace('my-new-cron-object', 'ssa'))).toContain(
      'serverside-applied',
    );
    expect(k(s, ['create', '--dry-run=server', '-f', '-'], CT.replace('my-new-cron-object', 'dry'))).toContain(
      'created (server dry run)',
    );
    expect(kubectl(s, ['get', 'ct', 'dry']).code).not.toBe(0);
  });

  it('status goes through the status subresource; kubectl scale through scale', () => {
    k(s, [
      'patch',
      'ct',
      'my-new-cron-object',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"replicas":2,"labelSelector":"app=cron"}}',
    ]);
    // the main resource ignores status
    k(s, ['patch', 'ct', 'my-new-cron-object', '--type=merge', '-p', '{"status":{"replicas":9}}']);
    expect(JSON.parse(k(s, ['get', 'ct', 'my-new-cron-object', '-o', 'json'])).status).toEqual({
      replicas: 2,
      labelSelector: 'app=cron',
    });
    expect(k(s, ['scale', 'ct', 'my-new-cron-object', '--replicas=5'])).toContain(
      'crontab.stable.example.com/my-new-cron-object scaled',
    );
    const scale = JSON.parse(k(s, ['get', 'ct', 'my-new-cron-object', '--subresource=scale', '-o', 'json']));
    expect(scale).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 5 },
      status: { replicas: 2, selector: 'app=cron' },
    });
    // the schema still applies through scale
    expect(kubectl(s, ['scale', 'ct', 'my-new-cron-object', '--replicas=50']).stderr).toContain(
      'spec.replicas: Invalid value: 50: spec.replicas in body should be less than or equal to 10',
    );
  });

  it('watches see changes; selectors and the other version work', async () => {
    const w = kubectlBg(s, ['get', 'ct', '-w', '--output-watch-events', '-l', 'watched=yes']);
    try {
      await new Promise((r) => setTimeout(r, 300));
      k(s, ['label', 'ct', 'my-new-cron-object', 'watched=yes']);
      await eventually(() => expect(w.out()).toMatch(/ADDED\s+my-new-cron-object/), 15_000);
      k(s, ['annotate', 'ct', 'my-new-cron-object', 'a=b']);
      await eventually(() => expect(w.out()).toMatch(/MODIFIED\s+my-new-cron-object/), 15_000);
    } finally {
      w.proc.kill();
    }
    expect(k(s, ['get', 'ct', '--field-selector', 'metadata.name=ssa', '-o', 'name'])).toBe(
      'crontab.stable.example.com/ssa\n',
    );
    k(s, ['patch', 'ct', 'ssa', '--type=merge', '-p', '{"spec":{"mode":"Slow"}}']);
    expect(k(s, ['get', 'ct', '--field-selector', 'spec.mode=Slow', '-o', 'name'])).toBe(
      'crontab.stable.example.com/ssa\n',
    );
    expect(kubectl(s, ['get', 'ct', '--field-selector', 'spec.image=x']).stderr).toContain(
      'field label not supported: spec.image',
    );
    const betaGet = kubectl(s, ['get', 'crontabs.v1beta1.stable.example.com', 'my-new-cron-object', '-o', 'json']);
    expect(betaGet.stderr).toContain(
      'Warning: stable.example.com/v1beta1 CronTab is deprecated; use stable.example.com/v1 CronTab',
    );
    const beta = JSON.parse(betaGet.stdout);
    expect(beta.apiVersion).toBe('stable.example.com/v1beta1');
    expect(beta.spec.replicas).toBe(5);
  });

  it('an informer of @kubernetes/client-node lists and watches custom objects', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const g = { group: 'stable.example.com', version: 'v1', namespace: 'default', plural: 'crontabs' };
    const informer = k8s.makeInformer(
      kc,
      '/apis/stable.example.com/v1/namespaces/default/crontabs',
      () => api.listNamespacedCustomObject(g) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>,
    );
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
    informer.on('error', () => {
      /* restarts itself */
    });
    await informer.start();
    try {
      await eventually(() => expect(seen).toContain('add:my-new-cron-object'));
      await api.createNamespacedCustomObject({
        ...g,
        body: {
          apiVersion: 'stable.example.com/v1',
          kind: 'CronTab',
          metadata: { name: 'from-node' },
          spec: { cronSpec: '* * * * *' },
        },
      });
      await api.deleteNamespacedCustomObject({ ...g, name: 'from-node' });
      await eventually(() =>
        expect(seen.filter((e) => e.includes('from-node'))).toEqual(['add:from-node', 'delete:from-node']),
      );
    } finally {
      await informer.stop();
    }
  });

  it('the garbage collector follows ownerReferences to and from custom resources (foreground deletion too)', async () => {
    k(s, ['apply', '-f', '-'], CT.replace('my-new-cron-object', 'owner'));
    const uid = JSON.parse(k(s, ['get', 'ct', 'owner', '-o', 'json'])).metadata.uid;
    const ref = `ownerReferences: [{apiVersion: stable.example.com/v1, kind: CronTab, name: owner, uid: ${uid}, blockOwnerDeletion: true}]`;
    k(s, ['apply', '-f', '-'], `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owned, ${ref}}\n`);
    k(s, ['apply', '-f', '-'], CT.replace('name: my-new-cron-object', `name: owned-ct\n  ${ref}`));
    k(s, ['delete', 'ct', 'owner', '--cascade=foreground', '--timeout=30s']);
    await eventually(() => {
      expect(kubectl(s, ['get', 'cm', 'owned']).code).not.toBe(0);
      expect(kubectl(s, ['get', 'ct', 'owned-ct']).code).not.toBe(0);
    }, 30_000);
  });

  it('a cluster-scoped CRD, and a second CRD whose kind is taken is not accepted', async () => {
    const cluster = CRD.replaceAll('crontabs', 'backups')
      .replace('singular: crontab', 'singular: backup')
      .replace('kind: CronTab', 'kind: Backup')
      .replace('shortNames: [ct]', 'shortNames: [bk]')
      .replace('scope: Namespaced', 'scope: Cluster');
    k(s, ['apply', '-f', '-'], cluster);
    k(s, ['wait', '--for', 'condition=established', '--timeout=30s', 'crd/backups.stable.example.com']);
    expect(
      k(s, ['apply', '-f', '-'], CT.replace('CronTab', 'Backup').replace('my-new-cron-object', 'nightly')),
    ).toContain('backup.stable.example.com/nightly created');
    expect(JSON.parse(k(s, ['get', 'bk', 'nightly', '-o', 'json'])).metadata.namespace).toBeUndefined();
    const clash = CRD.replaceAll('crontabs', 'crontables')
      .replace('singular: crontab', 'singular: crontable')
      .replace('shortNames: [ct]', 'shortNames: [ctb]');
    k(s, ['apply', '-f', '-'], clash);
    await eventually(() => {
      const c = JSON.parse(k(s, ['get', 'crd', 'crontables.stable.example.com', '-o', 'json']));
      // as upstream, the last conflict found names the condition (kind, then listKind)
      expect(c.status.conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            type: 'NamesAccepted',
            status: 'False',
            reason: 'ListKindConflict',
            message: '"CronTabList" is already in use',
          }),
        ]),
      );
    });
    k(s, ['delete', 'crd', 'crontables.stable.example.com', 'backups.stable.example.com']);
  });

  it('deleting the CRD deletes its objects in every namespace, then the API group goes', async () => {
    k(s, ['create', 'namespace', 'other']);
    k(s, ['apply', '-n', 'other', '-f', '-'], CT);
    expect(k(s, ['delete', 'crd', 'crontabs.stable.example.com'])).toContain(
      'customresourcedefinition.apiextensions.k8s.io "crontabs.stable.example.com" deleted',
    );
    await eventually(async () => {
      const apis = await httpsRequest(s, 'GET', '/apis');
      expect(apis.body).not.toContain('stable.example.com');
    });
    expect(kubectl(s, ['get', 'crd', 'crontabs.stable.example.com']).code).not.toBe(0);
    const gone = await httpsRequest(s, 'GET', '/apis/stable.example.com/v1/namespaces/other/crontabs');
    expect(gone.status).toBe(404);
    // a new CRD of the same name starts empty: the objects were deleted, not hidden
    k(s, ['apply', '-f', '-'], CRD);
    k(s, ['wait', '--for', 'condition=established', '--timeout=30s', 'crd/crontabs.stable.example.com']);
    await eventually(() => expect(k(s, ['get', 'ct', '-A', '-o', 'name'])).toBe(''));
  });
});
