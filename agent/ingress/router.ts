// The Ingress routing decision, pure: from the Ingresses of skiff's class (as pushed in the
// network state) to a table, and from a request's Host and path to the backend Service.
//
// Hosts: a rule's host matches exactly (case-insensitive, port stripped) or, as `*.foo.com`,
// any host with exactly one more label in front (`bar.foo.com`, not `foo.com` nor
// `a.b.foo.com`). Precedence: the rules of an exact host first, then of the one wildcard
// that can match, then rules without a host; the first group with a matching path
// wins, else the default backend (spec.defaultBackend of the first Ingress, by
// namespace/name, that has one), else nothing (404).
// Paths (networking.k8s.io/v1 semantics): Exact matches the path string exactly; Prefix
// matches element by element on `/` (`/foo/bar` matches `/foo/bar`, `/foo/bar/` and
// `/foo/bar/baz`, not `/foo/barbaz`; a trailing `/` on the rule is ignored);
// ImplementationSpecific is treated as Prefix. The longest matching path wins; on a tie,
// Exact beats Prefix, then the earlier Ingress (namespace/name) wins.
import type { NetIngress } from '../../proto/agent-protocol.js';

export interface Backend {
  namespace: string;
  service: string;
  port: number | string;
}
export interface Route {
  ingress: string;
  backend: Backend;
}

interface PathRule {
  path: string;
  exact: boolean /** the path's length as the tie-breaker counts it */;
  length: number;
  route: Route;
}

export interface RouteTable {
  exact: Map<string, PathRule[]>;
  /** wildcard suffix (`.foo.com`) → rules */
  wildcard: Map<string, PathRule[]>;
  any: PathRule[];
  defaultRoute?: Route;
}

/** a Host header → the lower-case host name without port (IPv6 literals keep their brackets off) */
export function normalizeHost(host: string | undefined): string {
  if (!host) return '';
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.indexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** the path of a request target, without query or fragment */
export function requestPath(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.search(/[?#]/);
  const p = q >= 0 ? u.slice(0, q) : u;
  if (p.startsWith('/')) return p;
  // absolute-form (a proxy request): keep only the path
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(p);
  return m ? (m[1] ?? '/') : '/';
}

/** Prefix: the rule's path elements are a prefix of the request's */
export function prefixMatches(rule: string, path: string): boolean {
  const r = rule.replace(/\/+$/, '');
  if (r === '') return true;
  if (!path.startsWith(r)) return false;
  return path.length === r.length || path[r.length] === '/';
}

export function buildTable(ingresses: readonly NetIngress[]): RouteTable {
  const table: RouteTable = { exact: new Map(), wildcard: new Map(), any: [] };
  const sorted = [...ingresses].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  for (const ing of sorted) {
    const id = `${ing.namespace}/${ing.name}`;
    if (ing.defaultBackend && !table.defaultRoute)
      table.defaultRoute = { ingress: id, backend: { namespace: ing.namespace, ...ing.defaultBackend } };
    for (const rule of ing.rules) {
      const host = (rule.host ?? '').toLowerCase();
      let bucket: PathRule[];
      if (!host) bucket = table.any;
      else if (host.startsWith('*.'))
        bucket = table.wildcard.get(host.slice(1)) ?? table.wildcard.set(host.slice(1), []).get(host.slice(1))!;
      else bucket = table.exact.get(host) ?? table.exact.set(host, []).get(host)!;
      for (const p of rule.paths) {
        const exact = p.pathType === 'Exact';
        // ImplementationSpecific with an empty path: every path, as Prefix "/"
        const path = p.path || '/';
        bucket.push({
          path,
          exact,
          length: exact ? path.length : path.replace(/\/+$/, '').length,
          route: { ingress: id, backend: { namespace: ing.namespace, ...p.backend } },
        });
      }
    }
  }
  // longest first; Exact before Prefix on a tie; the sort is stable, so Ingress order breaks the rest
  const order = (a: PathRule, b: PathRule) => b.length - a.length || Number(b.exact) - Number(a.exact);
  for (const rules of [...table.exact.values(), ...table.wildcard.values(), table.any]) rules.sort(order);
  return table;
}

function firstMatch(rules: readonly PathRule[] | undefined, path: string): Route | undefined {
  if (!rules) return undefined;
  for (const r of rules) {
    if (r.exact ? r.path === path : prefixMatches(r.path, path)) return r.route;
  }
  return undefined;
}

/** the route for a request, or undefined (the default backend answers 404) */
export function route(table: RouteTable, hostHeader: string | undefined, url: string | undefined): Route | undefined {
  const host = normalizeHost(hostHeader);
  const path = requestPath(url);
  const exact = firstMatch(table.exact.get(host), path);
  if (exact) return exact;
  const dot = host.indexOf('.');
  if (dot > 0) {
    const wild = firstMatch(table.wildcard.get(host.slice(dot)), path);
    if (wild) return wild;
  }
  return firstMatch(table.any, path) ?? table.defaultRoute;
}
