// In-process writers under their own names in the audit log: a controller's, the
// scheduler's and a node's writes through actingAs() views are logged (verb, URI, objectRef,
// code, user agent), failures with their Status, reads never; the policy decides the level
// (None drops them); without an audit log the storage itself is used.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { createAuditor, type Auditor } from '../../controlplane/audit/auditor.js';
import {
  controllerUser,
  inProcessAuditing,
  nodeUser,
  SCHEDULER_USER,
  writeUri,
} from '../../controlplane/audit/in-process.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findByKind } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

const cm = findByKind('', 'ConfigMap')!;
const node = findByKind('', 'Node')!;
const deploy = findByKind('apps', 'Deployment')!;

let dir: string;
let store: SqliteStore;
let storage: ApiStorage;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-audit-inproc-'));
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  await seedNamespaces(storage);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function events(auditor: Auditor, log: string): Promise<Record<string, any>[]> {
  await auditor.close();
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
}

describe('in-process audit', () => {
  it("logs a controller's writes under its ServiceAccount name, and no reads", async () => {
    const log = join(dir, 'audit.log');
    const auditor = createAuditor({ auditLogPath: log })!;
    const rs = inProcessAuditing(auditor)(storage, controllerUser('replicaset-controller'), 'replicaset-controller');
    await rs.create(cm, 'default', { metadata: { name: 'a' }, data: { k: 'v' } });
    await rs.guaranteedUpdate(cm, 'default', 'a', {}, (cur) => ({ ...cur, data: { k: 'w' } }));
    await rs.patch(cm, 'default', 'a', 'merge', { data: { k: 'x' } });
    await rs.get(cm, 'default', 'a');
    await rs.list(cm, 'default');
    await expect(rs.create(cm, 'default', { metadata: { name: 'a' } })).rejects.toThrow(/already exists/);
    await rs.delete(cm, 'default', 'a');
    const evs = await events(auditor, log);
    expect(evs.map((e) => [e.verb, e.responseStatus.code])).toEqual([
      ['create', 201],
      ['update', 200],
      ['patch', 200],
      ['create', 409],
      ['delete', 200],
    ]);
    for (const e of evs) {
      expect(e).toMatchObject({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level: 'Metadata',
        stage: 'ResponseComplete',
        user: {
          username: 'system:serviceaccount:kube-system:replicaset-controller',
          groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
        },
        userAgent: 'skiff-server/replicaset-controller',
        objectRef: { resource: 'configmaps', namespace: 'default', name: 'a', apiVersion: 'v1' },
        annotations: { 'authorization.k8s.io/decision': 'allow' },
      });
    }
    expect(evs[0]!.requestURI).toBe('/api/v1/namespaces/default/configmaps/a');
    expect(evs[3]!.responseStatus).toMatchObject({ reason: 'AlreadyExists', code: 409 });
  });

  it('the scheduler and a node under their names; the policy decides the level', async () => {
    const log = join(dir, 'audit.log');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: None
    users: ["system:kube-scheduler"]
  - level: Request
    userGroups: ["system:nodes"]
  - level: Metadata
`,
    );
    const auditor = createAuditor({ auditLogPath: log, auditPolicyFile: policy })!;
    const actAs = inProcessAuditing(auditor);
    await actAs(storage, SCHEDULER_USER, 'kube-scheduler').create(cm, 'default', { metadata: { name: 's' } });
    await actAs(storage, nodeUser('n1'), 'kubelet').create(node, undefined, { metadata: { name: 'n1' } });
    const evs = await events(auditor, log);
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({
      level: 'Request',
      verb: 'create',
      user: { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] },
      requestURI: '/api/v1/nodes/n1',
      objectRef: { resource: 'nodes', name: 'n1' },
    });
    expect(evs[0]!.requestObject).toMatchObject({ metadata: { name: 'n1' } });
  });

  it('without an audit log the storage itself is used', () => {
    expect(inProcessAuditing(undefined)(storage, SCHEDULER_USER, 'kube-scheduler')).toBe(storage);
  });

  it('request URIs as the HTTP API would have them', () => {
    expect(writeUri(deploy, 'ns', 'web', 'scale')).toBe('/apis/apps/v1/namespaces/ns/deployments/web/scale');
    expect(writeUri(node, undefined, 'n1', 'status')).toBe('/api/v1/nodes/n1/status');
    expect(writeUri(cm, 'ns', undefined)).toBe('/api/v1/namespaces/ns/configmaps');
  });
});
