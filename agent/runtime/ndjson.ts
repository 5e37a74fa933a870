// The one reader of newline-delimited JSON streams (Docker's image pull progress and its
// events): splits the bytes into lines, parses each, hands on what parsed. A blank or
// malformed line is skipped; a line longer than MAX_LINE_BYTES is dropped rather than
// buffered, so nothing the stream sends can grow memory without bound.

import { StringDecoder } from 'node:string_decoder';

/** Far above any Docker progress or event line (a few hundred bytes). */
export const MAX_LINE_BYTES = 1 << 20;

/** Something that emits 'data' chunks: a Node stream, old-style or new. */
export interface DataSource {
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
}

/**
 * Calls `onMessage` with each JSON value the stream sends, one per line, as `unknown` (the
 * caller narrows it); what it throws is ignored. The stream's end, close and errors are
 * the caller's to handle.
 */
export function readNdjson(stream: DataSource, onMessage: (msg: unknown) => void): void {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  let skipping = false; // inside an over-long line: drop up to its newline
  stream.on('data', (chunk) => {
    buf += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (skipping) {
        skipping = false;
        continue;
      }
      if (!line) continue;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        continue; // a malformed line is skipped
      }
      try {
        onMessage(msg);
      } catch {
        // a consumer's bug must not break the stream
      }
    }
    if (buf.length > MAX_LINE_BYTES) {
      buf = '';
      skipping = true;
    }
  });
}

/** `v` as a record to read fields from (narrowing raw input), or an empty one. */
export function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
