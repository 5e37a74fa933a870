// An in-cluster API client for the node-client test image (scripts/build-test-images.sh):
// what client libraries do in a pod (client-go's rest.InClusterConfig) with nothing but
// node's https module. It reads the mounted ServiceAccount token, CA and namespace from
// /var/run/secrets/kubernetes.io/serviceaccount, finds the API through
// KUBERNETES_SERVICE_HOST/PORT (or --server, e.g. https://kubernetes.default.svc), and
// verifies the server's certificate against ca.crt (never skipped).
//
//   node /usr/local/lib/kube-client.mjs [--server URL] [--token-file F] [--ca-file F] [METHOD] PATH
//
// PATH may use {namespace} for the pod's namespace. Prints `HTTP <status>` then the body;
// exit 0 on any HTTP answer, 2 when no answer came (DNS, connection, TLS), 3 when the
// token, CA or namespace file is missing, 1 on bad usage.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function usage(msg) {
  process.stderr.write(
    `kube-client: ${msg}\nusage: kube-client.mjs [--server URL] [--token-file F] [--ca-file F] [METHOD] PATH\n`,
  );
  process.exit(1);
}

const args = process.argv.slice(2);
let server;
let tokenFile = `${SA_DIR}/token`;
let caFile = `${SA_DIR}/ca.crt`;
const rest = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--server') server = args[++i];
  else if (args[i] === '--token-file') tokenFile = args[++i];
  else if (args[i] === '--ca-file') caFile = args[++i];
  else rest.push(args[i]);
}
if (rest.length < 1 || rest.length > 2) usage('want [METHOD] PATH');
const [method, rawPath] = rest.length === 2 ? [rest[0].toUpperCase(), rest[1]] : ['GET', rest[0]];

if (!server) {
  // client-go's InClusterConfig: both variables or it is not in a cluster
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    usage(
      'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined',
    );
  server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

const read = (f) => {
  try {
    return readFileSync(f, 'utf8');
  } catch (e) {
    process.stderr.write(`kube-client: ${e.message}\n`);
    process.exit(3);
  }
};
const token = read(tokenFile).trim();
const ca = read(caFile);
// the namespace file only when the path asks for it
const path = rawPath.includes('{namespace}')
  ? rawPath.replaceAll('{namespace}', read(`${SA_DIR}/namespace`).trim())
  : rawPath;
const url = new URL(path, server);

const req = request(
  url,
  {
    method,
    ca,
    rejectUnauthorized: true,
    timeout: 10_000,
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'User-Agent': 'skiff-kube-client' },
  },
  (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => {
      body += d;
    });
    res.on('end', () => {
      process.stdout.write(`HTTP ${res.statusCode}\n${body}\n`);
      process.exit(0);
    });
  },
);
req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} in 10s`)));
req.on('error', (e) => {
  process.stderr.write(`kube-client: ${method} ${url.href}: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
  process.exit(2);
});
req.end();
