import { describe, expect, it } from 'vitest';
import { nodeCpuNanoseconds, nodeMemoryWorkingSet, rateNanoCores } from '../../agent/node/stats-sampler.js';

describe('usage sampling for kubectl top', () => {
  it('turns cumulative CPU into nanocores over the sample interval', () => {
    expect(rateNanoCores(undefined, 5e9, 1000)).toBe(0);
    // 0.25 s of CPU in 1 s = 250m = 250,000,000 nanocores
    expect(rateNanoCores({ cpuNs: 1e9, at: 0 }, 1.25e9, 1000)).toBe(250_000_000);
    expect(rateNanoCores({ cpuNs: 2e9, at: 0 }, 1e9, 1000)).toBe(0); // counter reset: no negative usage
  });

  it('reads machine CPU from /proc/stat (USER_HZ ticks) and memory from /proc/meminfo', () => {
    expect(nodeCpuNanoseconds('cpu  100 0 50 1000 5 0 0 0 0 0\ncpu0 1 2 3')).toBe(1.5e9);
    expect(nodeMemoryWorkingSet('MemTotal:       2048 kB\nMemFree: 100 kB\nMemAvailable:   1024 kB\n')).toBe(
      1024 * 1024,
    );
  });
});
