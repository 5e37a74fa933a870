// httpGet for probes and lifecycle hooks, as kubelet's pkg/probe/http: GET to the pod IP
// (or httpGet.host) on a port given by number or by container port name, the user's
// headers (a Host header overrides the host), TLS without verification, 200-399 is
// healthy. Errors read like Go's net/http ones, since users search for those.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HTTPGetAction, ProbedContainer } from './types.js';

export const PROBE_USER_AGENT = 'kube-probe/1.32';
export const LIFECYCLE_USER_AGENT = 'kube-lifecycle/1.32';
/** kubelet reads at most 10 KiB of a probe's body or output */
export const MAX_OUTPUT = 10 * 1024;

/** kubelet probeForPort: a number, a numeric string, or the name of one of the container's ports */
export function resolvePort(port: number | string | undefined, container: Pick<ProbedContainer, 'ports'>): number {
  let n: number;
  if (typeof port === 'number') n = port;
  else if (typeof port === 'string' && port !== '') {
    const named = (container.ports ?? []).find((p) => p.name === port);
    if (named) n = named.containerPort;
    else if (/^\d+$/.test(port)) n = Number(port);
    else throw new Error(`port ${port} not found`);
  } else throw new Error(`port ${String(port)} not found`);
  if (!Number.isInteger(n) || n <= 0 || n >= 65536) throw new Error(`invalid port number: ${n}`);
  return n;
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface HttpGetRequest {
  url: string;
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** path with query, always starting with "/" */
  path: string;
  headers: Record<string, string | string[]>;
}

/** kubelet NewRequestForHTTPGetAction: pure, so the URL rules have a table */
export function buildHttpGetRequest(
  action: HTTPGetAction,
  container: Pick<ProbedContainer, 'ports'>,
  podIP: string | undefined,
  userAgent = PROBE_USER_AGENT,
): HttpGetRequest {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw new Error(`unsupported scheme: ${action.scheme}`);
  const host = action.host || podIP;
  if (!host) throw new Error('pod has no IP yet');
  const port = resolvePort(action.port, container);
  let path = action.path ?? '';
  if (!path.startsWith('/')) path = `/${path}`;
  const headers: Record<string, string | string[]> = {};
  for (const h of action.httpHeaders ?? []) {
    const prev = Object.keys(headers).find((k) => k.toLowerCase() === h.name.toLowerCase());
    if (prev === undefined) headers[h.name] = h.value;
    else headers[prev] = ([] as string[]).concat(headers[prev]!, h.value);
  }
  const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  if (!has('user-agent')) headers['User-Agent'] = userAgent;
  if (!has('accept')) headers.Accept = '*/*';
  return { url: `${scheme}://${joinHostPort(host, port)}${path}`, scheme, host, port, path, headers };
}

/** Go's wording for a dial error, e.g. "dial tcp 10.42.0.5:8080: connect: connection refused" */
export function dialError(hostPort: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${hostPort}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${hostPort}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${hostPort}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${hostPort}: read: connection reset by peer`;
    default:
      return err.message;
  }
}

export interface HttpResponse {
  status: number;
  body: string;
}

/** one GET; rejects with a Go-like message on transport errors and timeouts */
export function httpGet(req: HttpGetRequest, timeoutMs: number): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (msg: string) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        r.destroy();
        reject(new Error(`Get "${req.url}": ${msg}`));
      }
    };
    const send = req.scheme === 'https' ? httpsRequest : httpRequest;
    const r = send(
      {
        host: req.host,
        port: req.port,
        path: req.path,
        method: 'GET',
        headers: req.headers,
        agent: false,
        ...(req.scheme === 'https' ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (body.length < MAX_OUTPUT) body += d;
          if (body.length >= MAX_OUTPUT) {
            body = body.slice(0, MAX_OUTPUT);
            res.destroy();
            finish();
          }
        });
        const finish = () => {
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body });
          }
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      },
    );
    const timer = setTimeout(
      () => fail('context deadline exceeded (Client.Timeout exceeded while awaiting headers)'),
      timeoutMs,
    );
    r.on('error', (err: NodeJS.ErrnoException) => fail(dialError(joinHostPort(req.host, req.port), err)));
    r.end();
  });
}
