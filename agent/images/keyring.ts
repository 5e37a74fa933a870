// Registry credentials from a pod's image pull secrets, as kubelet's credentialprovider
// builds and searches them (pkg/credentialprovider/keyring.go, config.go, secrets/secrets.go):
// `kubernetes.io/dockerconfigjson` secrets (`.dockerconfigjson`, its `auths`) and legacy
// `kubernetes.io/dockercfg` ones (`.dockercfg`, the map itself); an entry's key is a
// registry URL whose scheme is dropped and whose /v1/ or /v2/ path means the host; host
// parts may be globs (`*.example.com`), the port must be equal and the key's path a
// prefix of the image's; keys are tried most specific first (reverse-sorted), every match
// kept, in order, so kubelet can try each; Docker Hub images (`busybox`, `docker.io/...`,
// `index.docker.io/...`) fall back to the `index.docker.io` entry
// (`https://index.docker.io/v1/`, kubectl's default server). Pure: no I/O.
import { isRecord } from '../../proto/is-record.js';
import type { KubeObject } from '../../proto/meta.js';
import type { PullAuth as RegistryAuth } from '../runtime/types.js';

export const SECRET_TYPE_DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
export const SECRET_TYPE_DOCKERCFG = 'kubernetes.io/dockercfg';
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';
export const DOCKERCFG_KEY = '.dockercfg';
const DEFAULT_REGISTRY_HOST = 'index.docker.io';

/** registry URL -> entry, as in a .dockercfg file or the `auths` of a .dockerconfigjson */
export type DockerConfig = Map<string, RegistryAuth>;

/** config.go decodeDockerConfigFieldAuth: base64 (padded or not) of "user:password" */
export function decodeAuthField(field: string): { username: string; password: string } {
  const f = field.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(f) || (f.endsWith('=') ? f.length % 4 !== 0 : f.length % 4 === 1)) {
    throw new Error('illegal base64 data in auth field');
  }
  const decoded = Buffer.from(f, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) throw new Error('unable to parse auth field, must be formatted as base64(username:password)');
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/** config.go DockerConfigEntry.UnmarshalJSON: username/password/email, `auth` overriding the first two */
function entryOf(v: unknown): RegistryAuth {
  if (!isRecord(v)) throw new Error('a registry entry must be an object');
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : '');
  const e: RegistryAuth = { username: str('username'), password: str('password') };
  if (str('email')) e.email = str('email');
  if (str('auth')) Object.assign(e, decodeAuthField(str('auth')));
  return e;
}

function configOf(v: unknown): DockerConfig {
  const out: DockerConfig = new Map();
  if (v === null || v === undefined) return out;
  if (!isRecord(v)) throw new Error('registry credentials must be an object keyed by registry');
  for (const [k, e] of Object.entries(v)) out.set(k, entryOf(e));
  return out;
}

/** secrets.go MakeDockerKeyring's reading of one secret: its DockerConfig, none for other types, an error for a malformed one */
export function dockerConfigOfSecret(secret: KubeObject): DockerConfig | undefined {
  const rawData: unknown = (secret as { data?: unknown }).data;
  const data: Record<string, unknown> = isRecord(rawData) ? rawData : {};
  const type = (secret as { type?: unknown }).type;
  const read = (key: string): string | undefined => {
    const b64 = data[key];
    if (typeof b64 !== 'string' || !b64) return undefined;
    const raw = Buffer.from(b64, 'base64').toString('utf8');
    return raw || undefined;
  };
  const parse = (raw: string): unknown => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      // never the parser's message: V8 quotes the input in it, and this text reaches
      // events, the pod's status and the log — the input is a registry password
      throw new Error(`invalid registry credentials in secret "${secret.metadata.name}": not valid JSON`);
    }
  };
  if (type === SECRET_TYPE_DOCKER_CONFIG_JSON) {
    const raw = read(DOCKER_CONFIG_JSON_KEY);
    if (raw !== undefined) {
      const doc = parse(raw);
      return configOf(isRecord(doc) ? doc.auths : undefined);
    }
  }
  if (type === SECRET_TYPE_DOCKERCFG) {
    const raw = read(DOCKERCFG_KEY);
    if (raw !== undefined) return configOf(parse(raw));
  }
  return undefined;
}

interface ParsedUrl {
  host: string;
  path: string;
}

