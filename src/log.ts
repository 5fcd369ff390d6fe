/** Structured JSON logs, one object per line, on stderr by default. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (for example `{ component: 'influx' }`). */
  child(fields: LogFields): Logger;
  isEnabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to process.stderr. */
  write?: (line: string) => void;
  base?: LogFields;
}

// Log values can come from hostile input: cap strings so one line stays small.
const MAX_STRING = 512;

function safeValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…(${value.length} chars)` : value;
  }
  if (value instanceof Error) {
    return { name: value.name, message: safeValue(value.message, depth + 1), code: (value as { code?: unknown }).code };
  }
  if (typeof value === 'bigint') return value.toString();
  // A Date has no enumerable own fields: without this it would log as {}.
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 4) return '[object]';
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => safeValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(value)) {
    if (n++ >= 50) break;
    out[k] = safeValue(v, depth + 1);
  }
  return out;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.base ?? {};
  const threshold = RANK[level];

  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < threshold) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg };
    for (const [k, v] of Object.entries(base)) record[k] = safeValue(v, 0);
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = safeValue(v, 0);
    write(`${JSON.stringify(record)}\n`);
  };

  return {
    level,
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger({ level, write, base: { ...base, ...fields } }),
    isEnabled: (lvl) => RANK[lvl] >= threshold,
  };
}

/** A logger that drops everything; for tests and library use. */
export const silentLogger: Logger = createLogger({ level: 'silent' });

/**
 * For a condition that can repeat on every request (a failing disk, Redis away): counts each
 * occurrence and lets a log line through at most once per interval, carrying the count since
 * the last one.
 */
export class LogThrottle {
  #unlogged = 0;
  #lastMs = -Infinity;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Counts `n` more; the count to log when a line is due now, else undefined. */
  note(n = 1): number | undefined {
    this.#unlogged += n;
    const t = this.now();
    if (t - this.#lastMs < this.intervalMs) return undefined;
    this.#lastMs = t;
    const count = this.#unlogged;
    this.#unlogged = 0;
    return count;
  }

  /** Drops the count (the condition ended, and that was reported otherwise); the interval stands. */
  forget(): void {
    this.#unlogged = 0;
  }
}
