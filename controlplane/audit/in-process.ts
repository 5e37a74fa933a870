// Writes made inside skiff-server — controllers, the scheduler, the agent gateway — carry
// their own identity into the audit log, as kube-controller-manager's controllers (with
// --use-service-account-credentials), kube-scheduler and each kubelet do in Kubernetes.
// They never pass the HTTP hooks (they are trusted and not authorised), so actingAs() gives
// a writer its own view of ApiStorage whose writes (create, update, guaranteedUpdate,
// patch, delete, deleteCollection) each log one ResponseComplete Event under its name,
// with the policy deciding the level. Reads and watches are not audited (they never leave
// the process). Without an audit log the storage itself is returned: no cost.
import { randomUUID } from 'node:crypto';
import type { ApiStorage } from '../api/storage.js';
import { ApiError } from '../api/errors.js';
import type { UserInfo } from '../api/auth.js';
import type { ResourceDef } from '../resources/types.js';
import type { KubeObject } from '../../proto/meta.js';
import type { Auditor } from './auditor.js';
import { buildEvent, objectRefOf, responseStatusOf, DECISION_ANNOTATION, REASON_ANNOTATION } from './event.js';
import { nowUs } from './hooks.js';
import { evaluatePolicy, levelAtLeast } from './policy.js';

/** a writer's storage under an identity: `component` becomes its user agent */
export type ActAs = (storage: ApiStorage, user: UserInfo, component: string) => ApiStorage;

/** the identity of a controller of kube-controller-manager (its ServiceAccount in kube-system) */
export function controllerUser(name: string): UserInfo {
  return {
    name: `system:serviceaccount:kube-system:${name}`,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
  };
}

export const SCHEDULER_USER: UserInfo = { name: 'system:kube-scheduler', groups: ['system:authenticated'] };

export function nodeUser(node: string): UserInfo {
  return { name: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'] };
}

/** the request URI the write would have had over HTTP */
export function writeUri(
  def: ResourceDef,
  namespace: string | undefined,
  name: string | undefined,
  subresource?: string,
): string {
  const base = def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`;
  const ns = def.namespaced && namespace ? `/namespaces/${namespace}` : '';
  return `${base}${ns}/${def.resource}${name ? `/${name}` : ''}${name && subresource ? `/${subresource}` : ''}`;
}

type Verb = 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

interface Write {
  verb: Verb;
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
  subresource?: string;
  requestObject?: unknown;
}

/** the ActAs of a server: auditing when the server keeps an audit log, the identity function otherwise */
export function inProcessAuditing(auditor: Auditor | undefined): ActAs {
  if (!auditor) return (storage) => storage;
  return (storage, user, component) => {
    const record = (w: Write, code: number, result: unknown, err?: ApiError): void => {
      const attrs = {
        user: { name: user.name, groups: user.groups },
        verb: w.verb,
        resourceRequest: true,
        path: writeUri(w.def, w.namespace, w.name, w.subresource),
        apiGroup: w.def.group,
        namespace: w.namespace ?? '',
        resource: w.def.resource,
        subresource: w.subresource ?? '',
        name: w.name ?? '',
      };
      const cfg = evaluatePolicy(auditor.policy, attrs);
      auditor.observeLevel(cfg.level);
      if (cfg.level === 'None') return;
      const meta = (result as KubeObject | undefined)?.metadata;
      const t = nowUs();
      auditor.process(
        buildEvent(
          {
            level: cfg.level,
            auditID: randomUUID(),
            requestURI: attrs.path,
            verb: w.verb,
            user: { name: user.name, uid: user.uid, groups: user.groups },
            sourceIPs: [],
            userAgent: `skiff-server/${component}`,
            objectRef: objectRefOf(
              {
                resource: w.def.resource,
                namespace: w.namespace ?? '',
                name: w.name ?? '',
                apiGroup: w.def.group,
                apiVersion: w.def.version,
                subresource: w.subresource ?? '',
              },
              meta,
            ),
            responseStatus: responseStatusOf(
              code,
              err ? (err.toStatus() as unknown as Record<string, unknown>) : undefined,
            ),
            requestObject: levelAtLeast(cfg.level, 'Request') ? w.requestObject : undefined,
            responseObject: err ? undefined : result,
            receivedUs: t,
            annotations: { [DECISION_ANNOTATION]: 'allow', [REASON_ANNOTATION]: 'in-process writer of skiff-server' },
          },
          'ResponseComplete',
          t,
        ),
        cfg.omitStages,
      );
    };
    const audited = async <T>(
      w: Write,
      run: () => Promise<T>,
      okCode: (r: T) => number = () => 200,
      shown: (r: T) => unknown = (r) => r,
    ): Promise<T> => {
      try {
        const r = await run();
        record(w, okCode(r), shown(r));
        return r;
      } catch (e) {
        if (e instanceof ApiError) record(w, e.code, undefined, e);
        else record(w, 500, undefined, new ApiError(500, 'InternalError', String((e as Error)?.message ?? e)));
        throw e;
      }
    };
    // A view of the same storage: reads, watches and all state stay the original's; only
    // the write entry points are wrapped, and they run on the original (its internal calls
    // are not logged twice).
    const view: ApiStorage = Object.create(storage) as ApiStorage;
    Object.assign(view, {
      create: (
        def: ResourceDef,
        namespace: string | undefined,
        body: unknown,
        opts?: Parameters<ApiStorage['create']>[3],
      ) =>
        audited(
          {
            verb: 'create',
            def,
            namespace,
            name: (body as KubeObject | undefined)?.metadata?.name,
            requestObject: body,
          },
          () => storage.create(def, namespace, body, opts),
          () => 201,
        ),
      update: (
        def: ResourceDef,
        namespace: string | undefined,
        name: string,
        body: unknown,
        opts?: Parameters<ApiStorage['update']>[4],
        sub?: 'status',
      ) =>
        audited({ verb: 'update', def, namespace, name, subresource: sub, requestObject: body }, () =>
          storage.update(def, namespace, name, body, opts, sub),
        ),
      guaranteedUpdate: (...a: Parameters<ApiStorage['guaranteedUpdate']>) =>
        audited({ verb: 'update', def: a[0], namespace: a[1], name: a[2], subresource: a[5] }, () =>
          storage.guaranteedUpdate(...a),
        ),
      patch: (...a: Parameters<ApiStorage['patch']>) =>
        audited(
          { verb: 'patch', def: a[0], namespace: a[1], name: a[2], subresource: a[6], requestObject: a[4] },
          () => storage.patch(...a),
          (r) => (r.created ? 201 : 200),
          (r) => r.object,
        ),
      delete: (...a: Parameters<ApiStorage['delete']>) =>
        audited(
          { verb: 'delete', def: a[0], namespace: a[1], name: a[2] },
          () => storage.delete(...a),
          (r) => (r.deleted ? 200 : 202),
          (r) => r.object,
        ),
      deleteCollection: (...a: Parameters<ApiStorage['deleteCollection']>) =>
        audited({ verb: 'deletecollection', def: a[0], namespace: a[1], name: undefined }, () =>
          storage.deleteCollection(...a),
        ),
    });
    return view;
  };
}
