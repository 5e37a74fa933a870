// Refusing an HTTP upgrade (agent connection, exec, port-forward) with a Kubernetes
// Status body on the raw socket, so clients print the same errors as for REST calls.
import type { Duplex } from 'node:stream';

export function rejectUpgrade(socket: Duplex, code: number, message: string, reason = 'BadRequest'): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
