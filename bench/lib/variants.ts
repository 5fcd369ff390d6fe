/**
 * bench:e2e's daemon variants, each measured next to the plain daemon (memory store, no sink) in
 * the same run: delivery sinks (issue 10) and the Redis store and worker threads (issue 11).
 *
 * Whether the build has a variant's settings is read from `node dist/cli.js --help`, which lists
 * every setting by its environment variable: settings being built elsewhere may not exist yet, and
 * the daemon ignores environment variables it does not know, so starting it would silently
 * measure the plain daemon under the variant's name. A variant whose settings are all listed runs;
 * the others are reported as "not in this build".
 */
import { spawnSync } from 'node:child_process';
import { CLI } from './server.js';

export type VariantName = 'http-sink' | 'redis-stream' | 'redis-store' | 'workers-2';

/** The Redis stream the redis-stream variant appends to. */
export const BENCH_STREAM = 'cxone-dedup-bench';

export interface VariantContext {
  /** http-sink: the downstream's URL. */
  downstreamUrl?: string;
  /** http-sink: a fresh temporary directory. */
  outboxDir?: string;
  /** Redis variants: the fresh loopback redis-server. */
  redisUrl?: string;
}

export interface VariantSpec {
  name: VariantName;
  issue: 10 | 11;
  /** One line for --help, tables and the README. */
  about: string;
  /** Environment variables the build must list in `--help` for the variant to run. */
  settings: readonly string[];
  downstream: boolean;
  redis: boolean;
  /** The /stats delivery sink it fills (delivery.sinks.<sink>), if any. */
  sink?: 'http' | 'redis-stream';
  /** Target, as a share of the plain daemon's requests/s on the same mix. */
  target?: { share: number; issue: string };
  /** Listens on a port chosen beforehand (several threads must bind the same one). */
  fixedPort: boolean;
  env(ctx: VariantContext): Record<string, string>;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`variant context: ${what} missing`);
  return value;
}

export const VARIANTS: readonly VariantSpec[] = [
  {
    name: 'http-sink',
    issue: 10,
    about: 'DELIVERY_URL to a loopback downstream answering 200, OUTBOX_DIR in a temp directory',
    settings: ['DELIVERY_URL', 'OUTBOX_DIR'],
    downstream: true,
    redis: false,
    sink: 'http',
    target: { share: 0.7, issue: 'issue 10' },
    fixedPort: false,
    env: (c) => ({ DELIVERY_URL: `${need(c.downstreamUrl, 'downstreamUrl')}/events`, OUTBOX_DIR: need(c.outboxDir, 'outboxDir') }),
  },
  {
    name: 'redis-stream',
    issue: 10,
    about: 'DELIVERY_REDIS_STREAM on a loopback redis-server (XADD before each 200)',
    settings: ['DELIVERY_REDIS_STREAM', 'REDIS_URL'],
    downstream: false,
    redis: true,
    sink: 'redis-stream',
    target: { share: 0.7, issue: 'issue 10' },
    fixedPort: false,
    env: (c) => ({ REDIS_URL: need(c.redisUrl, 'redisUrl'), DELIVERY_REDIS_STREAM: BENCH_STREAM }),
  },
  {
    name: 'redis-store',
    issue: 11,
    about: 'DEDUP_STORE=redis on a loopback redis-server (dedup window and states in Redis)',
    settings: ['DEDUP_STORE', 'REDIS_URL'],
    downstream: false,
    redis: true,
    fixedPort: false,
    env: (c) => ({ DEDUP_STORE: 'redis', REDIS_URL: need(c.redisUrl, 'redisUrl') }),
  },
  {
    name: 'workers-2',
    issue: 11,
    about: "WORKERS=2, DEDUP_STORE=redis: two uWS.js threads, on the daemon's one CPU",
    settings: ['WORKERS', 'DEDUP_STORE', 'REDIS_URL'],
    downstream: false,
    redis: true,
    fixedPort: true,
    env: (c) => ({ WORKERS: '2', DEDUP_STORE: 'redis', REDIS_URL: need(c.redisUrl, 'redisUrl') }),
  },
];

export const VARIANT_NAMES: readonly VariantName[] = VARIANTS.map((v) => v.name);

export function variantSpec(name: VariantName): VariantSpec {
  return VARIANTS.find((v) => v.name === name)!;
}

/** `node dist/cli.js --help`, or an Error saying why it could not be read. */
export function daemonHelp(): string | Error {
  const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return r.error;
  if (r.status !== 0) return new Error(`node dist/cli.js --help exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().slice(0, 300)}`);
  return r.stdout;
}

/** The settings of `spec` that `help` does not list (empty: the build has the variant). */
export function missingSettings(spec: VariantSpec, help: string): string[] {
  return spec.settings.filter((s) => !new RegExp(`(^|[^A-Z0-9_])${s}([^A-Z0-9_]|$)`, 'm').test(help));
}

/**
 * True when a daemon that failed to start refused one of the variant's settings as unknown (the
 * other way a build without them shows it).
 */
export function refusedAsUnknown(spec: VariantSpec, message: string): boolean {
  if (!/unknown/i.test(message)) return false;
  return spec.settings.some((s) => message.includes(s) || message.includes(`--${s.toLowerCase().replace(/_/g, '-')}`));
}
