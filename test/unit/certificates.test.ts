// Users by client certificate, the pure parts: PKCS#10 parsing and signature checks,
// CertificateSigningRequest validation (create / update / status / approval), the
// kube-apiserver-client signer's decisions, lifetimes and usages, signing a request,
// the x509 link of the authenticator chain, signer authorization, the table, and the
// kubeconfig command's output.
import '../../controlplane/security/pki.js'; // the Reflect polyfill @peculiar/x509 needs
import * as x509 from '@peculiar/x509';
import { createHash, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { TokenAuthenticator, certificateUser } from '../../controlplane/api/auth.js';
import { checkCsrPem } from '../../controlplane/certificates/pkcs10.js';
import { validateCsr, type CsrWrite } from '../../controlplane/certificates/validation.js';
import {
  apiServerClientUsagesError,
  certificateDurationMs,
  keyUsages,
  planSigning,
  validity,
} from '../../controlplane/certificates/signer.js';
import { signRequest } from '../../controlplane/certificates/signer-controller.js';
import { isAuthorizedForSignerName } from '../../controlplane/certificates/routes.js';
import { asCsrRequester } from '../../controlplane/certificates/requester.js';
import { populateConditionTimestamps } from '../../controlplane/certificates/conditions.js';
import { cleanReason } from '../../controlplane/certificates/cleaner.js';
import { certificateSigningRequest, csrCondition } from '../../controlplane/resources/certificate-signing-request.js';
import {
  loopbackNote,
  makeUserKubeconfig,
  parseKubeconfigArgs,
} from '../../controlplane/certificates/kubeconfig-command.js';
import { ensureClientCa, type ClientCa } from '../../controlplane/security/pki.js';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

async function makeCsr(
  name: string,
  alg: typeof EC | typeof RSA = EC,
  extensions: x509.Extension[] = [],
): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: alg, extensions });
  return csr.toString('pem') + '\n';
}

let ecCsr = '';
let rsaCsr = '';
let sanCsr = '';
let dir = '';
let ca: ClientCa;
beforeAll(async () => {
  ecCsr = await makeCsr('CN=jane, O=devs, O=qa');
  rsaCsr = await makeCsr('CN=bob', RSA);
  sanCsr = await makeCsr('CN=web', EC, [
    new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'web.example' }]),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'skiff-certs-unit-'));
  ca = await ensureClientCa(dir);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
function csr(spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: 'c' },
    spec: { request: b64(ecCsr), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'], ...spec },
    status,
  };
}
const approved = { type: 'Approved', status: 'True', reason: 'KubectlApprove', message: 'ok' };
const denied = { type: 'Denied', status: 'True', reason: 'KubectlDeny', message: 'no' };
const failed = { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: 'x' };

