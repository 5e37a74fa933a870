// The node's cluster DNS server (UDP and TCP, dns-packet for the wire format): cluster names
// from DnsRecords, authoritative, TTL 5 s like CoreDNS's kubernetes plugin; everything else
// forwarded to the node's own resolvers (read from its resolv.conf, so a host that uses
// systemd-resolved on 127.0.0.53 still works: the agent forwards from the host).
// Malformed packets are dropped; nothing a client sends can throw out of a handler.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import type { Logger } from 'pino';
import type { DnsRecords } from './dns-records.js';

const TTL = 5;
const FORWARD_TIMEOUT_MS = 2000;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

export interface DnsServerOptions {
  host: string;
  port: number;
  records: () => DnsRecords | undefined;
  log: Logger;
  /** upstream resolvers (IPv4, optionally ip:port); default: the nameservers of resolvConf */
  upstreams?: string[];
  /** default /etc/resolv.conf */
  resolvConf?: string;
}

export function hostResolvers(path = '/etc/resolv.conf'): {
  nameservers: string[];
  searches: string[];
  options: string[];
} {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    /* none */
  }
  const nameservers: string[] = [];
  let searches: string[] = [];
  const options: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [k, ...v] = line.split(/\s+/);
    if (k === 'nameserver' && v[0]) nameservers.push(v[0]);
    else if ((k === 'search' || k === 'domain') && v.length) searches = v;
    else if (k === 'options') options.push(...v);
  }
  return { nameservers, searches, options };
}

export class DnsServer {
  private udp?: Socket;
  private tcp?: Server;
  private upstream?: Socket;
  private pending = new Map<number, { resolve(b: Buffer | undefined): void; timer: NodeJS.Timeout }>();
  private nextId = Math.floor(Math.random() * 65536);
  port = 0;
  queries = 0;

  constructor(private readonly o: DnsServerOptions) {}

