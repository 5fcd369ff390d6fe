/**
 * One EngineStats fixture for the metrics tests: a native filter sized for 1,000,000 keys at 0.001,
 * a lightly filled active generation and a half-full previous one, a partly filled state cache.
 * Tests override the counters and the active generation's numbers they assert on.
 */
import type { EngineStats, GenerationStats } from '../../src/dedup/stats.js';

export type EngineStatsOverrides = Partial<Pick<EngineStats, 'eventsProcessed' | 'eventsDeduplicated' | 'eventsUnconfirmed' | 'compactions'>> & {
  active?: Partial<GenerationStats>;
};

export function engineStatsFixture(overrides: EngineStatsOverrides = {}): EngineStats {
  const { active, ...counters } = overrides;
  return {
    eventsProcessed: 1200,
    eventsDeduplicated: 340,
    eventsUnconfirmed: 7,
    compactions: 3,
    ...counters,
    filter: {
      kind: 'native',
      capacity: 1_000_000,
      errorRate: 0.001,
      bitCount: 14_377_600,
      hashCount: 10,
      activeInsertions: 4321,
      tableSlots: 1_333_334,
      falsePositivesCaught: 2,
      tableOverflows: 0,
      active: { fillRatio: 0.0125, estimatedFalsePositiveRate: 9.3e-20, estimatedCardinality: 4300, ageSeconds: 12.5, insertions: 4321, tableLength: 4321, exact: true, ...active },
      previous: { fillRatio: 0.5, estimatedFalsePositiveRate: 0.0009765625, estimatedCardinality: 998_000, ageSeconds: 312.25, insertions: 1_000_000, tableLength: 1_000_000, exact: true },
    },
    stateCache: { size: 4100, capacity: 100_000, evictions: 17, bytes: 2_500_000, maxBytes: 268_435_456 },
  };
}