describe('PKCS#10 requests (ParseCSR + CheckSignature)', () => {
  it('accepts ECDSA and RSA requests and refuses what is not one, or tampered', () => {
    expect(checkCsrPem(ecCsr)).toBeUndefined();
    expect(checkCsrPem(rsaCsr)).toBeUndefined();
    expect(checkCsrPem(`garbage before\n${ecCsr}garbage after`)).toBeUndefined();
    expect(checkCsrPem('hello')).toBe('PEM block type must be CERTIFICATE REQUEST');
    expect(checkCsrPem(ca.certPem)).toBe('PEM block type must be CERTIFICATE REQUEST');
    expect(checkCsrPem('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n')).toMatch(
      /^asn1: /,
    );
    // flip one byte inside the signed part (the subject): the signature no longer verifies
    const der = Buffer.from(ecCsr.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const i = der.indexOf(Buffer.from('jane'));
    der[i] = 'J'.charCodeAt(0);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(checkCsrPem(tampered)).toBe('x509: ECDSA verification failure');
  });
});

describe('CertificateSigningRequest validation', () => {
  const cases: { name: string; obj: () => KubeObject; old?: () => KubeObject; write: CsrWrite; want: string[] }[] = [
    { name: 'a valid request', obj: () => csr(), write: 'create', want: [] },
    {
      name: 'RSA with expirationSeconds 600',
      obj: () => csr({ request: b64(rsaCsr), expirationSeconds: 600 }),
      write: 'create',
      want: [],
    },
    {
      name: 'expirationSeconds under 10 minutes',
      obj: () => csr({ expirationSeconds: 599 }),
      write: 'create',
      want: [
        'spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)',
      ],
    },
    {
      name: 'not a PEM request',
      obj: () => csr({ request: b64('hi') }),
      write: 'create',
      want: ['spec.request: Invalid value: []byte{0x68, 0x69}: PEM block type must be CERTIFICATE REQUEST'],
    },
    {
      name: 'no usages',
      obj: () => csr({ usages: [] }),
      write: 'create',
      want: ['spec.usages: Required value: usages must be provided'],
    },
    {
      name: 'an unknown and a duplicate usage',
      obj: () => csr({ usages: ['client auth', 'magic', 'client auth'] }),
      write: 'create',
      want: [
        expect.stringMatching(
          /^spec\.usages\[1\]: Unsupported value: "magic": supported values: "any", "cert sign", /,
        ) as unknown as string,
        'spec.usages[2]: Duplicate value: "client auth"',
      ],
    },
    {
      name: 'no signerName',
      obj: () => csr({ signerName: '' }),
      write: 'create',
      want: ['spec.signerName: Required value: signerName must be provided'],
    },
    {
      name: 'signerName without a path',
      obj: () => csr({ signerName: 'example.com' }),
      write: 'create',
      want: [
        'spec.signerName: Invalid value: "example.com": must be a fully qualified domain and path of the form \'example.com/signer-name\'',
      ],
    },
    {
      name: 'signerName with a one-label domain',
      obj: () => csr({ signerName: 'example/x' }),
      write: 'create',
      want: [
        'spec.signerName: Invalid value: "example": should be a domain with at least two segments separated by dots',
      ],
    },
    {
      name: 'the legacy signer',
      obj: () => csr({ signerName: 'kubernetes.io/legacy-unknown' }),
      write: 'create',
      want: [
        'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via this API version',
      ],
    },
    {
      name: 'Approved and Denied together (approval)',
      obj: () => csr({}, { conditions: [denied, approved] }),
      old: () => csr({}, { conditions: [denied] }),
      write: 'approval',
      want: [
        'status.conditions[1].type: Invalid value: "Approved": Approved and Denied conditions are mutually exclusive',
      ],
    },
    {
      name: 'Approved with status False',
      obj: () => csr({}, { conditions: [{ ...approved, status: 'False' }] }),
      old: () => csr(),
      write: 'approval',
      want: ['status.conditions[0].status: Unsupported value: "False": supported values: "True"'],
    },
    {
      name: 'a duplicate condition type and an empty one',
      obj: () =>
        csr(
          {},
          {
            conditions: [
              { type: 'X', status: 'True' },
              { type: 'X', status: 'Unknown' },
              { type: '', status: 'True' },
            ],
          },
        ),
      old: () => csr(),
      write: 'status',
      want: ['status.conditions[1].type: Duplicate value: "X"', 'status.conditions[2].type: Required value'],
    },
    {
      name: 'approval through /approval',
      obj: () => csr({}, { conditions: [approved] }),
      old: () => csr(),
      write: 'approval',
      want: [],
    },
    {
      name: 'approval through /status',
      obj: () => csr({}, { conditions: [approved] }),
      old: () => csr(),
      write: 'status',
      want: ['status.conditions: Forbidden: updates may not add a condition of type "Approved"'],
    },
    {
      name: 'changing the approval through the main resource',
      obj: () => csr({}, { conditions: [{ ...approved, message: 'changed' }] }),
      old: () => csr({}, { conditions: [approved] }),
      write: 'update',
      want: ['status.conditions: Forbidden: updates may not modify a condition of type "Approved"'],
    },
    {
      name: 'removing Failed',
      obj: () => csr(),
      old: () => csr({}, { conditions: [failed] }),
      write: 'status',
      want: ['status.conditions: Forbidden: updates may not remove a condition of type "Failed"'],
    },
    {
      name: 'a certificate through /status',
      obj: () => csr({}, { certificate: b64(ca.certPem) }),
      old: () => csr(),
      write: 'status',
      want: [],
    },
    {
      name: 'a certificate through /approval',
      obj: () => csr({}, { certificate: b64(ca.certPem) }),
      old: () => csr(),
      write: 'approval',
      want: ['status.certificate: Forbidden: updates may not set certificate content'],
    },
    {
      name: 'replacing the certificate',
      obj: () => csr({}, { certificate: b64(ca.certPem + ca.certPem) }),
      old: () => csr({}, { certificate: b64(ca.certPem) }),
      write: 'status',
      want: ['status.certificate: Forbidden: updates may not modify existing certificate content'],
    },
    {
      name: 'a certificate that is a key',
      obj: () => csr({}, { certificate: b64('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n') }),
      old: () => csr(),
      write: 'status',
      want: [
        'status.certificate: Invalid value: "<certificate data>": only CERTIFICATE PEM blocks are allowed, found "PRIVATE KEY"',
      ],
    },
    {
      name: 'stored data already broken is tolerated',
      obj: () => csr({ usages: ['magic', 'magic'] }, { conditions: [approved] }),
      old: () => csr({ usages: ['magic', 'magic'] }),
      write: 'approval',
      want: [],
    },
  ];
  it.each(cases)('$name', ({ obj, old, write, want }) => {
    const got = validateCsr(obj(), old?.(), write).map((c) => `${c.field}: ${c.message}`);
    expect(got).toEqual(want);
  });

  it('create records the requesting user, whatever the client sent, and clears the status', async () => {
    const o = csr({ username: 'mallory', groups: ['system:masters'], uid: 'x' }, { conditions: [approved] });
    await asCsrRequester(
      { user: { name: 'jane', uid: 'u1', groups: ['devs', 'system:authenticated'], extra: { scope: ['a'] } } },
      async () => certificateSigningRequest.prepareForCreate!(o),
    );
    expect(o.spec).toMatchObject({
      username: 'jane',
      uid: 'u1',
      groups: ['devs', 'system:authenticated'],
      extra: { scope: ['a'] },
    });
    expect(o.status).toEqual({});
    const inProcess = csr({ username: 'mallory', groups: ['system:masters'] });
    certificateSigningRequest.prepareForCreate!(inProcess);
    expect(inProcess.spec).not.toHaveProperty('username');
    expect(inProcess.spec).not.toHaveProperty('groups');
  });

  it('an update keeps the stored spec', () => {
    const next = csr({ usages: ['server auth'] });
    certificateSigningRequest.prepareForUpdate!(next, csr());
    expect((next.spec as { usages: string[] }).usages).toEqual(['client auth']);
  });

  it('condition timestamps: lastUpdateTime now, lastTransitionTime kept for the same type and status', () => {
    const old = csr({}, { conditions: [{ ...approved, lastTransitionTime: '2020-01-01T00:00:00Z' }] });
    const next = csr({}, { conditions: [{ ...approved }, { ...failed }] });
    populateConditionTimestamps(next, old, '2026-01-01T00:00:00Z');
    expect((next.status as { conditions: unknown[] }).conditions).toEqual([
      { ...approved, lastUpdateTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2020-01-01T00:00:00Z' },
      { ...failed, lastUpdateTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
  });
});

describe('kubectl get csr', () => {
  it.each([
    [{}, 'Pending'],
    [{ conditions: [approved] }, 'Approved'],
    [{ conditions: [approved], certificate: 'eA==' }, 'Approved,Issued'],
    [{ conditions: [approved, failed] }, 'Approved,Failed'],
    [{ conditions: [denied] }, 'Denied'],
  ])('condition %j → %s', (status, want) => expect(csrCondition(csr({}, status))).toBe(want));

  it('row: NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION', () => {
    const o = csr({ username: 'admin', expirationSeconds: 86400 });
    o.metadata.creationTimestamp = new Date(Date.now() - 90_000).toISOString();
    expect(certificateSigningRequest.columns.map((c) => c.name)).toEqual([
      'Name',
      'Age',
      'SignerName',
      'Requestor',
      'RequestedDuration',
      'Condition',
    ]);
    expect(certificateSigningRequest.row(o, Date.now())).toEqual([
      'c',
      '90s',
      'kubernetes.io/kube-apiserver-client',
      'admin',
      '24h',
      'Pending',
    ]);
    expect(certificateSigningRequest.row(csr({ signerName: '' }), Date.now())[2]).toBe('<none>');
    expect(certificateSigningRequest.row(csr(), Date.now())[4]).toBe('<none>');
  });

  it('field selector spec.signerName', () => {
    expect(certificateSigningRequest.fields?.['spec.signerName']?.(csr())).toBe('kubernetes.io/kube-apiserver-client');
  });
});

describe('the kubernetes.io/kube-apiserver-client signer', () => {
  it.each([
    ['pending', csr(), 'none'],
    ['denied', csr({}, { conditions: [denied] }), 'none'],
    ['approved but failed', csr({}, { conditions: [approved, failed] }), 'none'],
    ['another signer', csr({ signerName: 'example.com/x' }, { conditions: [approved] }), 'none'],
    ['already issued', csr({}, { conditions: [approved], certificate: 'eA==' }), 'none'],
    [
      'approved, client auth',
      csr({ usages: ['digital signature', 'key encipherment', 'client auth'] }, { conditions: [approved] }),
      'sign',
    ],
    ['approved, server auth', csr({ usages: ['client auth', 'server auth'] }, { conditions: [approved] }), 'fail'],
  ])('%s → %s', (_n, o, want) => expect(planSigning(o).action).toBe(want));

  it.each([
    [['client auth'], undefined],
    [['digital signature', 'key encipherment', 'client auth'], undefined],
    [['digital signature'], 'missing required usage for client certificate: client auth'],
    [['client auth', 'server auth'], 'invalid usage for client certificate: server auth'],
    [['signing', 'client auth'], 'invalid usage for client certificate: signing'],
  ])('usages %j → %s', (usages, want) => expect(apiServerClientUsagesError(usages)).toBe(want));

  const H = 3600_000;
  it.each([
    [undefined, 8760 * H, 8760 * H],
    [86400, 8760 * H, 24 * H],
    [86400, 12 * H, 12 * H],
    [600, 8760 * H, 10 * 60_000],
  ])('expirationSeconds %s with ttl %s → %s ms', (exp, ttl, want) =>
    expect(certificateDurationMs(exp, ttl)).toBe(want),
  );

  it('lifetime: backdated 5 minutes; the end too unless under 8 hours; never past the CA', () => {
    const now = Date.UTC(2026, 0, 1);
    const M = 60_000;
    expect(validity(now, H, now + 100 * H)).toEqual({ notBefore: now - 5 * M, notAfter: now + H });
    expect(validity(now, 24 * H, now + 100 * H)).toEqual({ notBefore: now - 5 * M, notAfter: now + 24 * H - 5 * M });
    expect(validity(now, 24 * H, now + 2 * H)).toEqual({ notBefore: now - 5 * M, notAfter: now + 2 * H });
    expect(() => validity(now, H, now - 1)).toThrow(/the signer has expired/);
  });

  it("usages to key usage bits and extended key usages, in Go's order", () => {
    expect(keyUsages(['client auth', 'digital signature', 'key encipherment', 'server auth'])).toEqual({
      keyUsage: 1 | 4,
      extKeyUsages: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
    });
    expect(() => keyUsages(['magic'])).toThrow('unrecognized usage values: ["magic"]');
  });

  it('signs a request: its subject and SANs, the usages, the lifetime, issued by the client CA', async () => {
    const now = Date.now();
    for (const [req, subject] of [
      [ecCsr, 'CN=jane, O=devs, O=qa'],
      [rsaCsr, 'CN=bob'],
      [sanCsr, 'CN=web'],
    ] as const) {
      const pem = await signRequest(ca, Buffer.from(req), ['digital signature', 'client auth'], 24 * H, now);
      const cert = new x509.X509Certificate(pem);
      expect(cert.subject).toBe(subject);
      expect(cert.issuer).toBe(new x509.X509Certificate(ca.certPem).subject);
      expect(await cert.verify({ publicKey: await new x509.X509Certificate(ca.certPem).publicKey.export() })).toBe(
        true,
      );
      expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual(['1.3.6.1.5.5.7.3.2']);
      expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
      expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(24 * H);
    }
    const web = new x509.X509Certificate(await signRequest(ca, Buffer.from(sanCsr), ['client auth'], H, now));
    expect(web.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'dns', value: 'web.example' },
    ]);
  });
});

describe('the CSR cleaner', () => {
  const now = Date.UTC(2026, 5, 1, 12);
  const ago = (ms: number) => new Date(now - ms).toISOString();
  const H = 3600_000;
  const at = (c: Record<string, unknown>, ms: number) => ({ ...c, lastUpdateTime: ago(ms) });
  const created = (o: KubeObject, ms: number) => {
    o.metadata.creationTimestamp = ago(ms);
    return o;
  };
  it('deletes what is done, keeps the rest', async () => {
    const fresh = await signRequest(ca, Buffer.from(ecCsr), ['client auth'], 24 * H, now);
    const expired = await signRequest(ca, Buffer.from(ecCsr), ['client auth'], H, now - 3 * H);
    const cases: [string, KubeObject, string | undefined][] = [
      ['pending 23h', created(csr(), 23 * H), undefined],
      ['pending 25h', created(csr(), 25 * H), 'pending for more than 24h'],
      ['approved 2h ago, not issued', created(csr({}, { conditions: [at(approved, 2 * H)] }), 3 * H), undefined],
      [
        'approved 2h ago, issued',
        created(csr({}, { conditions: [at(approved, 2 * H)], certificate: b64(fresh) }), 3 * H),
        'approved and issued more than 1h ago',
      ],
      [
        'approved 10m ago, issued',
        created(csr({}, { conditions: [at(approved, 600_000)], certificate: b64(fresh) }), H),
        undefined,
      ],
      [
        'approved 10m ago, certificate expired',
        created(csr({}, { conditions: [at(approved, 600_000)], certificate: b64(expired) }), H),
        'its certificate has expired',
      ],
      ['denied 2h ago', created(csr({}, { conditions: [at(denied, 2 * H)] }), 3 * H), 'denied more than 1h ago'],
      ['denied 30m ago', created(csr({}, { conditions: [at(denied, 1800_000)] }), 3 * H), undefined],
      [
        'failed 2h ago',
        created(csr({}, { conditions: [at(approved, 3 * H), at(failed, 2 * H)] }), 3 * H),
        'failed more than 1h ago',
      ],
    ];
    for (const [name, o, want] of cases) expect([name, cleanReason(o, now)]).toEqual([name, want]);
  });
});

describe('approving needs `approve` on the signer (IsAuthorizedForSignerName)', () => {
  const user = { name: 'bob', groups: ['system:authenticated'] };
  const only = (allowed: string[]) => ({
    authorize: (a: { verb: string; resource: string; name: string; apiGroup: string }) => ({
      allowed:
        a.apiGroup === 'certificates.k8s.io' && a.resource === 'signers' && allowed.includes(`${a.verb} ${a.name}`),
    }),
  });
  it.each([
    [['approve kubernetes.io/kube-apiserver-client'], true],
    [['approve kubernetes.io/*'], true],
    [['sign kubernetes.io/kube-apiserver-client'], false],
    [['approve example.com/*'], false],
    [[], false],
  ])('%j → %s', (allowed, want) =>
    expect(isAuthorizedForSignerName(only(allowed), user, 'approve', 'kubernetes.io/kube-apiserver-client')).toBe(want),
  );
});

describe('the x509 link of the authenticator chain', () => {
  // sha256("der")
  const ID = {
    'authentication.kubernetes.io/credential-id': [`X509SHA256=${createHash('sha256').update('der').digest('hex')}`],
  };
  const socket = (o: {
    authorized: boolean;
    CN?: string | string[];
    O?: string | string[];
    from?: number;
    to?: number;
  }) => ({
    encrypted: true,
    authorized: o.authorized,
    getPeerCertificate: () => ({
      raw: Buffer.from('der'),
      subject: { ...(o.CN !== undefined ? { CN: o.CN } : {}), ...(o.O !== undefined ? { O: o.O } : {}) },
      valid_from: new Date(o.from ?? Date.now() - 60_000).toUTCString(),
      valid_to: new Date(o.to ?? Date.now() + 3600_000).toUTCString(),
    }),
  });
  it.each([
    [
      'verified, CN and two O',
      socket({ authorized: true, CN: 'jane', O: ['devs', 'qa'] }),
      { name: 'jane', groups: ['devs', 'qa'], extra: ID },
    ],
    [
      'verified, one O',
      socket({ authorized: true, CN: 'jane', O: 'devs' }),
      { name: 'jane', groups: ['devs'], extra: ID },
    ],
    [
      'two CNs: the last, as Go reads it',
      socket({ authorized: true, CN: ['a', 'b'] }),
      { name: 'b', groups: [], extra: ID },
    ],
    ['not verified (foreign CA)', socket({ authorized: false, CN: 'eve', O: 'system:masters' }), undefined],
    ['no CN', socket({ authorized: true, O: 'devs' }), undefined],
    ['expired since the handshake', socket({ authorized: true, CN: 'jane', to: Date.now() - 1000 }), undefined],
    ['not yet valid', socket({ authorized: true, CN: 'jane', from: Date.now() + 3600_000 }), undefined],
    ['a plain socket', { encrypted: undefined }, undefined],
  ])('%s', (_n, s, want) => expect(certificateUser(s)).toEqual(want));

  it('a certificate comes before bearer tokens; without one the token decides', () => {
    const auth = new TokenAuthenticator();
    auth.add('admintoken', { name: 'admin', groups: ['system:masters'] });
    const withCert = {
      headers: { authorization: 'Bearer admintoken' },
      raw: { socket: socket({ authorized: true, CN: 'jane', O: 'devs' }) },
    };
    expect(auth.authenticate(withCert)?.name).toBe('jane');
    const foreign = {
      headers: { authorization: 'Bearer admintoken' },
      raw: { socket: socket({ authorized: false, CN: 'eve' }) },
    };
    expect(auth.authenticate(foreign)?.name).toBe('admin');
    expect(auth.authenticate({ headers: {}, socket: socket({ authorized: false, CN: 'eve' }) })).toBeUndefined();
  });
});

describe('skiff-server kubeconfig --user', () => {
  it('notes a loopback server URL', () => {
    expect(loopbackNote('https://127.0.0.1:6443')).toMatch(/only works on this machine/);
    expect(loopbackNote('https://[::1]:6443')).toMatch(/only works on this machine/);
    expect(loopbackNote('https://10.0.0.5:6443')).toBeUndefined();
  });

  it('parses its flags', () => {
    expect(
      parseKubeconfigArgs(['--user', 'sam', '--group', 'a', '--group', 'b', '--expiry', '720h', '--data-dir', '/d']),
    ).toEqual({ user: 'sam', groups: ['a', 'b'], expiryMs: 720 * 3600_000, dataDir: '/d', server: undefined });
    expect(() => parseKubeconfigArgs(['--user', 'sam', '--expiry', '5m'])).toThrow('--expiry must be at least 10m');
  });

  it('prints a kubeconfig with a certificate for CN=user, O=groups from the client CA, the server CA pinned', async () => {
    writeFileSync(join(dir, 'tls', 'server-ca.crt'), 'SERVER CA PEM\n');
    writeFileSync(join(dir, 'admin.kubeconfig'), 'clusters:\n- cluster:\n    server: https://10.0.0.5:6443\n');
    const text = await makeUserKubeconfig({
      user: 'sam',
      groups: ['devs', 'oncall'],
      expiryMs: 720 * 3600_000,
      dataDir: dir,
    });
    expect(text).toContain('server: "https://10.0.0.5:6443"');
    expect(text).toContain(`certificate-authority-data: ${b64('SERVER CA PEM\n')}`);
    expect(text).toContain('current-context: "sam@skiff"');
    const cert = new x509.X509Certificate(
      Buffer.from(/client-certificate-data: (\S+)/.exec(text)![1]!, 'base64').toString(),
    );
    expect(cert.subject).toBe('CN=sam, O=devs, O=oncall');
    expect(cert.issuer).toBe(new x509.X509Certificate(ca.certPem).subject);
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(720 * 3600_000);
    expect(Buffer.from(/client-key-data: (\S+)/.exec(text)![1]!, 'base64').toString()).toContain('BEGIN PRIVATE KEY');
    await expect(
      makeUserKubeconfig({ user: 'x', groups: [], expiryMs: 3600_000, dataDir: join(dir, 'nope') }),
    ).rejects.toThrow(/no client CA/);
  });
});