  async start(): Promise<void> {
    const udp = createSocket({ type: 'udp4', reuseAddr: false });
    udp.on('message', (msg, rinfo) => {
      void this.answer(msg, 512).then(
        (out) => {
          if (out) udp.send(out, rinfo.port, rinfo.address);
        },
        () => undefined,
      );
    });
    udp.on('error', (err) => this.o.log.warn({ err: err.message }, 'DNS UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.o.port, this.o.host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    this.udp = udp;
    this.port = udp.address().port;
    const tcp = createServer((sock) => this.serveTcp(sock));
    tcp.on('error', (err) => this.o.log.warn({ err: err.message }, 'DNS TCP server error'));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.port, this.o.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp = tcp;
    const up = createSocket('udp4');
    up.on('message', (msg) => {
      if (msg.length < 2) return;
      const p = this.pending.get(msg.readUInt16BE(0));
      if (p) {
        this.pending.delete(msg.readUInt16BE(0));
        clearTimeout(p.timer);
        p.resolve(msg);
      }
    });
    up.on('error', () => undefined);
    await new Promise<void>((r) => up.bind(0, () => r()));
    this.upstream = up;
  }

  stop(): void {
    this.udp?.close();
    this.tcp?.close();
    this.upstream?.close();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.pending.clear();
  }

  private serveTcp(sock: TcpSocket): void {
    let buf = Buffer.alloc(0);
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length > 70_000) {
        sock.destroy();
        return;
      }
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void this.answer(msg, 65535).then(
          (out) => {
            if (!out || sock.destroyed) return;
            const len2 = Buffer.alloc(2);
            len2.writeUInt16BE(out.length);
            sock.write(Buffer.concat([len2, out]));
          },
          () => undefined,
        );
      }
    });
  }

  /** the response bytes for one query, or undefined to stay silent */
  async answer(msg: Buffer, maxSize: number): Promise<Buffer | undefined> {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    if (q.type !== 'query' || !q.questions?.length) return undefined;
    this.queries++;
    const question = q.questions[0]!;
    const reply = (rcode: number, answers: dnsPacket.Answer[] = [], aa = true): Buffer => {
      const flags =
        (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
        dnsPacket.RECURSION_AVAILABLE |
        ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
        rcode;
      let out = dnsPacket.encode({ id: q.id, type: 'response', flags, questions: [question], answers });
      if (out.length > maxSize) {
        out = dnsPacket.encode({
          id: q.id,
          type: 'response',
          flags: flags | dnsPacket.TRUNCATED_RESPONSE,
          questions: [question],
          answers: [],
        });
      }
      return out;
    };
    if ((((q.flags ?? 0) >> 11) & 0xf) !== 0) return reply(RCODE_NOTIMP); // only standard queries
    const records = this.o.records();
    const name = question.name;
    if (!records || !records.isClusterName(name)) return this.forward(msg, q, reply);
    if (question.class !== 'IN' && question.class !== undefined) return reply(RCODE_NXDOMAIN);
    const r = records.lookup(name, question.type);
    switch (r.kind) {
      case 'a':
        return reply(
          0,
          r.ips.map((ip) => ({ type: 'A', name, ttl: TTL, data: ip }) as dnsPacket.Answer),
        );
      case 'srv':
        return reply(
          0,
          r.records.map(
            (s) =>
              ({
                type: 'SRV',
                name,
                ttl: TTL,
                data: { priority: 0, weight: Math.floor(100 / r.records.length), port: s.port, target: s.target },
              }) as dnsPacket.Answer,
          ),
        );
      case 'cname': {
        const answers: dnsPacket.Answer[] = [{ type: 'CNAME', name, ttl: TTL, data: r.target }];
        if (question.type === 'A' || question.type === 'AAAA') {
          // resolve the target for the client, as CoreDNS does, so stub resolvers get addresses
          const target = await this.query(r.target, question.type);
          for (const a of target ?? []) if (a.type === question.type) answers.push(a);
        }
        return reply(0, answers);
      }
      case 'nxdomain':
        return reply(RCODE_NXDOMAIN);
      default:
        return reply(0);
    }
  }

  private upstreams(): string[] {
    const list = this.o.upstreams ?? hostResolvers(this.o.resolvConf).nameservers;
    return list.filter((s) => s !== this.o.host && /^\d+\.\d+\.\d+\.\d+(:\d+)?$/.test(s)).slice(0, 3);
  }

  private async forward(msg: Buffer, q: dnsPacket.Packet, reply: (rcode: number) => Buffer): Promise<Buffer> {
    for (const server of this.upstreams()) {
      const out = await this.exchange(msg, server);
      if (out) {
        out.writeUInt16BE(q.id ?? 0, 0);
        return out;
      }
    }
    return reply(RCODE_SERVFAIL);
  }

  private async query(name: string, type: string): Promise<dnsPacket.Answer[] | undefined> {
    const msg = dnsPacket.encode({
      type: 'query',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: type as 'A', name }],
    });
    for (const server of this.upstreams()) {
      const out = await this.exchange(msg, server);
      if (!out) continue;
      try {
        return dnsPacket.decode(out).answers;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  /** one UDP exchange with an upstream under a fresh id; undefined on timeout */
  private exchange(msg: Buffer, server: string): Promise<Buffer | undefined> {
    const up = this.upstream;
    if (!up) return Promise.resolve(undefined);
    let id = (this.nextId = (this.nextId + 1) & 0xffff);
    for (let i = 0; this.pending.has(id) && i < 65536; i++) id = this.nextId = (this.nextId + 1) & 0xffff;
    const copy = Buffer.from(msg);
    copy.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, FORWARD_TIMEOUT_MS);
      this.pending.set(id, { resolve, timer });
      const [host, port] = server.split(':');
      up.send(copy, Number(port ?? 53), host!, (err) => {
        if (err) {
          this.pending.delete(id);
          clearTimeout(timer);
          resolve(undefined);
        }
      });
    });
  }
}
