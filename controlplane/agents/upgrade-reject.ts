// Refusing an HTTP upgrade (agent connection, exec, port-forward) with a Kubernetes
// Status body on the raw socket, so clients print the same errors as for REST calls.
// The socket is closed shortly after, also when the peer never closes its side.
import type { Duplex } from 'node:stream';
import { closeSoon, rawStatusResponse } from '../api/http-edge.js';

export function rejectUpgrade(socket: Duplex, code: number, message: string, reason = 'BadRequest'): void {
  if (socket.destroyed) return;
  if (!socket.writable || socket.writableEnded) {
    socket.destroy();
    return;
  }
  socket.end(rawStatusResponse(code, reason, message));
  closeSoon(socket);
}
