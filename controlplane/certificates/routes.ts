// The REST side of CertificateSigningRequests that needs the requesting user: create
// (kubectl create, and server-side apply creating one) runs inside asCsrRequester so
// PrepareForCreate records who asked; the `approval` subresource (kubectl certificate
// approve|deny: PUT .../approval) changes only the conditions and is admitted as
// kube-apiserver's CertificateApproval plugin does: `approve` on the synthetic resource
// certificates.k8s.io `signers` named after the signer, or `<domain>/*`
// (plugin/pkg/admission/certificates); a /status write that changes the certificate needs
// `sign` on it (CertificateSigning). Everything else goes through the generic routes.
// Registered by skiff-server on the API before it listens.
// Map of the code base: ARCHITECTURE.md, "The parts".
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../proto/meta.js';
import type { UserInfo } from '../api/auth.js';
import { decodeBody } from '../api/body.js';
import { ApiError, STALE_OBJECT, badRequest, conflict, methodNotSupported } from '../api/errors.js';
import { applyPatch, patchTypeOf } from '../api/patch/apply.js';
import { handleResource } from '../api/rest-handlers.js';
import { sendWarnings, writeOptions } from '../api/query-options.js';
import { rfc3339, type ApiStorage } from '../api/storage.js';
import { newForbidden } from '../authz/attributes.js';
import { withAuthenticatedGroup } from '../authz/authorizer.js';
import { userOf } from '../authz/http.js';
import type { Attributes } from '../authz/rules.js';
import { CERTIFICATES_GROUP, certificateSigningRequest as def } from '../resources/certificate-signing-request.js';
import { asCsrRequester } from './requester.js';
import { populateConditionTimestamps } from './conditions.js';

const BASE = `/apis/${CERTIFICATES_GROUP}/v1/certificatesigningrequests`;

export interface SignerAuthorizer {
  authorize(a: Attributes): { allowed: boolean };
}

function signerAttributes(user: UserInfo, verb: string, name: string): Attributes {
  return {
    user,
    verb,
    name,
    apiGroup: CERTIFICATES_GROUP,
    apiVersion: '*',
    resource: 'signers',
    subresource: '',
    namespace: '',
    resourceRequest: true,
    path: '',
  };
}

/** IsAuthorizedForSignerName: `verb` on signers/<signerName>, else on signers/<domain>/* */
export function isAuthorizedForSignerName(
  authz: SignerAuthorizer,
  user: UserInfo,
  verb: string,
  signerName: string,
): boolean {
  if (authz.authorize(signerAttributes(user, verb, signerName)).allowed) return true;
  return authz.authorize(signerAttributes(user, verb, `${signerName.split('/')[0]}/*`)).allowed;
}

function requester(req: FastifyRequest): UserInfo {
  const u = userOf(req);
  if (!u) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
  return withAuthenticatedGroup(u);
}

const certificateOf = (o: KubeObject): unknown =>
  (o.status as { certificate?: unknown } | undefined)?.certificate ?? '';

const typed = (o: KubeObject): KubeObject => ({ apiVersion: `${CERTIFICATES_GROUP}/v1`, kind: def.kind, ...o });

