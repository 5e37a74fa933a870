// The protobuf wire format, read side only: varints, fixed 32/64-bit words, length-delimited
// fields and (deprecated) groups. Written from the encoding spec
// (https://protobuf.dev/programming-guides/encoding/); every read is bounds-checked and every
// malformed input ends in a WireError, never in an out-of-range read or a crash.

export class WireError extends Error {}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** a 64-bit varint as two unsigned 32-bit halves (JS numbers are exact only to 2^53) */
export interface U64 {
  lo: number;
  hi: number;
}

/** nesting limit for groups skipped as unknown fields (guards the stack against crafted input) */
const MAX_GROUP_DEPTH = 64;

export class Reader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new WireError('invalid slice');
    this.pos = start;
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  /** a varint of up to 10 bytes */
  varint64(): U64 {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('unexpected EOF');
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 1) throw new WireError('integer overflow');
        return { lo: lo >>> 0, hi: hi >>> 0 };
      }
    }
    throw new WireError('integer overflow');
  }

  /** a varint that must fit 32 bits unsigned (tags, lengths) */
  uint32(): number {
    const v = this.varint64();
    if (v.hi !== 0) throw new WireError('integer overflow');
    return v.lo;
  }

  fixed32(): number {
    if (this.end - this.pos < 4) throw new WireError('unexpected EOF');
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  fixed64(): U64 {
    const lo = this.fixed32();
    const hi = this.fixed32();
    return { lo, hi };
  }

  /** the bounds [start, end) of a length-delimited payload; the reader moves past it */
  lengthDelimited(): { start: number; end: number } {
    const len = this.uint32();
    if (len > this.end - this.pos) throw new WireError('unexpected EOF');
    const start = this.pos;
    this.pos += len;
    return { start, end: this.pos };
  }

  bytes(): Uint8Array {
    const { start, end } = this.lengthDelimited();
    return this.buf.subarray(start, end);
  }

  /** the next tag: field number and wire type */
  tag(): { field: number; wire: number } {
    const t = this.uint32();
    const field = t >>> 3;
    const wire = t & 7;
    if (field === 0) throw new WireError('illegal tag 0');
    return { field, wire };
  }

  /** skip one field's payload by its wire type (unknown fields, as protobuf requires) */
  skip(wire: number, field: number, depth = 0): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        if (this.end - this.pos < 8) throw new WireError('unexpected EOF');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        if (this.end - this.pos < 4) throw new WireError('unexpected EOF');
        this.pos += 4;
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw new WireError('groups nested too deeply');
        for (;;) {
          if (this.eof()) throw new WireError('unexpected EOF in group');
          const t = this.tag();
          if (t.wire === WIRE_END_GROUP) {
            if (t.field !== field) throw new WireError('mismatched end group');
            return;
          }
          this.skip(t.wire, t.field, depth + 1);
        }
      }
      case WIRE_END_GROUP:
        throw new WireError('unexpected end group');
      default:
        throw new WireError(`illegal wireType ${wire}`);
    }
  }
}

// ---- varint interpretations -------------------------------------------------------

/** int32: the low 32 bits, two's complement (negative int32s travel as 10-byte varints) */
export function asInt32(v: U64): number {
  return v.lo | 0;
}

export function asUint32(v: U64): number {
  return v.lo >>> 0;
}

/** int64 as a JS number (exact within ±2^53, which every Kubernetes int64 field stays inside) */
export function asInt64(v: U64): number {
  if (v.hi === 0) return v.lo;
  if (v.hi === 0xffffffff && v.lo >= 0x80000000) return v.lo | 0; // small negative
  return Number(BigInt.asIntN(64, (BigInt(v.hi) << 32n) | BigInt(v.lo)));
}

export function asUint64(v: U64): number {
  return Number((BigInt(v.hi) << 32n) | BigInt(v.lo));
}

export function asDouble(v: U64): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(0, v.lo, true);
  dv.setUint32(4, v.hi, true);
  return dv.getFloat64(0, true);
}

export function asFloat(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits, true);
  return dv.getFloat32(0, true);
}
