// The HTTP side of ServiceAccount tokens: the TokenRequest subresource
// (pkg/registry/core/serviceaccount/storage/token.go; `kubectl create token`) and the
// OIDC discovery documents (/.well-known/openid-configuration, /openid/v1/jwks), served
// to authenticated users as kube-apiserver's system:service-account-issuer-discovery
// binding to system:authenticated allows.
import type { FastifyInstance } from 'fastify';
import type { KubeObject } from '../../proto/meta.js';
import { decodeBody } from '../api/body.js';
import { badRequest, conflict, invalid, methodNotSupported } from '../api/errors.js';
import { rfc3339, type ApiStorage } from '../api/storage.js';
import { findResource } from '../resources/index.js';
import type { BoundKind, BoundRef, ServiceAccountTokens } from './tokens.js';

export const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

export interface TokenRequestBody {
  metadata?: { name?: string };
  spec?: {
    audiences?: unknown;
    expirationSeconds?: unknown;
    boundObjectRef?: { kind?: unknown; apiVersion?: unknown; name?: unknown; uid?: unknown };
  };
}

function def(plural: string) {
  const d = findResource('', 'v1', plural);
  if (!d) throw new Error(`no resource v1/${plural}`);
  return d;
}

/** token.go's Create: validate, look up the account and the bound object, sign */
export async function createToken(
  storage: ApiStorage,
  tokens: ServiceAccountTokens,
  namespace: string,
  name: string,
  body: TokenRequestBody,
  dryRun = false,
): Promise<Record<string, unknown>> {
  const spec = body?.spec ?? {};
  const exp = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  const bad = (f: string, v: unknown, m: string) =>
    invalid(
      'TokenRequest',
      name,
      [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(v)}: ${m}`, field: f }],
      'authentication.k8s.io',
    );
  if (typeof exp !== 'number' || !Number.isInteger(exp)) throw bad('spec.expirationSeconds', exp, 'must be an integer');
  if (exp < MIN_EXPIRATION_SECONDS)
    throw bad('spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes');
  if (exp > MAX_EXPIRATION_SECONDS)
    throw bad('spec.expirationSeconds', exp, 'may not specify a duration larger than 2^32 seconds');
  const audiences = spec.audiences === undefined || spec.audiences === null ? [] : spec.audiences;
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== 'string'))
    throw bad('spec.audiences', audiences, 'must be a list of strings');
  const sa = await storage.get(def('serviceaccounts'), namespace, name);
  let bound: BoundRef | undefined;
  let node: { name: string; uid: string } | undefined;
  const ref = spec.boundObjectRef;
  if (ref && (ref.kind || ref.name)) {
    const kind = ref.kind;
    const apiVersion = ref.apiVersion ?? 'v1';
    if ((kind !== 'Pod' && kind !== 'Secret' && kind !== 'Node') || apiVersion !== 'v1') {
      throw badRequest(
        `cannot bind token for serviceaccount "${name}" to object of type ${String(apiVersion)}, Kind=${String(kind)}`,
      );
    }
    if (typeof ref.name !== 'string' || !ref.name)
      throw invalid(
        'TokenRequest',
        name,
        [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.boundObjectRef.name' }],
        'authentication.k8s.io',
      );
    const plural = kind === 'Pod' ? 'pods' : kind === 'Secret' ? 'secrets' : 'nodes';
    const obj: KubeObject = await storage.get(def(plural), kind === 'Node' ? undefined : namespace, ref.name);
    if (typeof ref.uid === 'string' && ref.uid && ref.uid !== obj.metadata.uid) {
      throw conflict(
        kind,
        ref.name,
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    }
    if (kind === 'Pod' && obj.spec?.serviceAccountName !== name)
      throw badRequest(
        `cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`,
      );
    if (
      kind === 'Secret' &&
      obj.metadata.annotations?.['kubernetes.io/service-account.name'] !== undefined &&
      obj.metadata.annotations['kubernetes.io/service-account.name'] !== name
    ) {
      throw badRequest(
        `cannot bind token for serviceaccount "${name}" to secret that references a different serviceaccount name.`,
      );
    }
    bound = { kind: kind as BoundKind, name: ref.name, uid: obj.metadata.uid! };
    if (kind === 'Pod' && typeof obj.spec?.nodeName === 'string' && obj.spec.nodeName) {
      const n = await storage.tryGet(def('nodes'), undefined, obj.spec.nodeName);
      if (n) node = { name: n.metadata.name!, uid: n.metadata.uid! };
    }
  }
  const issued = dryRun
    ? { token: '', expirationTimestamp: new Date(Date.now() + exp * 1000) }
    : tokens.issue(sa, { audiences: audiences as string[], expirationSeconds: exp, bound, node });
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace, creationTimestamp: null },
    spec: {
      audiences: (audiences as string[]).length ? audiences : tokens.audiences,
      expirationSeconds: exp,
      boundObjectRef: bound ? { kind: bound.kind, apiVersion: 'v1', name: bound.name, uid: bound.uid } : null,
    },
    status: { token: issued.token, expirationTimestamp: rfc3339(issued.expirationTimestamp) },
  };
}

/** the agent's requestToken: a TokenRequest bound to the pod (metadata.uid empty: the wire's object shape wants one) */
export async function issuePodToken(
  storage: ApiStorage,
  tokens: ServiceAccountTokens,
  r: {
    namespace: string;
    serviceAccountName: string;
    podName: string;
    podUid: string;
    audiences?: string[];
    expirationSeconds: number;
  },
): Promise<KubeObject> {
  const out = await createToken(storage, tokens, r.namespace, r.serviceAccountName, {
    spec: {
      audiences: r.audiences,
      expirationSeconds: r.expirationSeconds,
      boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: r.podName, uid: r.podUid },
    },
  });
  return { ...out, metadata: { name: r.serviceAccountName, namespace: r.namespace, uid: '' } };
}

export function registerServiceAccountRoutes(
  app: FastifyInstance,
  o: { storage: ApiStorage; tokens: ServiceAccountTokens; apiUrl: () => string },
): void {
  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/api/v1/namespaces/:namespace/serviceaccounts/:name/token',
    handler: async (req, reply) => {
      const p = req.params as { namespace: string; name: string };
      if (req.method !== 'POST') throw methodNotSupported('serviceaccounts/token', req.method.toLowerCase());
      const body = decodeBody(req.headers['content-type'], req.body as Buffer) as TokenRequestBody;
      if (!body || typeof body !== 'object') throw badRequest('TokenRequest must be an object');
      const q = req.query as Record<string, unknown>;
      const out = await createToken(o.storage, o.tokens, p.namespace, p.name, body, q?.dryRun === 'All');
      reply.code(201);
      return out;
    },
  });
  app.get('/.well-known/openid-configuration', async (_req, reply) => {
    reply.header('Cache-Control', 'public, max-age=3600');
    return o.tokens.openIdConfiguration(o.apiUrl());
  });
  app.get('/openid/v1/jwks', async (_req, reply) => {
    reply.header('Cache-Control', 'public, max-age=3600').type('application/jwk-set+json');
    return JSON.stringify(o.tokens.jwks());
  });
}