export function registerCertificateRoutes(
  app: FastifyInstance,
  o: { storage: ApiStorage; authorizer?: SignerAuthorizer },
): void {
  const deps = { storage: o.storage };
  app.post(BASE, async (req, reply) =>
    asCsrRequester({ user: requester(req) }, () =>
      handleResource(deps, req, reply, CERTIFICATES_GROUP, 'v1', 'certificatesigningrequests'),
    ),
  );
  // a server-side apply may create the object
  app.patch(`${BASE}/:name`, async (req, reply) => {
    const { name } = req.params as { name: string };
    return asCsrRequester({ user: requester(req) }, () =>
      handleResource(
        deps,
        req,
        reply,
        CERTIFICATES_GROUP,
        'v1',
        `certificatesigningrequests/${encodeURIComponent(name)}`,
      ),
    );
  });
  // /status: the generic handler, with CertificateSigning admission
  const status = async (req: FastifyRequest, reply: FastifyReply) => {
    const { name } = req.params as { name: string };
    const user = requester(req);
    const admitStatus = (next: KubeObject, old: KubeObject) => {
      if (!o.authorizer || certificateOf(next) === certificateOf(old)) return;
      const signerName = String((old.spec as { signerName?: unknown } | undefined)?.signerName ?? '');
      if (!isAuthorizedForSignerName(o.authorizer, user, 'sign', signerName)) {
        throw newForbidden(
          CERTIFICATES_GROUP,
          'certificatesigningrequests',
          name,
          `user not permitted to sign requests with signerName ${JSON.stringify(signerName)}`,
        );
      }
    };
    return asCsrRequester({ user, admitStatus }, () =>
      handleResource(
        deps,
        req,
        reply,
        CERTIFICATES_GROUP,
        'v1',
        `certificatesigningrequests/${encodeURIComponent(name)}/status`,
      ),
    );
  };
  app.put(`${BASE}/:name/status`, status);
  app.patch(`${BASE}/:name/status`, status);
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'],
    url: `${BASE}/:name/approval`,
    handler: (req, reply) => approval(o, req, reply),
  });
}

async function approval(
  o: { storage: ApiStorage; authorizer?: SignerAuthorizer },
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<KubeObject> {
  const { name } = req.params as { name: string };
  if (req.method === 'GET') return typed(await o.storage.get(def, undefined, name));
  if (req.method !== 'PUT' && req.method !== 'PATCH')
    throw methodNotSupported('certificatesigningrequests/approval', req.method.toLowerCase());
  const user = requester(req);
  const body = decodeBody(req.headers['content-type'], req.body as Buffer);
  const patchType = req.method === 'PATCH' ? patchTypeOf(req.headers['content-type']) : undefined;
  if (!patchType && (typeof body !== 'object' || body === null || Array.isArray(body)))
    throw badRequest('the body of the request must be a CertificateSigningRequest object');
  const opts = writeOptions(req.query as Record<string, string | string[] | undefined>);
  const out = await asCsrRequester({ user, approval: true }, () =>
    o.storage.guaranteedUpdate(
      def,
      undefined,
      name,
      { dryRun: opts.dryRun },
      (cur) => {
        // CertificateApproval admission judges the stored object's signer
        const signerName = String((cur.spec as { signerName?: unknown } | undefined)?.signerName ?? '');
        if (o.authorizer && !isAuthorizedForSignerName(o.authorizer, user, 'approve', signerName)) {
          throw newForbidden(
            CERTIFICATES_GROUP,
            'certificatesigningrequests',
            name,
            `user not permitted to approve requests with signerName ${JSON.stringify(signerName)}`,
          );
        }
        const next = (patchType ? applyPatch(patchType, cur, body, def) : body) as KubeObject;
        const rv = next?.metadata?.resourceVersion;
        if (!patchType && rv && rv !== cur.metadata.resourceVersion)
          throw conflict('certificatesigningrequests', name, STALE_OBJECT, CERTIFICATES_GROUP);
        if (!patchType && next?.metadata?.name && next.metadata.name !== name)
          throw badRequest(
            `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`,
          );
        // ApprovalStrategy: only the conditions change
        const conditions = (next?.status as { conditions?: unknown } | undefined)?.conditions;
        const status = { ...(cur.status ?? {}) } as Record<string, unknown>;
        if (conditions === undefined || conditions === null) delete status.conditions;
        else status.conditions = structuredClone(conditions);
        const out = { ...cur, status };
        populateConditionTimestamps(out, cur, rfc3339(new Date()));
        return out;
      },
      'status',
    ),
  );
  sendWarnings(reply, opts);
  return typed(out);
}
