/**
 * bench:e2e's results: the record of each measured run, what the run as a whole found (the JSON
 * section of bench/results/latest.json), and the markdown tables printed from it.
 */
import type { MixName } from './bodies.js';
import type { Placement } from './cpu.js';
import type { DaemonCounts, DeliveryFigures } from './daemon-stats.js';
import { fmtInt, fmtMs, fmtRate, markdownTable, verdict } from './format.js';
import type { LatencySummaryMs } from './latency.js';
import type { VariantName } from './variants.js';

export type Generator = 'autocannon' | 'wrk' | 'raw-paced';
export type Phase = 'saturation' | 'target load' | 'half its own max';

/** A generator (or the client core) using this share of its CPU or more sets the pace, not the server. */
export const SATURATED = 0.9;

/** One measured run: one server (and its helpers), one mix, one generator, one phase. */
export interface Run {
  mix: MixName;
  /** Share of new interactionIds actually configured (the mix's, or --new-ratio). */
  newRatio: number;
  phase: Phase;
  /** 'bare uWS.js', 'daemon', or 'daemon (<variant>)'. */
  target: string;
  server: 'bare' | 'daemon';
  variant: VariantName | null;
  generator: Generator;
  connections: number;
  offeredRate: number | null;
  requestsPerSecond: number;
  requests: number;
  latencyMs: LatencySummaryMs;
  non2xx: number;
  errors: number;
  /** Paced runs: still unanswered 10 s after the run (the server fell behind the offered rate). */
  unanswered: number;
  /** CPU-seconds per wall second during the load (1 = one core), from /proc. */
  generatorCpuCores: number;
  serverCpuCores: number;
  /** The downstream and redis-server, by name. */
  helpersCpuCores: Record<string, number>;
  /** Every other process on the machine meanwhile (other people's work on a shared box). */
  othersCpuCores: number;
  /** CPU-µs per answered webhook: CPU-seconds per second over requests per second, × 10⁶. */
  cpuUsPerWebhook: { server: number; helpers: Record<string, number> };
  /** Paced runs: several requests in flight per connection, or one at a time (bench/loadgen-raw.ts). */
  pacing?: 'pipelined' | 'one per connection';
  /** Paced one per connection: requests that waited for a free connection (the server's queue; in their latency). */
  waitedForConnection?: number;
  /** Paced runs: the scheduler's worst lateness (a late generator would understate latency). */
  maxSendLagMs?: number;
  /** Paced runs: latency from the actual write, i.e. without the generator's own stalls. */
  latencyFromSendMs?: LatencySummaryMs;
  daemon?: DaemonCounts;
  delivery?: DeliveryFigures;
  /**
   * Redis variants, from INFO commandstats: commands redis-server ran during the run (those run by
   * scripts included) and script invocations, in all and per webhook the daemon counted; the stream's length after it.
   */
  redis?: { commands: number; scripts: number; commandsPerWebhook: number; scriptsPerWebhook: number; streamLength?: number };
  /** The downstream's own count of deliveries received during the run. */
  downstreamReceived?: number;
}

/** A variant that could not run, and why. */
export interface Skipped {
  variant: VariantName;
  reason: 'not in this build' | 'failed';
  detail: string;
}

export interface MixSummary {
  mix: MixName;
  about: string;
  newRatio: number;
  meanBodyBytes: number;
  bareRequestsPerSecond: number;
  daemonRequestsPerSecond: number;
  /** Daemon / bare uWS.js requests/s (final generator). */
  daemonVsBare: number;
  daemonCpuUsPerWebhook: number;
  bareCpuUsPerWebhook: number;
  /** Bare CPU-µs per webhook over the daemon's: the daemon's share of the bare server's requests/s on equal CPU. */
  daemonVsBareByCpu: number;
  /** Plain daemon, paced at half the bare ceiling (pipelined: the issue 12 target's method). */
  pacedP99Ms: number | null;
  /** Plain daemon, paced at half the bare ceiling one request per connection (next to the sink variants'). */
  pacedOnePerConnectionP99Ms: number | null;
  /** Variants' p99 paced at half the bare ceiling are one request per connection. */
  variants: Array<{
    variant: VariantName;
    /** Webhooks answered per second (the generator's figure). */
    requestsPerSecond: number;
    /** Sink variants: events delivered over events processed during the run (< 1: a backlog grew). */
    deliveredShare: number | null;
    /** What the variant sustains: requests/s, scaled down by deliveredShare when deliveries fell behind. */
    sustainedPerSecond: number;
    /** sustainedPerSecond over the plain daemon's requests/s. */
    vsDaemon: number;
    vsBare: number;
    pacedP99Ms: number | null;
  }>;
}

