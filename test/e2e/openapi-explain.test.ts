// OpenAPI through the real kubectl 1.32, server only: `kubectl explain` (v3 documents) of
// a built-in kind, a nested field, --recursive and a CRD's kind; `kubectl create -f` of a
// `kind: List` with default validation (kubectl validates the items client-side against
// /openapi/v2 in gnostic protobuf); `kubectl apply --validate=strict` reporting an
// unknown field; the endpoints' caching headers (ETag, 304, immutable hashed URLs, 301
// for a stale hash, 406 for an unknown media type).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, httpsRequest, k, kubectl, kubectlAvailable, startServer, type ServerProc } from './harness.js';

const haveKubectl = kubectlAvailable();

const CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A CronTab runs a command on a schedule.
        properties:
          spec:
            type: object
            description: The desired schedule.
            required: [cronSpec]
            properties:
              cronSpec: {type: string, description: The cron expression.}
              replicas: {type: integer, minimum: 1}
`;

const LIST = `
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: listed-cm, namespace: default}
  data: {a: "1"}
- apiVersion: v1
  kind: Service
  metadata: {name: listed-svc, namespace: default}
  spec:
    selector: {app: x}
    ports: [{port: 80, targetPort: 8080}]
`;

const deployment = (extra: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1${extra}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
`;

describe.skipIf(!haveKubectl)('OpenAPI with kubectl explain, create -f List and apply --validate=strict', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
  }, 60_000);
  afterAll(async () => {
    await s?.cleanup();
  });

  it('explains built-in kinds, fields and --recursive', () => {
    const pods = k(s, ['explain', 'pods']);
    expect(pods).toMatch(/^KIND:\s+Pod\nVERSION:\s+v1\n/);
    expect(pods).toContain('Pod is a collection of containers that can run on a host.');
    expect(pods).toMatch(/FIELDS:\n\s+apiVersion\t<string>/);
    expect(pods).toMatch(/\n\s+spec\t<PodSpec>\n/);
    expect(pods).toMatch(/\n\s+metadata\t<ObjectMeta>\n/);

    const strategy = k(s, ['explain', 'deployment.spec.strategy']);
    expect(strategy).toMatch(/GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1/);
    expect(strategy).toContain('FIELD: strategy <DeploymentStrategy>');
    expect(strategy).toContain('DeploymentStrategy describes how to replace existing pods with new ones.');
    expect(strategy).toMatch(/rollingUpdate\t<RollingUpdateDeployment>/);
    expect(strategy).toMatch(/type\t<string>\n\s+Type of deployment. Can be "Recreate" or "RollingUpdate"/);

    const recursive = k(s, ['explain', 'pods', '--recursive']);
    expect(recursive).toMatch(/\n\s+containers\t<\[\]Container> -required-\n/);
    expect(recursive).toMatch(/\n\s+maxSkew\t<integer> -required-\n/);
    expect(recursive).toMatch(/\n\s+managedFields\t<\[\]ManagedFieldsEntry>\n/);
    expect(recursive.split('\n').length).toBeGreaterThan(500);
  }, 60_000);

  it("explains a CRD's kind from its schema", async () => {
    expect(k(s, ['apply', '-f', '-'], CRD)).toContain(
      'customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created',
    );
    k(s, ['wait', '--for', 'condition=established', '--timeout=60s', 'crd/crontabs.stable.example.com']);
    const out = await eventually(
      () => {
        const r = kubectl(s, ['explain', 'crontabs']);
        if (r.code !== 0) throw new Error(r.stderr);
        return r.stdout;
      },
      30_000,
      500,
    );
    expect(out).toMatch(/GROUP:\s+stable\.example\.com\nKIND:\s+CronTab\nVERSION:\s+v1/);
    expect(out).toContain('A CronTab runs a command on a schedule.');
    expect(out).toMatch(/spec\t<Object>\n\s+The desired schedule\./);
    const spec = k(s, ['explain', 'crontab.spec']);
    expect(spec).toMatch(/cronSpec\t<string> -required-\n\s+The cron expression\./);
    expect(spec).toMatch(/replicas\t<integer>/);
  }, 90_000);

  it('creates both objects of a kind: List with default validation', () => {
    const out = k(s, ['create', '-f', '-'], LIST);
    expect(out).toContain('configmap/listed-cm created');
    expect(out).toContain('service/listed-svc created');
    expect(k(s, ['get', 'configmap', 'listed-cm', '-o', 'jsonpath={.data.a}'])).toBe('1');
    expect(k(s, ['get', 'service', 'listed-svc', '-o', 'jsonpath={.spec.ports[0].targetPort}'])).toBe('8080');
    // an item with an unknown field is caught by kubectl's client-side validation (OpenAPI v2)
    const bad = kubectl(s, ['create', '-f', '-'], {
      input: LIST.replace('data: {a: "1"}', 'data: {a: "1"}\n  bogus: 1').replace(/listed-/g, 'bad-'),
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown field "bogus"');
  }, 60_000);

  it('reports an unknown field with apply --validate=strict', () => {
    expect(k(s, ['apply', '--validate=strict', '-f', '-'], deployment(''))).toContain('deployment.apps/web created');
    const r = kubectl(s, ['apply', '--validate=strict', '-f', '-'], { input: deployment('\n  bogus: 2') });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "spec.bogus"');
  }, 60_000);

  it('serves the documents with ETags, 304s and immutable hashed URLs', async () => {
    const root = await httpsRequest(s, 'GET', '/openapi/v3');
    expect(root.status).toBe(200);
    const url = root.json.paths['apis/apps/v1'].serverRelativeURL as string;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    const doc = await httpsRequest(s, 'GET', url);
    expect(doc.status).toBe(200);
    expect(doc.headers['cache-control']).toBe('public, immutable');
    expect(doc.headers.etag).toBe(`"${url.split('hash=')[1]}"`);
    expect(doc.json.components.schemas['io.k8s.api.apps.v1.Deployment']['x-kubernetes-group-version-kind']).toEqual([
      { group: 'apps', kind: 'Deployment', version: 'v1' },
    ]);
    const again = await httpsRequest(s, 'GET', url, undefined, { 'If-None-Match': doc.headers.etag as string });
    expect(again.status).toBe(304);
    const stale = await httpsRequest(s, 'GET', '/openapi/v3/apis/apps/v1?hash=ABC');
    expect(stale.status).toBe(301);
    expect(stale.headers.location).toBe(url);

    const pb = await httpsRequest(s, 'GET', '/openapi/v2', undefined, {
      Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
    });
    expect(pb.status).toBe(200);
    expect(pb.headers['content-type']).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    const json = await httpsRequest(s, 'GET', '/openapi/v2', undefined, { Accept: 'application/json' });
    expect(json.json.swagger).toBe('2.0');
    expect(json.json.definitions['io.k8s.api.core.v1.Pod']['x-kubernetes-group-version-kind']).toEqual([
      { group: '', kind: 'Pod', version: 'v1' },
    ]);
    const v2again = await httpsRequest(s, 'GET', '/openapi/v2', undefined, {
      Accept: 'application/json',
      'If-None-Match': json.headers.etag as string,
    });
    expect(v2again.status).toBe(304);
    expect((await httpsRequest(s, 'GET', '/openapi/v2', undefined, { Accept: 'text/html' })).status).toBe(406);
  }, 60_000);
});
