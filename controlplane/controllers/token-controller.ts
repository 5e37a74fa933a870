// The legacy token controller (pkg/controller/serviceaccount/tokens_controller.go): a Secret
// of type kubernetes.io/service-account-token naming a ServiceAccount (annotation
// kubernetes.io/service-account.name) gets data.token (a non-expiring JWT), ca.crt and
// namespace, and the account's uid annotation. A Secret naming an account that does not
// exist (or no longer has that uid) is deleted, as is every such Secret of a deleted account.
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import type { ServiceAccountTokens } from '../serviceaccount/tokens.js';
import type { ControllerContext } from './context.js';
import { runWhenSynced, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

export const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token';
export const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid';
const RESYNC_MS = 60_000;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

class TokensController implements Controller {
  readonly name = 'serviceaccount-token-controller';
  private readonly queue = new WorkQueue();
  private secretInf!: Informer<'Secret'>;
  private saInf!: Informer<'ServiceAccount'>;
  private loop?: { stop(): void };

  constructor(
    private readonly ctx: ControllerContext,
    private readonly tokens: ServiceAccountTokens,
    private readonly caPem: string,
  ) {}

  async start(): Promise<void> {
    this.secretInf = this.ctx.informers.get('', 'v1', 'secrets');
    this.saInf = this.ctx.informers.get('', 'v1', 'serviceaccounts');
    const secret = (o: KubeObject) => {
      if (o.type === SA_TOKEN_TYPE) this.queue.add(`${o.metadata.namespace}/${o.metadata.name}`);
    };
    const sa = (o: KubeObject) => {
      for (const s of this.secretInf.list(o.metadata.namespace))
        if (s.metadata.annotations?.[SA_NAME_ANNOTATION] === o.metadata.name) secret(s);
    };
    this.secretInf.on({ add: secret, update: (_o, n) => secret(n) });
    this.saInf.on({ add: sa, delete: sa });
    this.loop = runWhenSynced({
      informers: [this.secretInf, this.saInf],
      queue: this.queue,
      workers: 1,
      sync: (key) => this.sync(key),
      onError: (key, err) =>
        this.ctx.log.warn({ err, secret: key }, 'service account token secret sync failed; will retry'),
      resyncMs: RESYNC_MS,
      resync: () => this.secretInf.list().filter((s) => s.type === SA_TOKEN_TYPE),
      enqueue: secret,
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const s = this.secretInf.get(namespace, name);
    if (!s || s.type !== SA_TOKEN_TYPE || s.metadata.deletionTimestamp) return;
    const saName = s.metadata.annotations?.[SA_NAME_ANNOTATION];
    const wantUid = s.metadata.annotations?.[SA_UID_ANNOTATION];
    const saDef = this.ctx.def('', 'v1', 'serviceaccounts');
    const secretDef = this.ctx.def('', 'v1', 'secrets');
    // the cache may be behind a ServiceAccount just created: ask the store before deleting
    const sa = saName
      ? (this.saInf.get(namespace, saName) ?? (await this.ctx.storage.tryGet(saDef, namespace, saName)))
      : undefined;
    if (!sa || (wantUid && wantUid !== sa.metadata.uid)) {
      try {
        await this.ctx.storage.delete(secretDef, namespace, name, { preconditions: { uid: s.metadata.uid } });
      } catch (e) {
        if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
      }
      return;
    }
    const data = (s.data ?? {}) as Record<string, string>;
    if (data.token && data['ca.crt'] && data.namespace && wantUid) return;
    try {
      await this.ctx.storage.guaranteedUpdate(secretDef, namespace, name, { fieldManager: this.name }, (cur) => {
        if (cur.metadata.uid !== s.metadata.uid) return cur;
        const d = { ...((cur.data ?? {}) as Record<string, string>) };
        cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), [SA_UID_ANNOTATION]: sa.metadata.uid! };
        if (!d.token) d.token = b64(this.tokens.issueLegacy(sa, cur));
        if (!d['ca.crt']) d['ca.crt'] = b64(this.caPem);
        if (!d.namespace) d.namespace = b64(namespace);
        cur.data = d;
        return cur;
      });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
}

export function create(ctx: ControllerContext, tokens: ServiceAccountTokens, caPem: string): Controller {
  return new TokensController(ctx, tokens, caPem);
}
