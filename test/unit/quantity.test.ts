import { describe, expect, it } from 'vitest';
import {
  compareQuantities,
  cpuToMillicores,
  cpuToNanocores,
  formatBytes,
  formatCpu,
  formatNanocores,
  formatQuantity,
  isValidQuantity,
  memoryToBytes,
  parseQuantity,
  QuantityError,
} from '../../proto/quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5],
    ['1', 1],
    ['0.5', 0.5],
    ['128Mi', 134217728],
    ['1Gi', 1073741824],
    ['1e3', 1000],
    ['1E3', 1000],
    ['100k', 100000],
    ['1M', 1000000],
    ['12345Ki', 12641280],
    ['123456n', 0.000123456],
    ['2.5Gi', 2684354560],
    ['-1', -1],
    ['+3', 3],
    ['.5', 0.5],
    ['5.', 5],
    ['1E', 1e18],
    ['1Ei', 2 ** 60],
    [2, 2],
    [0.25, 0.25],
  ] as Array<[string | number, number]>)('%s → %s', (input, value) => {
    expect(parseQuantity(input)).toBeCloseTo(value, 12);
  });

  it.each(['', 'abc', '1K', '1kb', '1.2.3', 'Mi', '1e', '--1', '1 Mi', '1Mib', 'e3'])('rejects %j', (input) => {
    expect(() => parseQuantity(input)).toThrow(QuantityError);
    expect(isValidQuantity(input)).toBe(false);
  });
});

describe('cpu and memory conversions', () => {
  it.each([
    ['250m', 250],
    ['1', 1000],
    ['1.5', 1500],
    ['0.1', 100],
    ['123456n', 1], // rounded up like Quantity.MilliValue
    ['2k', 2000000],
    ['0', 0],
  ])('cpuToMillicores(%s) = %d', (q, m) => expect(cpuToMillicores(q)).toBe(m));

  it('cpuToNanocores', () => {
    expect(cpuToNanocores('5m')).toBe(5000000);
    expect(cpuToNanocores('123456n')).toBe(123456);
  });

  it.each([
    ['128Mi', 134217728],
    ['1G', 1000000000],
    ['1Gi', 1073741824],
    ['12345Ki', 12641280],
    ['1.5', 2], // rounded up like Quantity.Value
    ['64Mi', 67108864],
    ['1e6', 1000000],
  ])('memoryToBytes(%s) = %d', (q, b) => expect(memoryToBytes(q)).toBe(b));

  it('compares exactly across suffixes', () => {
    expect(compareQuantities('1Gi', '1073741824')).toBe(0);
    expect(compareQuantities('1G', '1Gi')).toBe(-1);
    expect(compareQuantities('500m', '0.5')).toBe(0);
    expect(compareQuantities('2', '1500m')).toBe(1);
  });
});

describe('formatting', () => {
  it.each([
    [250, '250m'],
    [1000, '1'],
    [1500, '1500m'],
    [2000, '2'],
    [0, '0'],
    [1000000, '1k'],
  ])('formatCpu(%d) = %s', (m, s) => expect(formatCpu(m)).toBe(s));

  it.each([
    [12641280, '12345Ki'],
    [67108864, '64Mi'],
    [1073741824, '1Gi'],
    [1000, '1000'],
    [1000000, '1000000'],
    [1536, '1536'],
    [0, '0'],
  ])('formatBytes(%d) = %s', (b, s) => expect(formatBytes(b)).toBe(s));

  it.each([
    [123456, '123456n'],
    [5000000, '5m'],
    [1000000000, '1'],
    [1500000, '1500u'],
  ])('formatNanocores(%d) = %s', (n, s) => expect(formatNanocores(n)).toBe(s));

  it('round-trips through the helpers', () => {
    expect(formatQuantity.cpu(cpuToMillicores('250m'))).toBe('250m');
    expect(formatQuantity.bytes(memoryToBytes('64Mi'))).toBe('64Mi');
  });
});
