// tcpSocket probes, as kubelet's pkg/probe/tcp: healthy when a TCP connection opens
// within timeoutSeconds; the message is Go's dial error.
import { connect } from 'node:net';
import { dialError, joinHostPort } from './http.js';
import type { ProbeResult } from './types.js';

export function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ result: ProbeResult; output: string }> {
  return new Promise((resolve) => {
    const hostPort = joinHostPort(host, port);
    let done = false;
    const finish = (result: ProbeResult, output: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ result, output });
    };
    const sock = connect({ host, port });
    const timer = setTimeout(() => finish('failure', `dial tcp ${hostPort}: i/o timeout`), timeoutMs);
    sock.on('connect', () => finish('success', ''));
    sock.on('error', (err: NodeJS.ErrnoException) => finish('failure', dialError(hostPort, err)));
  });
}