export interface E2eData {
  placement: Placement;
  /** Where the downstream and redis-server ran, and why. */
  helperPlacement: string;
  /** Filesystem of the http-sink's OUTBOX_DIR (fsync cost differs between ext4, tmpfs, …). */
  outboxFilesystem: string | null;
  durationSeconds: number;
  connections: number;
  poolSize: number;
  mixes: MixName[];
  /** Variants asked for (explicitly, or by default every variant the build supports). */
  variantsRequested: VariantName[];
  variantsExplicit: boolean;
  variantsRun: VariantName[];
  skipped: Skipped[];
  paced: 'none' | 'daemon' | 'all';
  runs: Run[];
  finalGenerator: Generator;
  generatorNote: string;
  summary: MixSummary[];
  targets: Array<{ target: string; value: string; met: boolean }>;
}

const pct = (f: number) => (Number.isFinite(f) ? `${(f * 100).toFixed(0)} %` : 'n/a');
const cores = (c: number | undefined) => (c !== undefined && Number.isFinite(c) ? `${Math.round(c * 100)} %` : 'n/a');
const us = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? fmtInt(v) : '');
const orBlank = (v: number, f: (n: number) => string) => (Number.isFinite(v) ? f(v) : 'n/a');

function non2xxCell(r: Run): string {
  return (r.non2xx + r.errors > 0 ? `**${fmtInt(r.non2xx)} (+${fmtInt(r.errors)} errors)**` : '0') + (r.unanswered > 0 ? ` (${fmtInt(r.unanswered)} unanswered ³)` : '');
}

/** The client core: the generator plus the helpers pinned with it. */
function clientCore(r: Run, place: Placement): string {
  const helpers = Object.values(r.helpersCpuCores).reduce((a, b) => a + b, 0);
  if (r.generator === 'raw-paced') return helpers > 0 ? `spins + ${cores(helpers)}` : 'spins (n/a)';
  const total = r.generatorCpuCores + (place.pinned ? helpers : 0);
  const parts = place.pinned && helpers > 0 ? ` (${cores(r.generatorCpuCores)} + ${cores(helpers)})` : '';
  return `${cores(total)}${parts}${total >= SATURATED ? ' **saturated**' : ''}`;
}

function bareOf(d: E2eData, r: Run): Run | undefined {
  return d.runs.find((b) => b.server === 'bare' && b.mix === r.mix && b.generator === r.generator && b.phase === 'saturation');
}

function daemonOf(d: E2eData, r: Run): Run | undefined {
  return d.runs.find((b) => b.server === 'daemon' && b.variant === null && b.mix === r.mix && b.generator === r.generator && b.phase === 'saturation');
}

