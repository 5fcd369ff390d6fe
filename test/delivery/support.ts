/** Shared test doubles for the delivery tests: a scripted sink, fake time, a dead-letter recorder. */
import { abortError, type Sleep } from '../../src/backoff.js';
import type { DeadLetter, DeadLetterWriter } from '../../src/delivery/dead-letter.js';
import type { DeliveryOutcome, DeliverySink } from '../../src/delivery/sink.js';
import type { DeliveryRecord, NewDeliveryRecord } from '../../src/delivery/types.js';
import { createLogger, type Logger } from '../../src/log.js';

export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

/** A record for interaction `interactionId`, number `n` of it: id `${interactionId}#${n}`. */
export function newRecord(interactionId: string, n: number, over: Partial<NewDeliveryRecord> = {}): NewDeliveryRecord {
  const body = JSON.stringify({ interactionId, dataActionId: 'da-1', updatedTimestamp: new Date(T0 + n * 1000).toISOString(), payload: { n } });
  return { id: `${interactionId}#${n}`, status: n === 1 ? 'processed' : 'update', interactionId, acceptedAtMs: T0, body: Buffer.from(body), ...over };
}

/** Interleaves `perInteraction` records of each of `interactions` interactions: a#1, b#1, …, a#2, b#2, … */
export function interleaved(interactions: readonly string[], perInteraction: number, over: Partial<NewDeliveryRecord> = {}): NewDeliveryRecord[] {
  const out: NewDeliveryRecord[] = [];
  for (let n = 1; n <= perInteraction; n++) for (const i of interactions) out.push(newRecord(i, n, over));
  return out;
}

/** Yields to the event loop a few times, so work that is already possible has happened. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

export interface SinkCall {
  readonly record: DeliveryRecord;
  readonly attempt: number;
  readonly signal: AbortSignal;
  /** Settles this attempt (manual mode). */
  resolve(outcome: DeliveryOutcome): void;
  settled: boolean;
}

/**
 * A sink whose attempts are answered by `decide` (automatic) or, when `decide` returns
 * 'manual', by the test through `calls[i].resolve(...)`. Counts attempts running at once.
 */
export class ScriptedSink implements DeliverySink {
  readonly name: string;
  readonly calls: SinkCall[] = [];
  running = 0;
  maxRunning = 0;
  closed = false;
  decide: (record: DeliveryRecord, attempt: number) => DeliveryOutcome | 'manual' | Promise<DeliveryOutcome>;

  constructor(decide: ScriptedSink['decide'] = () => 'manual', name = 'fake') {
    this.decide = decide;
    this.name = name;
  }

  /** A throw from `decide` is thrown by deliver() itself; a rejected promise from it rejects deliver(). */
  deliver(record: DeliveryRecord, attempt: number, signal: AbortSignal): Promise<DeliveryOutcome> {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    let settleWith!: (o: DeliveryOutcome | Promise<DeliveryOutcome>) => void;
    const promise = new Promise<DeliveryOutcome>((resolve) => {
      settleWith = resolve;
    });
    const call: SinkCall = {
      record,
      attempt,
      signal,
      settled: false,
      resolve: (o) => {
        if (call.settled) return;
        call.settled = true;
        this.running -= 1;
        settleWith(o);
      },
    };
    this.calls.push(call);
    let d: ReturnType<ScriptedSink['decide']>;
    try {
      d = this.decide(record, attempt);
    } catch (err) {
      call.settled = true;
      this.running -= 1;
      throw err;
    }
    if (d !== 'manual') {
      Promise.resolve(d).then(
        (o) => call.resolve(o),
        (err: unknown) => {
          call.settled = true;
          this.running -= 1;
          settleWith(Promise.reject(err));
        },
      );
    }
    return promise;
  }

  /** Ids of the calls, in start order. */
  ids(): string[] {
    return this.calls.map((c) => c.record.id);
  }

  pending(): SinkCall[] {
    return this.calls.filter((c) => !c.settled);
  }

  close(): void {
    this.closed = true;
  }
}

interface FakeSleepEntry {
  readonly ms: number;
  settled: boolean;
  fire(): void;
}

/**
 * Injected clock and sleep. A sleep advances the clock to its own end when it fires; with `auto`
 * every sleep fires on the next turn of the event loop, so a schedule runs at once and the test
 * reads it from `sleeps`. Aborted sleeps reject like the real one.
 */
export class FakeTime {
  nowMs: number;
  auto: boolean;
  readonly sleeps: FakeSleepEntry[] = [];

  constructor(options: { auto?: boolean; now?: number } = {}) {
    this.nowMs = options.now ?? T0;
    this.auto = options.auto ?? true;
  }

  now = (): number => this.nowMs;

  sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const start = this.nowMs;
      const onAbort = () => {
        if (entry.settled) return;
        entry.settled = true;
        reject(abortError(signal));
      };
      const entry: FakeSleepEntry = {
        ms,
        settled: false,
        fire: () => {
          if (entry.settled) return;
          entry.settled = true;
          signal?.removeEventListener('abort', onAbort);
          this.nowMs = Math.max(this.nowMs, start + ms);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleeps.push(entry);
      if (this.auto) setImmediate(entry.fire);
    });

  pending(): FakeSleepEntry[] {
    return this.sleeps.filter((s) => !s.settled);
  }

  delays(): number[] {
    return this.sleeps.map((s) => s.ms);
  }
}

/** A dead-letter writer in memory; `failures` makes the next appends reject. */
export class MemoryDeadLetters implements DeadLetterWriter {
  readonly entries: DeadLetter[] = [];
  failures = 0;
  attempts = 0;

  append(entry: DeadLetter): Promise<void> {
    this.attempts += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    }
    this.entries.push(entry);
    return Promise.resolve();
  }
}

/** A logger that keeps its lines as parsed objects. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

/**
 * Checks per-interaction order on a log of attempts: for each interaction, no attempt of record
 * k+1 starts before record k was finished (its last attempt, the one that succeeded). `attempts`
 * lists every attempt in start order as [interactionId, n, ok].
 */
export function assertOrderPerInteraction(attempts: ReadonlyArray<readonly [string, number, boolean]>): void {
  const done = new Map<string, number>(); // interaction → highest n finished
  for (const [interaction, n, ok] of attempts) {
    const finished = done.get(interaction) ?? 0;
    if (n !== finished + 1) throw new Error(`${interaction}#${n} attempted while #${finished + 1} was not finished`);
    if (ok) done.set(interaction, n);
  }
}
