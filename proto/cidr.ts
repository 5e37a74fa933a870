// IPv4 address and CIDR arithmetic shared by the server (podCIDR, ClusterIP allocation)
// and the agent (routes, iptables). IPv4 only: skiff's pod and service networks are v4.

export interface Cidr {
  /** network address as an unsigned 32-bit integer */
  base: number;
  prefix: number;
}

export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i]!.length > 1 && m[i]!.startsWith('0'))) return undefined;
    n = n * 256 + o;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const mask = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** Parses `a.b.c.d/p`; the host bits must be zero (as Kubernetes requires of CIDR flags). */
export function parseCidr(s: string): Cidr | undefined {
  const [ip, p, ...rest] = s.split('/');
  if (rest.length || p === undefined || !/^\d{1,2}$/.test(p)) return undefined;
  const prefix = Number(p);
  const base = parseIPv4(ip ?? '');
  if (base === undefined || prefix > 32) return undefined;
  if ((base & mask(prefix)) >>> 0 !== base) return undefined;
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return (ip & mask(c.prefix)) >>> 0 === c.base;
}

/** The index-th subnet of length `prefix` inside `c` (undefined past the end). */
export function subnet(c: Cidr, prefix: number, index: number): Cidr | undefined {
  if (prefix < c.prefix || prefix > 32) return undefined;
  const count = 2 ** (prefix - c.prefix);
  if (!Number.isInteger(index) || index < 0 || index >= count) return undefined;
  return { base: (c.base + index * 2 ** (32 - prefix)) >>> 0, prefix };
}

/** Address at offset `n` from the network address (offset 1 = the gateway by convention). */
export function nthAddress(c: Cidr, n: number): string {
  return formatIPv4((c.base + n) >>> 0);
}
