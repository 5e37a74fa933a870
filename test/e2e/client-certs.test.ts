// Users by client certificate with the real kubectl and openssl against a real
// skiff-server: a new person's key and CSR made with openssl, the CSR object created with
// kubectl, approved with `kubectl certificate approve`, the issued certificate
// authenticating as that user with its groups (auth whoami), a RoleBinding to the group
// granting access (403 with Kubernetes' message before), `view` not reading Secrets;
// deny, the signer's Failed condition, approval without `approve` on the signer,
// expired and foreign certificates (401), and `skiff-server kubeconfig --user`.
import { execFileSync, spawnSync } from 'node:child_process';
import { request as httpsRaw } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../controlplane/security/pki.js'; // the Reflect polyfill @peculiar/x509 needs
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  httpsRequest,
  k,
  kubectl,
  kubectlAvailable,
  SERVER_BIN,
  startServer,
  type ServerProc,
} from './harness.js';
import { issueCertificate, loadClientCa, newKeyPair } from '../../controlplane/security/pki.js';

const haveKubectl = kubectlAvailable();
if (process.env.SKIFF_REQUIRE_KUBECTL && !haveKubectl) throw new Error('kubectl is required');
const SIGNER = 'kubernetes.io/kube-apiserver-client';

describe.skipIf(!haveKubectl)('client certificates and the CSR API with kubectl', () => {
  let s: ServerProc;
  let dir: string;

  const openssl = (args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  /** a key and a CSR for CN=user, O=groups, made with openssl */
  const keyAndCsr = (user: string, groups: string[]) => {
    const subj = `/CN=${user}${groups.map((g) => `/O=${g}`).join('')}`;
    openssl([
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${user}.key`,
      '-subj',
      subj,
      '-out',
      `${user}.csr`,
    ]);
    return readFileSync(join(dir, `${user}.csr`));
  };
  const csrManifest = (
    name: string,
    request: Buffer,
    o: { usages?: string[]; expirationSeconds?: number; signerName?: string } = {},
  ) =>
    JSON.stringify({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: {
        request: request.toString('base64'),
        signerName: o.signerName ?? SIGNER,
        usages: o.usages ?? ['client auth'],
        ...(o.expirationSeconds ? { expirationSeconds: o.expirationSeconds } : {}),
        // what a client claims is ignored: the server records the requesting user
        username: 'mallory',
        groups: ['system:masters'],
      },
    });
  /** a kubeconfig using a certificate and key (files in dir) */
  const certKubeconfig = (name: string, certFile: string, keyFile: string): ServerProc => {
    const path = join(dir, `${name}.kubeconfig`);
    writeFileSync(
      path,
      `apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: ${s.url}
    certificate-authority: ${join(s.dataDir, 'tls', 'server-ca.crt')}
contexts:
- name: ${name}
  context: {cluster: skiff, user: ${name}}
current-context: ${name}
users:
- name: ${name}
  user:
    client-certificate: ${join(dir, certFile)}
    client-key: ${join(dir, keyFile)}
`,
    );
    return { ...s, kubeconfig: path };
  };
  const issued = async (name: string): Promise<string> =>
    eventually(() => {
      const b64 = k(s, ['get', 'csr', name, '-o', 'jsonpath={.status.certificate}']).trim();
      if (!b64) throw new Error(`${name}: no certificate yet`);
      return Buffer.from(b64, 'base64').toString();
    }, 20_000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-certs-'));
    s = await startServer(['--cluster-signing-duration', '48h']);
    k(s, ['create', 'namespace', 'demo']);
    k(s, ['create', 'secret', 'generic', 'db', '--from-literal=password=hunter2', '-n', 'demo']);
  }, 60_000);
  afterAll(async () => {
    await s?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the client CA is made at first start, its key private', () => {
    const st = spawnSync('stat', ['-c', '%a', join(s.dataDir, 'tls', 'client-ca.key')], { encoding: 'utf8' });
    expect(st.stdout.trim()).toBe('600');
    expect(readFileSync(join(s.dataDir, 'tls', 'client-ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  it('a new person: openssl CSR, kubectl create, certificate approve, the certificate authenticates with its groups', async () => {
    const csr = keyAndCsr('jane', ['devs', 'qa']);
    expect(k(s, ['create', '-f', '-'], csrManifest('jane', csr, { expirationSeconds: 86400 }))).toContain(
      'certificatesigningrequest.certificates.k8s.io/jane created',
    );
    const table = k(s, ['get', 'csr']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION$/);
    expect(table).toMatch(/^jane\s+\S+\s+kubernetes\.io\/kube-apiserver-client\s+admin\s+24h\s+Pending$/m);
    // the requestor is who created it, not what the client wrote
    expect(k(s, ['get', 'csr', 'jane', '-o', 'jsonpath={.spec.username} {.spec.groups}'])).toBe(
      'admin ["system:masters","system:authenticated"]',
    );

    expect(k(s, ['certificate', 'approve', 'jane'])).toContain(
      'certificatesigningrequest.certificates.k8s.io/jane approved',
    );
    const pem = await issued('jane');
    expect(k(s, ['get', 'csr', 'jane'])).toMatch(/^jane\s+.*\s+Approved,Issued$/m);
    const cert = new x509.X509Certificate(pem);
    expect(cert.subject).toBe('CN=jane, O=devs, O=qa');
    // 24h requested (under --cluster-signing-duration 48h): 5 minutes backdated at both ends
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(24 * 3600_000);
    expect(Math.abs(cert.notBefore.getTime() - (Date.now() - 5 * 60_000))).toBeLessThan(60_000);
    writeFileSync(join(dir, 'jane.crt'), pem);

    const jane = certKubeconfig('jane', 'jane.crt', 'jane.key');
    const who = k(jane, ['auth', 'whoami']);
    expect(who).toMatch(/Username\s+jane/);
    expect(who).toMatch(/Groups\s+\[devs qa system:authenticated\]/);
    // the credential id of kube-apiserver 1.32: the certificate's SHA-256 fingerprint
    const fp = openssl(['x509', '-in', 'jane.crt', '-noout', '-fingerprint', '-sha256'])
      .trim()
      .split('=')[1]!
      .replace(/:/g, '')
      .toLowerCase();
    expect(who).toMatch(new RegExp(`authentication\\.kubernetes\\.io/credential-id\\s+\\[X509SHA256=${fp}\\]`));
    // x509 comes first in the chain, as in kube-apiserver: a token on the same request does not change who it is
    expect(k(jane, ['auth', 'whoami', '--token', s.token])).toMatch(/Username\s+jane/);
  });

  it('the certificate authenticates WebSocket upgrades (exec) too', async () => {
    const exec = (withCert: boolean) =>
      new Promise<number>((res, rej) => {
        const req = httpsRaw({
          host: '127.0.0.1',
          port: s.port,
          path: '/api/v1/namespaces/demo/pods/nopod/exec?command=ls&stdout=true',
          ca: s.caPem,
          servername: 'localhost',
          ...(withCert ? { cert: readFileSync(join(dir, 'jane.crt')), key: readFileSync(join(dir, 'jane.key')) } : {}),
          headers: {
            Connection: 'Upgrade',
            Upgrade: 'websocket',
            'Sec-WebSocket-Version': '13',
            'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
            'Sec-WebSocket-Protocol': 'v5.channel.k8s.io',
          },
        });
        req.on('response', (r) => {
          r.resume();
          res(r.statusCode ?? 0);
        });
        req.on('upgrade', (r, socket) => {
          socket.destroy();
          res(r.statusCode ?? 101);
        });
        req.on('error', rej);
        req.end();
      });
    expect(await exec(false)).toBe(401);
    // authenticated as jane, then judged by RBAC: no pods/exec for her
    expect(await exec(true)).toBe(403);
  });

  it('a RoleBinding to the group grants access; without it 403; view cannot read Secrets', async () => {
    const jane = certKubeconfig('jane', 'jane.crt', 'jane.key');
    const no = kubectl(jane, ['get', 'pods', '-n', 'demo']);
    expect(no.code).not.toBe(0);
    expect(no.stderr).toContain(
      'Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "demo"',
    );
    expect(k(s, ['create', 'rolebinding', 'devs-view', '--clusterrole=view', '--group=devs', '-n', 'demo'])).toContain(
      'rolebinding.rbac.authorization.k8s.io/devs-view created',
    );
    await eventually(() => {
      if (kubectl(jane, ['get', 'pods', '-n', 'demo']).code !== 0) throw new Error('not yet');
      return true;
    });
    expect(k(jane, ['auth', 'can-i', 'list', 'configmaps', '-n', 'demo']).trim()).toBe('yes');
    const secrets = kubectl(jane, ['get', 'secrets', '-n', 'demo']);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain(
      'secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace "demo"',
    );
    expect(kubectl(jane, ['get', 'pods', '-n', 'default']).stderr).toContain(
      'User "jane" cannot list resource "pods" in API group "" in the namespace "default"',
    );
  });

  it("deny: the request stays without a certificate; approving it afterwards is refused (kubectl, then the API's validation)", async () => {
    const csr = keyAndCsr('mallory', ['devs']);
    k(s, ['create', '-f', '-'], csrManifest('mallory', csr));
    expect(k(s, ['certificate', 'deny', 'mallory'])).toContain(
      'certificatesigningrequest.certificates.k8s.io/mallory denied',
    );
    expect(k(s, ['get', 'csr', 'mallory'])).toMatch(
      /^mallory\s+\S+\s+kubernetes\.io\/kube-apiserver-client\s+admin\s+<none>\s+Denied$/m,
    );
    const again = kubectl(s, ['certificate', 'approve', 'mallory']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('certificate signing request "mallory" is already Denied');
    // past kubectl: PUT .../approval with an Approved condition next to the Denied one
    const cur = (await httpsRequest(s, 'GET', '/apis/certificates.k8s.io/v1/certificatesigningrequests/mallory')).json;
    cur.status.conditions.push({ type: 'Approved', status: 'True', reason: 'Sneaky', message: '' });
    const put = await httpsRequest(
      s,
      'PUT',
      '/apis/certificates.k8s.io/v1/certificatesigningrequests/mallory/approval',
      cur,
    );
    expect(put.status).toBe(422);
    expect(put.json.message).toBe(
      'CertificateSigningRequest.certificates.k8s.io "mallory" is invalid: status.conditions[1].type: Invalid value: "Approved": Approved and Denied conditions are mutually exclusive',
    );
    expect(k(s, ['get', 'csr', 'mallory', '-o', 'jsonpath={.status.certificate}'])).toBe('');
  });

  it('the signer fails a request not valid for kube-apiserver-client (server auth)', async () => {
    const csr = keyAndCsr('web', []);
    k(s, ['create', '-f', '-'], csrManifest('web', csr, { usages: ['digital signature', 'server auth'] }));
    k(s, ['certificate', 'approve', 'web']);
    await eventually(() => {
      if (!/Approved,Failed/.test(k(s, ['get', 'csr', 'web']))) throw new Error('not failed yet');
      return true;
    }, 20_000);
    expect(
      k(s, [
        'get',
        'csr',
        'web',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Failed")].reason}: {.status.conditions[?(@.type=="Failed")].message}',
      ]),
    ).toBe('SignerValidationFailure: invalid usage for client certificate: server auth');
    expect(k(s, ['get', 'csr', 'web', '-o', 'jsonpath={.status.certificate}'])).toBe('');
  });

  it('validation: PEM, signerName, expirationSeconds, usages', () => {
    const csr = keyAndCsr('val', []);
    const short = kubectl(s, ['create', '-f', '-'], { input: csrManifest('short', csr, { expirationSeconds: 300 }) });
    expect(short.stderr).toContain(
      'The CertificateSigningRequest "short" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 600 seconds (10 minutes)',
    );
    const notPem = kubectl(s, ['create', '-f', '-'], { input: csrManifest('notpem', Buffer.from('hello')) });
    expect(notPem.stderr).toContain(
      'spec.request: Invalid value: []byte{0x68, 0x65, 0x6c, 0x6c, 0x6f}: PEM block type must be CERTIFICATE REQUEST',
    );
    const noSigner = kubectl(s, ['create', '-f', '-'], {
      input: csrManifest('nosigner', csr, { signerName: 'nodomain', usages: ['client auth', 'client auth'] }),
    });
    expect(noSigner.stderr).toContain(
      'spec.signerName: Invalid value: "nodomain": must be a fully qualified domain and path of the form \'example.com/signer-name\'',
    );
    expect(noSigner.stderr).toContain('spec.usages[1]: Duplicate value: "client auth"');
  });

  it('approving needs approve on the signer (CertificateApproval admission)', () => {
    const csr = keyAndCsr('carol', ['devs']);
    k(s, ['create', '-f', '-'], csrManifest('carol', csr));
    k(s, [
      'create',
      'clusterrole',
      'csr-approval',
      '--verb=get,list,update',
      '--resource=certificatesigningrequests,certificatesigningrequests/approval',
    ]);
    k(s, ['create', 'clusterrolebinding', 'bob-csr-approval', '--clusterrole=csr-approval', '--user=bob']);
    const refused = kubectl(s, ['certificate', 'approve', 'carol', '--as', 'bob']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      `certificatesigningrequests.certificates.k8s.io "carol" is forbidden: user not permitted to approve requests with signerName "${SIGNER}"`,
    );
    k(s, [
      'create',
      'clusterrolebinding',
      'bob-approver',
      '--clusterrole=system:certificates.k8s.io:kube-apiserver-client-approver',
      '--user=bob',
    ]);
    expect(k(s, ['certificate', 'approve', 'carol', '--as', 'bob'])).toContain(
      'certificatesigningrequest.certificates.k8s.io/carol approved',
    );
  });

  it('setting the certificate through /status needs sign on the signer (CertificateSigning admission)', async () => {
    k(s, ['create', '-f', '-'], csrManifest('dave', keyAndCsr('dave', [])));
    k(s, [
      'create',
      'clusterrole',
      'csr-status',
      '--verb=get,update',
      '--resource=certificatesigningrequests,certificatesigningrequests/status',
    ]);
    k(s, ['create', 'clusterrolebinding', 'dave-csr-status', '--clusterrole=csr-status', '--user=dave']);
    const asDave = { 'Impersonate-User': 'dave' };
    const path = '/apis/certificates.k8s.io/v1/certificatesigningrequests/dave';
    const cur = (await httpsRequest(s, 'GET', path)).json;
    cur.status = { certificate: Buffer.from(readFileSync(join(s.dataDir, 'tls', 'client-ca.crt'))).toString('base64') };
    const refused = await httpsRequest(s, 'PUT', `${path}/status`, cur, asDave);
    expect(refused.status).toBe(403);
    expect(refused.json.message).toBe(
      `certificatesigningrequests.certificates.k8s.io "dave" is forbidden: user not permitted to sign requests with signerName "${SIGNER}"`,
    );
    k(
      s,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'client-signer' },
        rules: [
          { apiGroups: ['certificates.k8s.io'], resources: ['signers'], resourceNames: [SIGNER], verbs: ['sign'] },
        ],
      }),
    );
    k(s, ['create', 'clusterrolebinding', 'dave-signer', '--clusterrole=client-signer', '--user=dave']);
    await eventually(async () => {
      const r = await httpsRequest(s, 'PUT', `${path}/status`, cur, asDave);
      if (r.status !== 200) throw new Error(`${r.status} ${r.body}`);
    });
    expect(k(s, ['get', 'csr', 'dave'])).toMatch(/^dave\s+.*\s+Pending,Issued$/m);
  });

  it('expired certificates and certificates of another CA authenticate nobody (401)', async () => {
    // expired, yet signed by the cluster's client CA
    const ca = (await loadClientCa(s.dataDir))!;
    const key = await newKeyPair();
    const old = await issueCertificate(ca, {
      subject: 'CN=ghost, O=devs',
      publicKey: key.publicKey,
      notBefore: new Date(Date.now() - 2 * 86400_000),
      notAfter: new Date(Date.now() - 86400_000),
      keyUsage: 1,
      extKeyUsages: ['1.3.6.1.5.5.7.3.2'],
    });
    writeFileSync(join(dir, 'ghost.crt'), old);
    writeFileSync(join(dir, 'ghost.key'), key.keyPem);
    const ghost = kubectl(certKubeconfig('ghost', 'ghost.crt', 'ghost.key'), ['get', 'pods', '-n', 'demo']);
    expect(ghost.code).not.toBe(0);
    expect(ghost.stderr).toContain('error: You must be logged in to the server (Unauthorized)');
    // a CA of one's own, made with openssl
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'evil-ca.key',
      '-out',
      'evil-ca.crt',
      '-subj',
      '/CN=evil-ca',
      '-days',
      '1',
    ]);
    keyAndCsr('eve', ['system:masters']);
    openssl([
      'x509',
      '-req',
      '-in',
      'eve.csr',
      '-CA',
      'evil-ca.crt',
      '-CAkey',
      'evil-ca.key',
      '-CAcreateserial',
      '-out',
      'eve.crt',
      '-days',
      '1',
    ]);
    const eve = kubectl(certKubeconfig('eve', 'eve.crt', 'eve.key'), ['get', 'secrets', '-n', 'demo']);
    expect(eve.code).not.toBe(0);
    expect(eve.stderr).toContain('error: You must be logged in to the server (Unauthorized)');
  });

  it('skiff-server kubeconfig --user prints a kubeconfig kubectl uses as that user', async () => {
    const out = execFileSync(process.execPath, [
      SERVER_BIN,
      'kubeconfig',
      '--user',
      'sam',
      '--group',
      'devs',
      '--group',
      'oncall',
      '--expiry',
      '720h',
      '--data-dir',
      s.dataDir,
      '--server',
      s.url,
    ]).toString();
    const path = join(dir, 'sam.kubeconfig');
    writeFileSync(path, out);
    const sam = { ...s, kubeconfig: path };
    const who = k(sam, ['auth', 'whoami']);
    expect(who).toMatch(/Username\s+sam/);
    expect(who).toMatch(/Groups\s+\[devs oncall system:authenticated\]/);
    // the devs binding from above applies to sam too
    await eventually(() => {
      if (kubectl(sam, ['get', 'pods', '-n', 'demo']).code !== 0) throw new Error('not yet');
      return true;
    });
    expect(kubectl(sam, ['get', 'secrets', '-n', 'demo']).stderr).toContain(
      'User "sam" cannot list resource "secrets"',
    );
    const certB64 = /client-certificate-data: (\S+)/.exec(out)![1]!;
    const cert = new x509.X509Certificate(Buffer.from(certB64, 'base64').toString());
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(720 * 3600_000);
    // without a client CA in the data dir it says so
    const bad = spawnSync(process.execPath, [SERVER_BIN, 'kubeconfig', '--user', 'x', '--data-dir', dir], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('no client CA');
  });
});
