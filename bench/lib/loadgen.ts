/** What a load-generator child process is told, and what it reports back (one JSON line on stdout). */
import type { BodyShape, RepeatKind } from './bodies.js';
import type { LatencySummaryMs } from './latency.js';

export interface LoadConfig {
  url: string;
  path: string;
  connections: number;
  durationSeconds: number;
  /** Open-loop target rate over all connections; absent = as fast as the server answers. */
  overallRate?: number;
  pool: number;
  newRatio: number;
  /** The mix's repeats and body shape (bench/lib/bodies.ts); default: the 50/50 mix's. */
  repeats?: RepeatKind;
  shape?: BodyShape;
  secret: string;
  tag: string;
}

export interface LoadResult {
  generator: 'autocannon' | 'wrk' | 'raw-paced';
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  latencyMs: LatencySummaryMs;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Paced runs: requests still unanswered when the generator stopped waiting (the server fell behind). */
  unanswered?: number;
  /** CPU seconds the generator used per wall second (1.0 = one core saturated). */
  cpuCores: number;
  pool: { bodies: number; newIds: number; repeats: number };
}
