// The agent's DNS server over real UDP and TCP sockets on loopback: cluster answers,
// NXDOMAIN, forwarding to an upstream (a scripted resolver here), and garbage ignored.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { DnsServer } from '../../agent/network/dns-server.js';
import { DnsRecords } from '../../agent/network/dns-records.js';

const records = DnsRecords.from({
  type: 'network',
  clusterCIDR: '10.42.0.0/16',
  serviceCIDR: '10.43.0.0/16',
  clusterDNS: '10.43.0.10',
  clusterDomain: 'cluster.local',
  nodes: [],
  services: [
    {
      namespace: 'default',
      name: 'web',
      type: 'ClusterIP',
      clusterIP: '10.43.7.7',
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
      endpoints: [],
    },
  ],
});

const upstream = createSocket('udp4');
let server: DnsServer;

function ask(name: string, type = 'A'): Promise<dnsPacket.Packet & { rcode?: string; flag_aa?: boolean }> {
  const s = createSocket('udp4');
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      s.close();
      reject(new Error('timeout'));
    }, 3000);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(dnsPacket.decode(m) as never);
    });
    s.send(
      dnsPacket.encode({
        type: 'query',
        id: 4242,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: type as 'A', name }],
      }),
      server.port,
      '127.0.0.1',
    );
  });
}

beforeAll(async () => {
  // the "node's resolver": answers every A question with 192.0.2.99
  upstream.on('message', (m, r) => {
    const q = dnsPacket.decode(m);
    upstream.send(
      dnsPacket.encode({
        type: 'response',
        id: q.id,
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: q.questions,
        answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: '192.0.2.99' }],
      }),
      r.port,
      r.address,
    );
  });
  await new Promise<void>((r) => upstream.bind(0, '127.0.0.2', () => r()));
  server = new DnsServer({
    host: '127.0.0.1',
    port: 0,
    records: () => records,
    log: pino({ level: 'silent' }),
    upstreams: [`127.0.0.2:${upstream.address().port}`],
  });
  await server.start();
});
afterAll(() => {
  server.stop();
  upstream.close();
});

describe('DnsServer', () => {
  it('answers cluster names authoritatively with TTL 5 and the query id', async () => {
    const r = await ask('web.default.svc.cluster.local');
    expect(r.id).toBe(4242);
    expect(r.rcode).toBe('NOERROR');
    expect(r.flag_aa).toBe(true);
    expect(r.answers).toMatchObject([{ type: 'A', name: 'web.default.svc.cluster.local', data: '10.43.7.7', ttl: 5 }]);
  });

  it('NXDOMAIN for missing cluster names (fast search-path fallthrough)', async () => {
    const r = await ask('example.org.default.svc.cluster.local');
    expect(r.rcode).toBe('NXDOMAIN');
  });

  it('answers over TCP with length framing', async () => {
    const q = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [{ type: 'A', name: 'web.default.svc.cluster.local' }],
    });
    const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]);
    const out = await new Promise<Buffer>((resolve, reject) => {
      const c = connect(server.port, '127.0.0.1', () => c.write(framed));
      let buf = Buffer.alloc(0);
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          c.end();
          resolve(buf.subarray(2));
        }
      });
      c.on('error', reject);
    });
    expect(dnsPacket.decode(out).answers?.[0]).toMatchObject({ data: '10.43.7.7' });
  });

  it("forwards other names upstream and relays the answer under the client's id", async () => {
    const r = await ask('example.org');
    expect(r.id).toBe(4242);
    expect(r.answers).toMatchObject([{ type: 'A', data: '192.0.2.99' }]);
  });

  it('ignores garbage and keeps serving', async () => {
    const s = createSocket('udp4');
    // once each send has called back the datagram sits in the server's receive queue,
    // ahead of the question below (no fixed pause needed)
    await Promise.all(
      [Buffer.from('x'), Buffer.alloc(12, 0xff), Buffer.alloc(600, 7)].map(
        (junk) =>
          new Promise<void>((resolve, reject) =>
            s.send(junk, server.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
          ),
      ),
    );
    s.close();
    expect((await ask('web.default.svc.cluster.local')).answers).toHaveLength(1);
  });
});
