// Clients other than kubectl, against a real server and agent with a real Docker pod: the
// requests the official Python client makes, byte for byte in their conventions —
// booleans spelled `True`/`False` (Python's str(bool)), its User-Agent, a watch read
// line by line, `follow=True` logs, exec over the v4.channel.k8s.io WebSocket with
// `stdout=True&stderr=True&stdin=False&tty=False`, and client-go's metadata-only list.
// Before the query booleans were parsed as Go's strconv.ParseBool, `True` read as false:
// the watch answered a list, the log ended at once, exec had no output streams.
import { request } from 'node:https';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  httpsRequest,
  k,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();
const UA = 'OpenAPI-Generator/31.0.0/python';

/** GET a streaming response and hand each chunk of text to `done` until it says so (or the deadline). */
function stream(
  s: ServerProc,
  path: string,
  done: (text: string) => boolean,
  timeoutMs = 30_000,
): Promise<{ status: number; text: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: s.port,
        path,
        method: 'GET',
        ca: s.caPem,
        servername: 'localhost',
        headers: { Authorization: `Bearer ${s.token}`, Accept: 'application/json', 'User-Agent': UA },
      },
      (res) => {
        let text = '';
        const timer = setTimeout(() => {
          req.destroy();
          reject(new Error(`no end after ${timeoutMs} ms; got: ${text.slice(-500)}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, text, contentType: String(res.headers['content-type'] ?? '') });
        };
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          if (done(text)) finish();
        });
        res.on('end', finish);
        res.on('error', () => undefined);
      },
    );
    req.on('error', (e) => {
      if (!req.destroyed) reject(e);
    });
    req.end();
  });
}

describe.skipIf(!enabled)("the official Python client's conventions (booleans as True)", () => {
  let s: ServerProc;
  let a: AgentProc;
  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 30_000, 200);
  }, 60_000);
  afterAll(async () => {
    await a?.kill();
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('watch=True streams events until the pod runs; watch=False lists', async () => {
    const seen = stream(
      s,
      '/api/v1/namespaces/default/pods?watch=True&timeoutSeconds=60',
      (t) => t.split('\n').some((l) => l.includes('"phase":"Running"')),
      60_000,
    );
    const created = await httpsRequest(
      s,
      'POST',
      '/api/v1/namespaces/default/pods',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'talker' },
        spec: {
          nodeName: a.node,
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'c',
              image: BUSYBOX,
              command: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo line $i; sleep 0.2; done'],
            },
          ],
        },
      },
      { 'User-Agent': UA },
    );
    expect(created.status).toBe(201);
    const w = await seen;
    expect(w.status).toBe(200);
    const events = w.text
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            object: { kind: string; metadata: { name: string }; status?: { phase?: string } };
          },
      );
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { kind: 'Pod', metadata: { name: 'talker' } } });
    expect(events.at(-1)).toMatchObject({ type: 'MODIFIED', object: { status: { phase: 'Running' } } });

    const list = await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods?watch=False', undefined, {
      'User-Agent': UA,
    });
    expect(list.json).toMatchObject({ kind: 'PodList', items: [{ metadata: { name: 'talker' } }] });
    // the write was recorded under the client's own field manager (its User-Agent up to the first '/')
    expect(list.json.items[0].metadata.managedFields[0]).toMatchObject({
      manager: 'OpenAPI-Generator',
      operation: 'Update',
    });
  }, 90_000);

  it('follow=True keeps the log open and new lines arrive', async () => {
    const numbers = (t: string) => [...t.matchAll(/^line (\d+)$/gm)].map((m) => Number(m[1]));
    // the pod is Running, but its first line may not be in the log yet: wait for one
    const last = await eventually(async () => {
      const first = (
        await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods/talker/log?follow=False', undefined, {
          'User-Agent': UA,
        })
      ).body;
      const n = Math.max(0, ...numbers(first));
      expect(n).toBeGreaterThan(0);
      return n;
    });
    // a followed log keeps streaming past what existed when it was asked for
    const followed = await stream(
      s,
      '/api/v1/namespaces/default/pods/talker/log?follow=True&timestamps=False',
      (t) => Math.max(0, ...numbers(t)) >= last + 5,
    );
    expect(followed.status).toBe(200);
    expect(Math.max(...numbers(followed.text))).toBeGreaterThanOrEqual(last + 5);
  }, 60_000);

  it('exec with stdout=True&stderr=True over v4.channel.k8s.io: both streams and the Success status', async () => {
    const cmd = ['sh', '-c', 'echo to-out; echo to-err >&2'].map((c) => `command=${encodeURIComponent(c)}`).join('&');
    const ws = new WebSocket(
      `wss://127.0.0.1:${s.port}/api/v1/namespaces/default/pods/talker/exec?${cmd}&stderr=True&stdin=False&stdout=True&tty=False`,
      ['v4.channel.k8s.io'],
      {
        ca: s.caPem,
        servername: 'localhost',
        headers: { Authorization: `Bearer ${s.token}`, 'User-Agent': UA },
      } as WebSocket.ClientOptions,
    );
    const frames: Buffer[] = [];
    ws.on('message', (m: Buffer) => frames.push(Buffer.from(m)));
    const closed = new Promise<void>((r) => ws.on('close', () => r()));
    await new Promise((r, j) => {
      ws.on('open', r);
      ws.on('error', j);
    });
    expect(ws.protocol).toBe('v4.channel.k8s.io');
    await closed;
    const channel = (n: number) => Buffer.concat(frames.filter((f) => f[0] === n).map((f) => f.subarray(1))).toString();
    expect(channel(1)).toBe('to-out\n');
    expect(channel(2)).toBe('to-err\n');
    expect(JSON.parse(channel(3))).toMatchObject({ status: 'Success' });
  }, 60_000);

  it('a metadata-only list (client-go metadata informers) is a PartialObjectMetadataList', async () => {
    const r = await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods', undefined, {
      Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
      'User-Agent': UA,
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      items: [{ kind: 'PartialObjectMetadata', metadata: { name: 'talker' } }],
    });
    expect(r.json.items[0].spec).toBeUndefined();
  });
});