export function renderE2e(d: E2eData): string {
  const out: string[] = [];
  const sat = d.runs.filter((r) => r.phase === 'saturation');
  const paced = d.runs.filter((r) => r.phase !== 'saturation');
  out.push(`### End to end: signed webhook POSTs over loopback, ${d.connections} connections, ${d.durationSeconds} s per run\n`);
  out.push(
    markdownTable(
      ['mix', 'body', 'bare uWS.js', 'daemon', 'daemon / bare', 'CPU-µs / webhook: daemon, bare', 'daemon / bare by CPU', 'p99 paced at ½ bare', ...d.variantsRun.map((v) => `${v} / daemon`)],
      d.summary.map((s) => [
        s.mix + (s.newRatio !== (s.mix === '50/50' ? 0.5 : 0.7) ? ` (${Math.round(s.newRatio * 100)} % new)` : ''),
        `${fmtInt(s.meanBodyBytes)} B`,
        fmtInt(s.bareRequestsPerSecond),
        fmtInt(s.daemonRequestsPerSecond),
        pct(s.daemonVsBare),
        `${us(s.daemonCpuUsPerWebhook)}, ${us(s.bareCpuUsPerWebhook)}`,
        pct(s.daemonVsBareByCpu),
        s.pacedP99Ms === null ? '' : fmtMs(s.pacedP99Ms),
        ...d.variantsRun.map((v) => {
          const x = s.variants.find((y) => y.variant === v);
          if (!x) return '';
          const behind = x.deliveredShare !== null && x.deliveredShare < 1 ? `, delivered ${pct(x.deliveredShare)} of it ⁸` : '';
          return `${pct(x.vsDaemon)} (${fmtInt(x.sustainedPerSecond)}/s${behind})`;
        }),
      ]),
      [false, true, true, true, true, true, true, true, ...d.variantsRun.map(() => true)],
    ),
  );
  out.push(
    `\nRequests/s from ${d.finalGenerator} at saturation. "By CPU": bare uWS.js's CPU-µs per webhook over the daemon's, the share of the ` +
      "bare server's requests/s the daemon would carry on the same CPU (steadier than the requests/s ratio on a shared machine). Mixes:" +
      d.summary.map((s) => ` **${s.mix}**: ${s.about}`).join(';') +
      '. ⁸ A sink variant counts what it sustains: when its deliveries fell behind its answers during the run ' +
      '(a backlog growing in the outbox, which would fill it in time), its requests/s are scaled by the share delivered.',
  );
  const starved = d.runs.filter((r) => r.server === 'bare' && r.phase === 'saturation' && r.generator === d.finalGenerator && r.serverCpuCores < SATURATED);
  if (starved.length > 0) {
    out.push(
      `**The bare server used only ${starved.map((r) => `${cores(r.serverCpuCores)} (${r.mix})`).join(', ')} of its CPU at saturation**: something other than ` +
        'its own CPU set the pace (other processes on its core, the client side), so its requests/s understate the ceiling and the requests/s ratios are rough.',
    );
  }
  if (d.skipped.length > 0) {
    out.push(`Variants not measured: ${d.skipped.map((s) => `**${s.variant}** (${s.reason}: ${s.detail})`).join('; ')}.`);
  }

  out.push('\n#### Saturation (closed loop)\n');
  out.push(
    markdownTable(
      ['mix', 'server', 'generator', 'requests/s', 'vs bare', 'vs daemon', 'p50', 'p99', 'max', 'non-2xx', 'CPU-µs / webhook ¹', 'server CPU', 'client core CPU ⁴', 'other CPU'],
      sat.map((r) => {
        const bare = r.server === 'daemon' ? bareOf(d, r) : undefined;
        const plain = r.variant !== null ? daemonOf(d, r) : undefined;
        const redisUs = r.cpuUsPerWebhook.helpers['redis-server'];
        return [
          r.mix,
          r.target,
          r.generator,
          fmtInt(r.requestsPerSecond),
          bare ? pct(r.requestsPerSecond / bare.requestsPerSecond) : '',
          plain ? pct(r.requestsPerSecond / plain.requestsPerSecond) : '',
          fmtMs(r.latencyMs.p50),
          fmtMs(r.latencyMs.p99),
          fmtMs(r.latencyMs.max),
          non2xxCell(r),
          `${us(r.cpuUsPerWebhook.server)}${redisUs !== undefined ? ` + Redis ${us(redisUs)}` : ''}`,
          cores(r.serverCpuCores),
          clientCore(r, d.placement),
          cores(r.othersCpuCores),
        ];
      }),
      [false, false, false, true, true, true, true, true, true, true, true, true, true, true],
    ),
  );

  const detailed = d.runs.filter((r) => r.server === 'daemon' && (r.delivery || r.redis || r.daemon) && (r.generator === d.finalGenerator || r.generator === 'raw-paced'));
  if (detailed.length > 0) {
    out.push('\n#### Daemon details (from its /stats before and after each run; Redis from INFO)\n');
    out.push(
      markdownTable(
        ['mix', 'server', 'phase', 'processed / deduplicated', 'outbox commits', 'events / commit', 'commit latency mean / max ⁵', 'delivered', 'lag at end', 'queued at end', 'Redis commands / webhook ⁷', 'downstream CPU-µs / webhook'],
        detailed.map((r) => {
          const dl = r.delivery;
          return [
            r.mix,
            r.target,
            r.offeredRate ? `paced, ${fmtRate(r.offeredRate)}` : r.phase,
            r.daemon ? `${fmtInt(r.daemon.processed)} / ${fmtInt(r.daemon.deduplicated)}` : '',
            dl ? orBlank(dl.commits, fmtInt) : '',
            dl ? orBlank(dl.recordsPerCommit, (v) => v.toFixed(1)) : '',
            dl ? `${orBlank(dl.commitLatencyMeanMs, fmtMs)} / ${orBlank(dl.commitLatencyMaxMs, fmtMs)}` : '',
            dl ? orBlank(dl.delivered, fmtInt) + (r.downstreamReceived !== undefined ? ` (received ${fmtInt(r.downstreamReceived)})` : '') : '',
            dl ? orBlank(dl.lagAtEndMs, fmtMs) : '',
            dl ? orBlank(dl.queuedAtEnd, fmtInt) : '',
            r.redis
              ? `${r.redis.commandsPerWebhook.toFixed(2)}${r.redis.scripts > 0 ? ` (${r.redis.scriptsPerWebhook.toFixed(2)} scripts)` : ''}` +
                (r.redis.streamLength !== undefined ? `, stream ${fmtInt(r.redis.streamLength)}` : '')
              : '',
            us(r.cpuUsPerWebhook.helpers.downstream),
          ];
        }),
        [false, false, false, true, true, true, true, true, true, true, true, true],
      ),
    );
  }

  if (paced.length > 0) {
    out.push('\n#### Latency at a given load (open loop, paced)\n');
    out.push(
      markdownTable(
        ['mix', 'server', 'load', 'requests per connection ⁶', 'offered', 'achieved', 'p50', 'p99 ²', 'max', 'non-2xx', 'CPU-µs / webhook ¹', 'server CPU', 'scheduler lag', 'other CPU'],
        paced.map((r) => {
          const redisUs = r.cpuUsPerWebhook.helpers['redis-server'];
          return [
            r.mix,
            r.target,
            r.phase === 'target load' ? '½ bare ceiling' : '½ own max',
            r.pacing === 'one per connection' ? `one at a time${r.waitedForConnection ? ` (${fmtInt(r.waitedForConnection)} waited)` : ''}` : 'pipelined',
            fmtRate(r.offeredRate ?? Number.NaN),
            fmtInt(r.requestsPerSecond),
            fmtMs(r.latencyMs.p50),
            r.latencyFromSendMs ? `${fmtMs(r.latencyMs.p99)} (${fmtMs(r.latencyFromSendMs.p99)})` : fmtMs(r.latencyMs.p99),
            fmtMs(r.latencyMs.max),
            non2xxCell(r),
            `${us(r.cpuUsPerWebhook.server)}${redisUs !== undefined ? ` + Redis ${us(redisUs)}` : ''}`,
            cores(r.serverCpuCores),
            fmtMs(r.maxSendLagMs ?? Number.NaN),
            cores(r.othersCpuCores),
          ];
        }),
        [false, false, false, false, true, true, true, true, true, true, true, true, true, true],
      ),
    );
  }

  out.push(
    '\n¹ CPU-µs per webhook: the process\'s user + system CPU time during the load (all its threads, /proc/<pid>/stat) per answered request ' +
      '(CPU-seconds per second ÷ requests per second × 10⁶); for the Redis variants, redis-server\'s as well ("+ Redis").',
  );
  if (paced.length > 0) {
    out.push(
      '² Paced runs: latency counts from the *scheduled* send time (no coordinated omission), so a stall of the generator itself (scheduler lag) ' +
        'counts against the server; the figure in parentheses counts from the actual write.',
    );
  }
  if (d.runs.some((r) => r.unanswered > 0)) {
    out.push(
      '³ Still unanswered 10 s after the paced run ended: the server fell behind the offered rate. Their latencies are not in the ' +
        'percentiles, which therefore understate the overload.',
    );
  }
  out.push(
    `⁴ The client core: the load generator's CPU, plus (in parentheses, after the +) the downstream's and redis-server's, which share its CPU: ` +
      `≥ ${SATURATED * 100} % means the client side, not the server, may have set the pace. The paced generator spins, so its own share is not shown.`,
  );
  if (d.runs.some((r) => r.delivery && r.delivery.commits > 0)) {
    out.push(
      '⁵ Group commit: one write + one fdatasync of the outbox for every event that arrived meanwhile, timed from the write\'s start to the ' +
        'fdatasync\'s end; the mean is over this run\'s commits, the max since the daemon started (its warm-up included). ' +
        `OUTBOX_DIR was on ${d.outboxFilesystem ?? 'an unknown filesystem'}. Lag at end: age of the oldest undelivered event when the load stopped.`,
    );
  }
  if (paced.length > 0) {
    out.push(
      '⁶ Pipelined: requests go out on schedule round-robin over the connections, several in flight on one connection when the server is slow ' +
        '(the method of the issue 12 target). One at a time: a request goes out only on a connection with nothing in flight, as most clients send; ' +
        'when all are busy it waits ("waited"), and the wait counts in its latency. The sink variants are paced one at a time (the daemon drops ' +
        'a connection that pipelines to a sink), next to the plain daemon paced the same way.',
    );
  }
  if (d.runs.some((r) => r.redis)) {
    out.push(
      '⁷ From redis-server\'s INFO commandstats before and after the run, per webhook the daemon counted: every command, those run inside ' +
        'scripts included; in parentheses the script calls (EVALSHA, FCALL, …), one per client call. Stream: XLEN of the redis-stream variant\'s stream after the run (warm-up included).',
    );
  }
  out.push(`\nFinal numbers from ${d.finalGenerator}: ${d.generatorNote}`);
  out.push(`Placement: ${d.placement.note}. ${d.helperPlacement}`);
  out.push(
    'CPU columns are CPU-seconds per wall second during the load (100 % = one core), read from /proc; "other CPU" is everything else running on the ' +
      'machine meanwhile: when it is high the server shared its core and the run is noisy.',
  );
  out.push(`\n${markdownTable(['target', 'measured', ''], d.targets.map((t) => [t.target, t.value, verdict(t.met)]))}`);
  return out.join('\n');
}
