// Kubernetes resource quantities ("500m", "128Mi", "1e3", "123456n"), parsed exactly:
// a quantity is kept as mantissa × 10^exp10 × 2^exp2 with a BigInt mantissa, so
// conversions to millicores/bytes round the way resource.Quantity does (up). No I/O.

export class QuantityError extends Error {
  constructor(public readonly input: string) {
    super(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
    this.name = 'QuantityError';
  }
}

interface Exact {
  mantissa: bigint; // signed
  exp10: number;
  exp2: number;
}

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

// Number part as apimachinery's parseQuantityString accepts it: sign, digits, optional fraction.
const QUANTITY_RE = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/;

function parseExact(input: string | number): Exact {
  const s = typeof input === 'number' ? numberToString(input) : input.trim();
  const m = QUANTITY_RE.exec(s);
  if (!m || s === '') throw new QuantityError(String(input));
  const [, sign, whole, frac = '', suffix] = m;
  if (whole === '' && frac === '') throw new QuantityError(String(input));
  let mantissa = BigInt((whole || '0') + frac);
  if (sign === '-') mantissa = -mantissa;
  let exp10 = -frac.length;
  let exp2 = 0;
  if (suffix in DECIMAL_SUFFIX) {
    exp10 += DECIMAL_SUFFIX[suffix];
  } else if (suffix in BINARY_SUFFIX) {
    exp2 = BINARY_SUFFIX[suffix];
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    exp10 += Number(suffix.slice(1));
  } else {
    throw new QuantityError(String(input));
  }
  return { mantissa, exp10, exp2 };
}

function numberToString(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(String(n));
  // Avoid JS exponent forms like "1e-7" that the grammar reads differently.
  return Math.abs(n) < 1e21 && Math.abs(n) >= 1e-6 ? String(n) : n.toExponential().replace('e+', 'e');
}

/** ceil(q × 10^-scale) as an integer (resource.Quantity.ScaledValue rounds up). */
function scaledCeil(q: Exact, scale: number): bigint {
  const num = q.mantissa * 2n ** BigInt(q.exp2);
  const e = q.exp10 - scale;
  if (e >= 0) return num * 10n ** BigInt(e);
  const den = 10n ** BigInt(-e);
  const quot = num / den;
  const rem = num % den;
  return rem > 0n ? quot + 1n : quot; // BigInt division truncates toward zero; round positive fractions up
}

/** The quantity's value in base units (cores, bytes, ...) as a JS number. Throws QuantityError. */
export function parseQuantity(s: string | number): number {
  const q = parseExact(s);
  const num = q.mantissa * 2n ** BigInt(q.exp2);
  if (q.exp10 >= 0) return Number(num * 10n ** BigInt(q.exp10));
  return Number(num) / 10 ** -q.exp10;
}

export function isValidQuantity(s: unknown): boolean {
  if (typeof s !== 'string' && typeof s !== 'number') return false;
  try {
    parseExact(s);
    return true;
  } catch {
    return false;
  }
}

/** ceil(value × 10^-scale) as an exact BigInt, e.g. scaledValue("1Gi", 0) → 1073741824n. */
export function scaledValue(s: string | number, scale: number): bigint {
  return scaledCeil(parseExact(s), scale);
}

/** "250m" → 250, "1" → 1000, "123456n" → 1 (rounded up, as Quantity.MilliValue). */
export function cpuToMillicores(s: string | number): number {
  return Number(scaledCeil(parseExact(s), -3));
}

/** "500m" cores → 500000000 nanocores. */
export function cpuToNanocores(s: string | number): number {
  return Number(scaledCeil(parseExact(s), -9));
}

/** "128Mi" → 134217728, "1G" → 1e9 (rounded up to whole bytes, as Quantity.Value). */
export function memoryToBytes(s: string | number): number {
  return Number(scaledCeil(parseExact(s), 0));
}

/** Compare two quantities exactly: -1, 0, 1. */
export function compareQuantities(a: string | number, b: string | number): number {
  const qa = parseExact(a);
  const qb = parseExact(b);
  // Bring both to a common 10^e × 2^f base so the mantissas compare as integers.
  const e = Math.min(qa.exp10, qb.exp10);
  const f = Math.min(qa.exp2, qb.exp2);
  const va = qa.mantissa * 10n ** BigInt(qa.exp10 - e) * 2n ** BigInt(qa.exp2 - f);
  const vb = qb.mantissa * 10n ** BigInt(qb.exp10 - e) * 2n ** BigInt(qb.exp2 - f);
  return va < vb ? -1 : va > vb ? 1 : 0;
}

const DECIMAL_STEPS: Array<[number, string]> = [
  [18, 'E'],
  [15, 'P'],
  [12, 'T'],
  [9, 'G'],
  [6, 'M'],
  [3, 'k'],
  [0, ''],
  [-3, 'm'],
  [-6, 'u'],
  [-9, 'n'],
];

/**
 * Canonical DecimalSI form of an integer `value` × 10^scale, as resource.Quantity prints it:
 * the largest SI suffix that keeps the number whole ("1500m", "1", "2k", "123456n").
 */
export function formatDecimalSI(value: number | bigint, scale = 0): string {
  let v = BigInt(typeof value === 'number' ? Math.ceil(value) : value);
  if (v === 0n) return '0';
  const neg = v < 0n;
  if (neg) v = -v;
  let exp = scale;
  // Normalise trailing zeros into the exponent, then pick a multiple-of-3 exponent.
  while (v % 10n === 0n) {
    v /= 10n;
    exp += 1;
  }
  for (const [e, suffix] of DECIMAL_STEPS) {
    if (exp >= e) {
      const digits = v * 10n ** BigInt(exp - e);
      return (neg ? '-' : '') + digits.toString() + suffix;
    }
  }
  // Below nano: Kubernetes rounds up to 1n.
  return (neg ? '-' : '') + '1n';
}

/** Millicores → canonical CPU quantity: 250 → "250m", 1000 → "1", 1500 → "1500m". */
export function formatCpu(millicores: number): string {
  return formatDecimalSI(millicores, -3);
}

/** Nanocores (metrics usage) → "123456n", 5000000 → "5m". */
export function formatNanocores(nanocores: number): string {
  return formatDecimalSI(nanocores, -9);
}

/** Bytes → canonical BinarySI quantity: 12641280 → "12345Ki", 67108864 → "64Mi", 1000 → "1000". */
export function formatBytes(bytes: number): string {
  let v = BigInt(Math.ceil(bytes));
  if (v === 0n) return '0';
  const neg = v < 0n;
  if (neg) v = -v;
  // Like CanonicalizeBytes: values under 1024 print as plain decimal numbers.
  if (v < 1024n) return (neg ? '-' : '') + v.toString();
  const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let i = 0;
  while (i < suffixes.length - 1 && v % 1024n === 0n) {
    v /= 1024n;
    i += 1;
  }
  return (neg ? '-' : '') + v.toString() + suffixes[i];
}

/** Format helpers by resource kind, e.g. `formatQuantity.cpu(250)` → "250m". */
export const formatQuantity = {
  cpu: formatCpu,
  nanocores: formatNanocores,
  bytes: formatBytes,
  decimal: formatDecimalSI,
};
