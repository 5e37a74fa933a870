// k3s-style CA pinning: the join token carries the sha256 of the server's CA, so the
// agent fetches /cacerts without trusting it yet, checks the hash, then trusts only it.
import { createHash } from 'node:crypto';
import { request } from 'node:https';

export function parseJoinToken(token: string): { caHash?: string; secret: string } {
  const m = /^K10([0-9a-f]{64})::(?:[^:]+:)?(.+)$/.exec(token.trim());
  return m ? { caHash: m[1], secret: m[2]! } : { secret: token.trim() };
}

export function fetchPinnedCa(serverUrl: string, caHash: string, timeoutMs = 10_000): Promise<string> {
  const u = new URL('/cacerts', serverUrl);
  return new Promise((resolve, reject) => {
    const req = request(u, { rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
        if (body.length > 1 << 20) req.destroy(new Error('cacerts too large'));
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${u} answered ${res.statusCode}`));
        const got = createHash('sha256').update(body).digest('hex');
        if (got !== caHash)
          return reject(
            new Error(`server CA hash ${got} does not match the join token's ${caHash}: refusing to trust ${u.host}`),
          );
        resolve(body);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${u}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}
