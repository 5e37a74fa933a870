// RBAC with the real kubectl against a real skiff-server: a second identity from
// --token-auth-file is refused until `kubectl create role` / `create rolebinding` (protobuf
// bodies) grant it something, then may do exactly that; `auth can-i`, `can-i --list`,
// `auth whoami`, `--as`, escalation and the bootstrap roles as kubectl shows them.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, k, kubectl, kubectlAvailable, startServer, type ServerProc } from './harness.js';

const haveKubectl = kubectlAvailable();
const ALICE = 'alice-e2e-token';

describe.skipIf(!haveKubectl)('RBAC with kubectl', () => {
  let s: ServerProc;
  let dir: string;
  const alice = (args: string[]) => kubectl(s, ['--token', ALICE, ...args]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-rbac-'));
    const file = join(dir, 'tokens.csv');
    writeFileSync(file, `${ALICE},alice,alice-uid,"dev,qa"\n`);
    s = await startServer(['--token-auth-file', file]);
    k(s, ['create', 'namespace', 'demo']);
  });
  afterAll(async () => {
    await s?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bootstrap roles and bindings are there', () => {
    const roles = k(s, ['get', 'clusterroles']);
    expect(roles.split('\n')[0]).toMatch(/^NAME\s+CREATED AT$/);
    for (const r of [
      'cluster-admin',
      'admin',
      'edit',
      'view',
      'system:basic-user',
      'system:discovery',
      'system:public-info-viewer',
      'system:node',
    ])
      expect(roles).toMatch(new RegExp(`^${r}\\s`, 'm'));
    expect(k(s, ['get', 'clusterrolebinding', 'cluster-admin'])).toMatch(/cluster-admin\s+ClusterRole\/cluster-admin/);
  });

  it("a user without bindings is refused with Kubernetes' message", () => {
    const r = alice(['get', 'pods', '-n', 'demo']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "demo"',
    );
    expect(alice(['auth', 'can-i', 'list', 'pods', '-n', 'demo']).stdout.trim()).toBe('no');
  });

  it('kubectl create role / rolebinding grant exactly the role, in its namespace', async () => {
    expect(k(s, ['create', 'role', 'pod-reader', '--verb=get,list,watch', '--resource=pods', '-n', 'demo'])).toContain(
      'role.rbac.authorization.k8s.io/pod-reader created',
    );
    expect(k(s, ['create', 'rolebinding', 'alice-pods', '--role=pod-reader', '--user=alice', '-n', 'demo'])).toContain(
      'rolebinding.rbac.authorization.k8s.io/alice-pods created',
    );
    expect(k(s, ['get', 'rolebindings', '-n', 'demo', '-o', 'wide'])).toMatch(
      /alice-pods\s+Role\/pod-reader\s+\S+\s+alice/,
    );
    await eventually(() => {
      if (alice(['get', 'pods', '-n', 'demo']).code !== 0) throw new Error('not yet');
      return true;
    });
    expect(alice(['auth', 'can-i', 'list', 'pods', '-n', 'demo']).stdout.trim()).toBe('yes');
    const no = alice(['auth', 'can-i', 'delete', 'pods', '-n', 'demo']);
    expect(no.stdout.trim()).toBe('no');
    expect(no.code).toBe(1);
    expect(alice(['auth', 'can-i', 'list', 'pods', '-n', 'default']).stdout.trim()).toBe('no');
    expect(alice(['get', 'secrets', '-n', 'demo']).stderr).toContain(
      'secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "demo"',
    );
    const list = alice(['auth', 'can-i', '--list', '-n', 'demo']).stdout;
    expect(list).toMatch(/^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    expect(list).toMatch(/selfsubjectaccessreviews\.authorization\.k8s\.io/);
  });

  it('auth whoami for the admin token, a static token and --as', () => {
    expect(k(s, ['auth', 'whoami'])).toMatch(/Username\s+admin\n.*Groups\s+\[system:masters system:authenticated\]/s);
    const a = alice(['auth', 'whoami']).stdout;
    expect(a).toMatch(/Username\s+alice/);
    expect(a).toMatch(/UID\s+alice-uid/);
    expect(a).toMatch(/Groups\s+\[dev qa system:authenticated\]/);
    expect(k(s, ['auth', 'whoami', '--as', 'bob', '--as-group', 'ops'])).toMatch(
      /Username\s+bob\n.*Groups\s+\[ops system:authenticated\]/s,
    );
    // --as as the admin: judged as the impersonated user
    expect(kubectl(s, ['get', 'pods', '-n', 'demo', '--as', 'bob']).stderr).toContain(
      'User "bob" cannot list resource "pods"',
    );
    expect(k(s, ['auth', 'can-i', 'list', 'pods', '-n', 'demo', '--as', 'alice'])).toContain('yes');
  });

  it('a token without the impersonate verb cannot impersonate', () => {
    const r = alice(['get', 'pods', '-n', 'demo', '--as', 'admin']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'users "admin" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
  });

  it('escalation is refused: a user cannot grant what it does not hold', async () => {
    k(s, [
      'create',
      'role',
      'rbac-admin',
      '--verb=create,get,list',
      '--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io',
      '-n',
      'demo',
    ]);
    k(s, ['create', 'rolebinding', 'alice-rbac', '--role=rbac-admin', '--group=dev', '-n', 'demo']);
    await eventually(() => {
      if (alice(['auth', 'can-i', 'create', 'roles', '-n', 'demo']).stdout.trim() !== 'yes') throw new Error('not yet');
      return true;
    });
    const esc = alice(['create', 'role', 'secret-reader', '--verb=get', '--resource=secrets', '-n', 'demo']);
    expect(esc.code).not.toBe(0);
    expect(esc.stderr).toContain(
      'roles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "alice" (groups=["dev" "qa" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:',
    );
    expect(esc.stderr).toContain('{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}');
    expect(alice(['create', 'role', 'pod-getter', '--verb=get', '--resource=pods', '-n', 'demo']).code).toBe(0);
    const bind = alice(['create', 'rolebinding', 'bob-admin', '--clusterrole=admin', '--user=bob', '-n', 'demo']);
    expect(bind.code).not.toBe(0);
    expect(bind.stderr).toContain('is attempting to grant RBAC permissions not currently held');
  });

  it('the view role cannot read secrets; aggregation picks up a labelled ClusterRole', async () => {
    k(s, ['create', 'rolebinding', 'carol-view', '--clusterrole=view', '--user=carol', '-n', 'demo']);
    await eventually(() => {
      if (k(s, ['auth', 'can-i', 'list', 'configmaps', '-n', 'demo', '--as', 'carol']).trim() !== 'yes')
        throw new Error('not yet');
      return true;
    });
    expect(kubectl(s, ['auth', 'can-i', 'get', 'secrets', '-n', 'demo', '--as', 'carol']).stdout.trim()).toBe('no');
    k(
      s,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'leases-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
        rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list'] }],
      }),
    );
    await eventually(() => {
      if (k(s, ['auth', 'can-i', 'list', 'leases.coordination.k8s.io', '-n', 'demo', '--as', 'carol']).trim() !== 'yes')
        throw new Error('not yet');
      return true;
    });
  });

  it('a deleted bootstrap role is restored', async () => {
    k(s, ['delete', 'clusterrole', 'edit']);
    await eventually(() => {
      if (kubectl(s, ['get', 'clusterrole', 'edit']).code !== 0) throw new Error('not yet');
      return true;
    });
  });
});
