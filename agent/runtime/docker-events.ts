// Docker's event stream as the runtime's container lifecycle events: one subscription per
// node (filtered by its label), reopened by itself with a short back-off when it breaks;
// a reconnect replays from the last second seen and what was delivered already is dropped.
// The consumer hears of a break (onReconnect: relist) once the stream is open again.

import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { toRuntimeError } from './docker-errors.js';
import { RuntimeError } from './errors.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_UID, nodeLabelFilter } from './labels.js';
import { parseName } from './names.js';
import { asRecord, readNdjson } from './ndjson.js';
import type { EventSubscriptionOptions, RuntimeEvent, RuntimeEventType } from './types.js';

export const EVENT_TYPES: RuntimeEventType[] = ['create', 'start', 'die', 'oom', 'stop', 'kill', 'destroy'];

function isEventType(action: string): action is RuntimeEventType {
  return (EVENT_TYPES as string[]).includes(action);
}

/** One message of Docker's event stream as a RuntimeEvent; undefined for other actions. Pure. */
export function toRuntimeEvent(raw: unknown): RuntimeEvent | undefined {
  const msg = asRecord(raw);
  const action = String(msg.Action ?? msg.status ?? '');
  if (!isEventType(action)) return undefined;
  const actor = asRecord(msg.Actor);
  const attrs: Record<string, unknown> = asRecord(actor.Attributes);
  const str = (v: unknown) => (v === undefined ? undefined : String(v));
  const name = str(attrs.name);
  return {
    type: action,
    id: String(actor.ID ?? msg.id ?? ''),
    // an adopted pooled sandbox has no pod labels: its name says whose it is
    podUid: str(attrs[LABEL_POD_UID]) ?? (name ? parseName(name)?.podUid : undefined),
    containerName: str(attrs[LABEL_CONTAINER_NAME]),
    exitCode: attrs.exitCode !== undefined ? Number(attrs.exitCode) : undefined,
    timeNano: Number(msg.timeNano ?? Number(msg.time ?? 0) * 1e9),
  };
}

export function subscribeEvents(
  docker: Docker,
  node: string,
  onEvent: (e: RuntimeEvent) => void,
  opts: EventSubscriptionOptions = {},
): { stop(): void } {
  let stopped = false;
  let current: Readable | undefined;
  let timer: NodeJS.Timeout | undefined;
  let backoffMs = 500;
  let lastNano = 0;
  let lastKeys = new Set<string>();

  const deliver = (raw: unknown) => {
    const ev = toRuntimeEvent(raw);
    if (!ev) return;
    // A reconnect replays from the last second seen: drop what was delivered already.
    const key = `${ev.id}/${ev.type}/${ev.timeNano}`;
    if (ev.timeNano < lastNano || lastKeys.has(key)) return;
    if (ev.timeNano > lastNano) {
      lastNano = ev.timeNano;
      lastKeys = new Set();
    }
    lastKeys.add(key);
    try {
      onEvent(ev);
    } catch {
      // a consumer's bug must not stop the event stream
    }
  };

  // The stream broke: tell the consumer (relist) once it is open again, not while Docker
  // is still away (a relist then fails, or races a daemon that is shutting down).
  let broken: { err?: RuntimeError } | undefined;

  const reconnect = (err?: RuntimeError) => {
    if (stopped || timer) return;
    current?.destroy();
    current = undefined;
    broken ??= { err };
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, backoffMs);
    // capped low: reconnecting to a local socket is cheap, and after a Docker restart
    // events should flow again within seconds, not after a long back-off
    backoffMs = Math.min(backoffMs * 2, 5_000);
  };

  const connect = async () => {
    if (stopped) return;
    let stream: Readable;
    try {
      // dockerode's typings say a NodeJS.ReadableStream; at run time it is the response stream
      stream = (await docker.getEvents({
        since: lastNano ? Math.floor(lastNano / 1e9) : undefined,
        filters: { type: ['container'], label: [nodeLabelFilter(node)], event: EVENT_TYPES },
      })) as Readable;
    } catch (e) {
      reconnect(toRuntimeError(e, 'docker events'));
      return;
    }
    if (stopped) {
      stream.destroy();
      return;
    }
    current = stream;
    if (broken) {
      const { err } = broken;
      broken = undefined;
      try {
        opts.onReconnect?.(err);
      } catch {
        // ignore
      }
    }
    stream.on('data', () => {
      backoffMs = 500;
    });
    readNdjson(stream, deliver);
    stream.on('error', (e: Error) => {
      if (current === stream) reconnect(toRuntimeError(e, 'docker events'));
    });
    stream.on('end', () => {
      if (current === stream) reconnect(new RuntimeError('Unavailable', 'docker events stream ended'));
    });
    stream.on('close', () => {
      if (current === stream) reconnect(new RuntimeError('Unavailable', 'docker events stream closed'));
    });
  };

  void connect();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const s = current;
      current = undefined;
      s?.destroy();
    },
  };
}
