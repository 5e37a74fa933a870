// The exec terminal: xterm.js over the exec WebSocket kubectl uses (v5.channel.k8s.io,
// v4 as fallback). A browser cannot set Authorization on a WebSocket, so the token goes
// as the subprotocol base64url.bearer.authorization.k8s.io.<token> (as kube-apiserver
// accepts it). Channels: 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize. Loaded on
// demand (its own chunk), so the first view does not carry xterm.js.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { session } from './api.js';
import { bearerProtocol } from './logic.js';

export interface TerminalOptions {
  namespace: string;
  pod: string;
  container: string;
  onStatus: (s: string) => void;
}

export function openTerminal(host: HTMLElement, o: TerminalOptions): () => void {
  const term = new Terminal({
    convertEol: false,
    cursorBlink: true,
    fontSize: 13,
    fontFamily: 'ui-monospace, Menlo, Consolas, monospace',
    theme: { background: '#10141a' },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(host);
  try {
    fit.fit();
  } catch {
    /* not laid out yet */
  }
  const q = new URLSearchParams({ container: o.container, stdin: 'true', stdout: 'true', tty: 'true' });
  q.append('command', 'sh');
  q.append('command', '-c');
  q.append('command', 'command -v bash >/dev/null && exec bash || exec sh');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}/exec?${q}`;
  const ws = new WebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io', bearerProtocol(session.token() ?? '')]);
  ws.binaryType = 'arraybuffer';
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const send = (ch: number, data: Uint8Array) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const b = new Uint8Array(data.length + 1);
    b[0] = ch;
    b.set(data, 1);
    ws.send(b);
  };
  const resize = () => send(4, enc.encode(JSON.stringify({ Width: term.cols, Height: term.rows })));
  ws.onopen = () => {
    o.onStatus(`connected to ${o.pod}/${o.container}`);
    resize();
    term.focus();
  };
  ws.onmessage = (m) => {
    const b = new Uint8Array(m.data as ArrayBuffer);
    if (b.length < 1) return;
    if (b[0] === 1 || b[0] === 2) term.write(b.subarray(1));
    else if (b[0] === 3) {
      try {
        const s = JSON.parse(dec.decode(b.subarray(1))) as { status?: string; message?: string };
        o.onStatus(s.status === 'Success' ? 'session ended' : `session ended: ${s.message ?? 'failure'}`);
      } catch {
        o.onStatus('session ended');
      }
    }
  };
  ws.onerror = () => o.onStatus('the exec connection failed (not permitted, or the pod is not running?)');
  ws.onclose = (e) => {
    if (e.code !== 1000) o.onStatus(`disconnected (${e.code})`);
  };
  const input = term.onData((d) => send(0, enc.encode(d)));
  const sized = term.onResize(() => resize());
  const onWindow = () => {
    try {
      fit.fit();
    } catch {
      /* hidden */
    }
  };
  window.addEventListener('resize', onWindow);
  return () => {
    window.removeEventListener('resize', onWindow);
    input.dispose();
    sized.dispose();
    ws.close();
    term.dispose();
  };
}