/** Go's url.Parse of "https://" + s, as far as the keyring looks: host (with port) and path, without query or fragment */
function parseSchemeless(s: string): ParsedUrl {
  const rest = s.replace(/[?#].*$/, '');
  const slash = rest.indexOf('/');
  return slash < 0 ? { host: rest, path: '' } : { host: rest.slice(0, slash), path: rest.slice(slash) };
}

/** net.SplitHostPort, the port "" when there is none */
function splitHost(host: string): { parts: string[]; port: string } {
  let h = host;
  let port = '';
  const m = /^\[([^\]]*)\]:(\d*)$/.exec(host) ?? /^([^:]*):(\d*)$/.exec(host);
  if (m) {
    h = m[1]!;
    port = m[2]!;
  }
  return { parts: h.split('.'), port };
}

/** Go's filepath.Match for one host part (no separators in it): *, ?, [...] with ^ negation, \ escapes */
export function globMatch(pattern: string, name: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) return false; // ErrBadPattern
      re += pattern[i]!.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) return false; // ErrBadPattern
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      if (!body) return false;
      re += `[${negate ? '^' : ''}${body.replace(/[\]\\]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`).test(name);
  } catch {
    return false;
  }
}

/** keyring.go URLsMatchStr: the glob key matches the image's repository */
export function urlsMatch(glob: string, target: string): boolean {
  const g = parseSchemeless(glob);
  const t = parseSchemeless(target);
  const gh = splitHost(g.host);
  const th = splitHost(t.host);
  if (gh.port !== th.port) return false;
  if (gh.parts.length !== th.parts.length) return false;
  if (!t.path.startsWith(g.path)) return false;
  return gh.parts.every((p, i) => globMatch(p, th.parts[i]!));
}

/** keyring.go isDefaultRegistryMatch: the image comes from Docker Hub */
export function isDefaultRegistryMatch(image: string): boolean {
  const slash = image.indexOf('/');
  const first = slash < 0 ? image : image.slice(0, slash);
  if (!first) return false;
  if (slash < 0) return true;
  if (first === 'docker.io' || first === 'index.docker.io') return true;
  return !/[.:]/.test(first);
}

/** keyring.go BasicDockerKeyring.Add's key for a registry URL: scheme dropped, /v1/ and /v2/ mean the host */
export function keyringKey(loc: string): string | undefined {
  const value = loc.startsWith('https://') || loc.startsWith('http://') ? loc : `https://${loc}`;
  const u = parseSchemeless(value.replace(/^https?:\/\//, ''));
  // url.Parse refuses spaces in a host and a port that is not a number: the entry is ignored
  if (/\s/.test(u.host) || (!u.host.startsWith('[') && /:(?!\d*$)/.test(u.host))) return undefined;
  let path = u.path;
  if (path.startsWith('/v2/') || path.startsWith('/v1/')) path = path.slice(3);
  return path && path !== '/' ? u.host + path : u.host;
}

export class DockerKeyring {
  private index: string[] = [];
  private creds = new Map<string, RegistryAuth[]>();

  /** BasicDockerKeyring.Add */
  add(cfg: DockerConfig): void {
    for (const [loc, ident] of cfg) {
      const key = keyringKey(loc);
      if (key === undefined) continue;
      const list = this.creds.get(key) ?? [];
      list.push(ident);
      this.creds.set(key, list);
      this.index.push(key);
    }
    // deduplicated, reverse-sorted: more specific paths match first ("quay.io/coreos" before "quay.io")
    this.index = [...new Set(this.index)].sort().reverse();
  }

  /** BasicDockerKeyring.Lookup: every matching credential, most specific key first */
  lookup(image: string): RegistryAuth[] {
    const out: RegistryAuth[] = [];
    for (const k of this.index) if (urlsMatch(k, image)) out.push(...this.creds.get(k)!);
    if (out.length) return out;
    if (isDefaultRegistryMatch(image)) return [...(this.creds.get(DEFAULT_REGISTRY_HOST) ?? [])];
    return [];
  }
}

/** secrets.go MakeDockerKeyring over the pod's pull secrets (an error when one is malformed) */
export function keyringFromSecrets(secrets: readonly KubeObject[]): DockerKeyring {
  const ring = new DockerKeyring();
  for (const s of secrets) {
    const cfg = dockerConfigOfSecret(s);
    if (cfg) ring.add(cfg);
  }
  return ring;
}
