// The Service ClusterIP and NodePort allocators (pkg/registry/core/service/ipallocator and
// portallocator over allocator/bitmap.go), rebuilt for each write from what the stored
// Services hold instead of kept in a bitmap of their own: the caller lists the Services
// and runs the allocation and the store write under one lock (ApiStorage's allocate hook).
//
// As in Kubernetes:
// - the IP range is the CIDR without its network and broadcast addresses;
// - dynamic allocation is random, first from the upper part of the range, then from the
//   lower band kept for static assignments (16..256 IPs, 16..128 ports: a 1/16 of the
//   CIDR, a 1/32 of the port range), so well-known addresses such as the cluster DNS
//   IP rarely collide with an earlier dynamic one;
// - the errors read "range is full", "provided IP is already allocated", "provided port
//   is already allocated" and the not-in-range messages that name the valid range.
import { randomInt } from 'node:crypto';
import { formatCidr, formatIPv4, parseCidr, parseIPv4, type Cidr } from '../../proto/cidr.js';

export class AllocationError extends Error {
  constructor(
    message: string,
    readonly kind: 'full' | 'allocated' | 'range',
  ) {
    super(message);
  }
}

export const ERR_FULL = 'range is full';

/** The index of a free slot in [0, max), random in [offset, max) first, then in [0, offset). */
function nextFree(max: number, offset: number, taken: (i: number) => boolean): number | undefined {
  const scan = (from: number, count: number): number | undefined => {
    if (count <= 0) return undefined;
    const start = randomInt(count);
    for (let i = 0; i < count; i++) {
      const idx = from + ((start + i) % count);
      if (!taken(idx)) return idx;
    }
    return undefined;
  };
  return scan(offset, max - offset) ?? scan(0, Math.min(offset, max));
}

/** calculateRangeOffset: how much of the start of a range is kept for static assignment. */
export function rangeOffset(size: number, min: number, max: number, step: number): number {
  if (size < min) return 0;
  return Math.max(min, Math.min(max, Math.floor(size / step)));
}

export class IPAllocator {
  readonly cidr: Cidr;
  /** first usable address (network + 1) */
  private readonly first: number;
  /** number of usable addresses */
  readonly size: number;
  private readonly offset: number;
  private readonly used = new Set<number>();

  constructor(serviceCidr: string, allocated: Iterable<string> = []) {
    const c = parseCidr(serviceCidr);
    if (!c) throw new Error(`invalid service CIDR ${serviceCidr}`);
    this.cidr = c;
    const total = 2 ** (32 - c.prefix);
    // /31 and /32 have no network/broadcast addresses to skip
    this.first = total > 2 ? c.base + 1 : c.base;
    this.size = total > 2 ? total - 2 : total;
    this.offset = rangeOffset(total, 16, 256, 16);
    for (const ip of allocated) {
      const n = parseIPv4(ip);
      if (n !== undefined && this.inRange(n)) this.used.add(n);
    }
  }

  get range(): string {
    return formatCidr(this.cidr);
  }

  private inRange(n: number): boolean {
    return n >= this.first && n < this.first + this.size;
  }

  has(ip: string): boolean {
    const n = parseIPv4(ip);
    return n !== undefined && this.used.has(n);
  }

  /** Reserve a requested address. */
  allocate(ip: string): void {
    const n = parseIPv4(ip);
    if (n === undefined || !this.inRange(n)) {
      throw new AllocationError(
        `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.range}`,
        'range',
      );
    }
    if (this.used.has(n)) throw new AllocationError('provided IP is already allocated', 'allocated');
    this.used.add(n);
  }

  /** Reserve a random free address. */
  allocateNext(): string {
    const i = nextFree(this.size, Math.min(this.offset, this.size), (k) => this.used.has(this.first + k));
    if (i === undefined) throw new AllocationError(ERR_FULL, 'full');
    this.used.add(this.first + i);
    return formatIPv4(this.first + i);
  }

  release(ip: string): void {
    const n = parseIPv4(ip);
    if (n !== undefined) this.used.delete(n);
  }

  get free(): number {
    return this.size - this.used.size;
  }
}

export class PortAllocator {
  private readonly used = new Set<number>();
  private readonly offset: number;
  readonly size: number;

  constructor(
    readonly range: { min: number; max: number },
    allocated: Iterable<number> = [],
  ) {
    this.size = range.max - range.min + 1;
    this.offset = rangeOffset(this.size, 16, 128, 32);
    for (const p of allocated) if (this.contains(p)) this.used.add(p);
  }

  get rangeString(): string {
    return `${this.range.min}-${this.range.max}`;
  }

  contains(port: number): boolean {
    return Number.isInteger(port) && port >= this.range.min && port <= this.range.max;
  }

  has(port: number): boolean {
    return this.used.has(port);
  }

  allocate(port: number): void {
    if (!this.contains(port))
      throw new AllocationError(
        `provided port is not in the valid range. The range of valid ports is ${this.rangeString}`,
        'range',
      );
    if (this.used.has(port)) throw new AllocationError('provided port is already allocated', 'allocated');
    this.used.add(port);
  }

  allocateNext(): number {
    const i = nextFree(this.size, this.offset, (k) => this.used.has(this.range.min + k));
    if (i === undefined) throw new AllocationError(ERR_FULL, 'full');
    this.used.add(this.range.min + i);
    return this.range.min + i;
  }

  release(port: number): void {
    this.used.delete(port);
  }

  get free(): number {
    return this.size - this.used.size;
  }
}
