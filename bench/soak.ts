/**
 * Soak: the real daemon on loopback under steady signed load for minutes (default 5 min at
 * 5,000 req/s), with snapshots every 15 s. Checks that nothing goes wrong over time:
 *
 *   - zero unexpected answers (every request's expected status is known when it is sent: a new
 *     interactionId → processed, a repeat of an answered one → deduplicated, each kind of bad
 *     request → its 4xx), no connection errors, no timeouts;
 *   - memory: the daemon's RSS sampled every few seconds; the slope after warm-up by least
 *     squares, in MB/min;
 *   - counts that reconcile exactly: the daemon's received = processed + deduplicated + rejected,
 *     each equal to what this client sent and saw (a new id answered "deduplicated" is a Bloom
 *     false positive and must equal the daemon's eventsUnconfirmed).
 *
 * Prints a summary and writes bench/results/soak.json. Exit code 1 if any check fails.
 *
 *   node --import tsx bench/soak.ts [--duration 300] [--rate 5000] [--connections 32]
 *     [--new-ratio 0.5] [--bad-ratio 0.05] [--payload-bytes 1000] [--warmup 120] [--sample 5]
 *     [--snapshot-interval 15 | 0 for no snapshots] [--node-options '--max-old-space-size=512']
 *     [--out bench/results/soak.json]
 *
 * `--node-options` is passed to the daemon as NODE_OPTIONS: capping its heap tells a leak (it
 * would run out of memory) from a heap V8 merely lets grow because the machine has room.
 *
 * The default rate is a fixed 5,000 req/s: about half of what bench/e2e.ts measured for the
 * daemon's paced load on this 2-core machine, leaving room for this client. `--rate half-e2e`
 * takes half of the daemon's saturation rate from bench/results/latest.json instead.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { signRequest } from '../src/http/signature.js';
import { startDaemon, TEST_SECRET, WEBHOOK_PATH } from '../test/helpers/daemon.js';
import { buildRequest, KeepAlivePool } from '../test/reliability/helpers/keepalive.js';
import { numberArg, parseArgs, stringArg, usageError, type ScriptSpec } from './lib/args.js';
import { procStatusKb } from './lib/cpu.js';
import { LatencySamples } from './lib/latency.js';
import { machineFacts } from './lib/machine.js';
import { Progress } from './lib/progress.js';
import { readLatest, RESULTS_DIR } from './lib/results.js';

type Kind = 'new' | 'repeat' | 'bad_signature' | 'missing_signature' | 'malformed_json' | 'invalid_event' | 'replayed';
const BAD_KINDS: readonly Kind[] = ['bad_signature', 'missing_signature', 'malformed_json', 'invalid_event', 'replayed'];
const EXPECTED_STATUS: Record<Kind, number> = { new: 200, repeat: 200, bad_signature: 401, missing_signature: 403, malformed_json: 400, invalid_event: 400, replayed: 401 };

const SPEC: ScriptSpec = {
  script: 'bench/soak.ts',
  title: 'soak: the real daemon under steady signed load for minutes, checking that nothing drifts',
  about: `Open-loop load (new ids, repeats and each kind of bad request) with snapshots on. Checks: no
unexpected answer, error or timeout; the daemon's counts reconcile exactly with what was sent and
answered; RSS sampled every few seconds, with its slope after warm-up. Writes a JSON report;
exit 1 if a check fails.`,
  usage: ['node --import tsx bench/soak.ts [flags]'],
  flags: [
    { name: 'duration', arg: 'SECONDS', default: '300', help: 'length of the load' },
    { name: 'rate', arg: 'N|half-e2e', default: '5000', help: 'requests per second; half-e2e = half the daemon saturation rate in bench/results/latest.json' },
    { name: 'connections', arg: 'N', default: '32', help: 'keep-alive connections' },
    { name: 'new-ratio', arg: 'R', default: '0.5', help: 'share of good requests with a new interactionId' },
    { name: 'bad-ratio', arg: 'R', default: '0.05', help: 'share of bad requests (bad or missing signature, malformed, invalid, replayed)' },
    { name: 'payload-bytes', arg: 'N', default: '1000', help: 'padding in each event payload' },
    { name: 'warmup', arg: 'SECONDS', default: 'min(120, 0.4 × duration)', help: 'RSS samples before this are left out of the slope' },
    { name: 'sample', arg: 'SECONDS', default: '5', help: 'RSS and /stats sampling interval' },
    { name: 'snapshot-interval', arg: 'SECONDS', default: '15', help: 'SNAPSHOT_INTERVAL_SECONDS of the daemon; 0 = no snapshots' },
    { name: 'node-options', arg: 'OPTS', default: 'none', help: "NODE_OPTIONS for the daemon, e.g. '--max-old-space-size=512' (a leak then runs out of memory)" },
    { name: 'out', arg: 'FILE', default: 'bench/results/soak.json', help: 'where the JSON report goes' },
  ],
  duration: '--duration plus about 10 s',
};

const args = parseArgs(SPEC);
const durationS = numberArg(args, 'duration', 300, 1);
const connections = numberArg(args, 'connections', 32, 1);
const newRatio = numberArg(args, 'new-ratio', 0.5, 0);
const badRatio = numberArg(args, 'bad-ratio', 0.05, 0);
const payloadBytes = numberArg(args, 'payload-bytes', 1000, 0);
// The state cache fills in ~40 s at the defaults, and V8 keeps growing its heap for a while after.
const warmupS = numberArg(args, 'warmup', Math.min(120, durationS * 0.4), 0);
const sampleS = numberArg(args, 'sample', 5, 0.5);
const snapshotIntervalS = numberArg(args, 'snapshot-interval', 15, 0);
const nodeOptions = stringArg(args, 'node-options', '');
const outFile = stringArg(args, 'out', path.join(RESULTS_DIR, 'soak.json'));

function resolveRate(): { rate: number; source: string } {
  const raw = stringArg(args, 'rate', '5000');
  if (raw !== 'half-e2e') return { rate: numberArg(args, 'rate', 5000, 1), source: args.values.has('rate') ? '--rate' : 'default' };
  const runs = (readLatest()?.sections.e2e?.data as { runs?: Array<{ phase: string; target: string; requestsPerSecond: number }> } | undefined)?.runs;
  const sat = runs?.find((r) => r.phase === 'saturation' && r.target === 'daemon');
  if (!sat) usageError(SPEC, '--rate half-e2e: no daemon saturation run in bench/results/latest.json (run `npm run bench:e2e` first)');
  return { rate: Math.round(sat.requestsPerSecond / 2), source: `half of the e2e saturation rate (${Math.round(sat.requestsPerSecond)}/s)` };
}
const { rate, source: rateSource } = resolveRate();
const progress = new Progress('soak', [
  { what: 'starting the daemon', seconds: 2 },
  { what: `warm-up load at ${rate} req/s`, seconds: warmupS },
  { what: `measured load at ${rate} req/s`, seconds: Math.max(0, durationS - warmupS) },
  { what: 'draining, stopping the daemon, reconciling', seconds: 5 },
]);

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const den = n * sxx - sx * sx;
  return den === 0 ? Number.NaN : (n * sxy - sx * sy) / den;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cxone-soak-'));
  const env: Record<string, string> = {};
  if (snapshotIntervalS > 0) Object.assign(env, { SNAPSHOT_PATH: path.join(dir, 'state.snap'), SNAPSHOT_INTERVAL_SECONDS: String(snapshotIntervalS) });
  if (nodeOptions !== '') env.NODE_OPTIONS = nodeOptions;
  progress.next();
  const daemon = await startDaemon({ env });
  const pid = daemon.proc.pid!;
  const pool = new KeepAlivePool(daemon.port, connections, 10_000);
  console.log(`soak: ${durationS} s at ${rate} req/s (${rateSource}), ${connections} connections, ${Math.round(newRatio * 100)} % new ids, ${Math.round(badRatio * 100)} % bad requests, ~${payloadBytes} B payloads, ${snapshotIntervalS > 0 ? `snapshots every ${snapshotIntervalS} s` : 'no snapshots'}${nodeOptions ? `, NODE_OPTIONS=${nodeOptions}` : ''}; daemon pid ${pid}`);

  const pad = 'p'.repeat(payloadBytes);
  let seq = 0;
  // Ids whose first event has been answered: repeats are drawn from here, so a repeat is certain to be a duplicate.
  const answered: string[] = [];
  const ANSWERED_KEEP = 10_000;
  const sent: Record<Kind, number> = { new: 0, repeat: 0, bad_signature: 0, missing_signature: 0, malformed_json: 0, invalid_event: 0, replayed: 0 };
  let processed = 0;
  let deduplicated = 0;
  let newAnsweredDuplicate = 0;
  const unexpected: Array<{ kind: Kind; status: number | null; detail: string }> = [];
  let unexpectedCount = 0;
  const latency = new LatencySamples();
  let outstanding = 0;
  let maxOutstanding = 0;
  let skippedTicks = 0;

  const fail = (kind: Kind, status: number | null, detail: string) => {
    unexpectedCount++;
    if (unexpected.length < 20) unexpected.push({ kind, status, detail: detail.slice(0, 200) });
  };

  const event = (id: string) => JSON.stringify({ interactionId: id, dataActionId: `da-${seq}`, updatedTimestamp: new Date(Date.UTC(2026, 0, 1) + seq).toISOString(), payload: { seq, note: pad } });
  const post = (body: string, headers: Record<string, string>) => buildRequest('POST', WEBHOOK_PATH, { 'content-type': 'application/json', ...headers }, body);

  function next(): { kind: Kind; request: Buffer; id?: string } {
    seq++;
    if (Math.random() < badRatio) {
      const kind = BAD_KINDS[seq % BAD_KINDS.length]!;
      const id = `soak-bad-${seq}`;
      switch (kind) {
        case 'bad_signature':
          return { kind, request: post(event(id), { 'x-nice-signature': signRequest('not-the-secret-0123456789', event(id)) }) };
        case 'missing_signature':
          return { kind, request: post(event(id), {}) };
        case 'malformed_json': {
          const body = `${event(id).slice(0, 40)}`;
          return { kind, request: post(body, { 'x-nice-signature': signRequest(TEST_SECRET, body) }) };
        }
        case 'invalid_event': {
          const body = JSON.stringify({ interactionId: id, dataActionId: 'd', updatedTimestamp: 'not a time' });
          return { kind, request: post(body, { 'x-nice-signature': signRequest(TEST_SECRET, body) }) };
        }
        default: {
          const ts = String(Math.floor(Date.now() / 1000) - 3600);
          const body = event(id);
          return { kind: 'replayed', request: post(body, { 'x-nice-timestamp': ts, 'x-nice-signature': signRequest(TEST_SECRET, body, ts) }) };
        }
      }
    }
    const repeat = answered.length > 0 && Math.random() >= newRatio;
    const id = repeat ? answered[Math.floor(Math.random() * answered.length)]! : `soak-${process.pid}-${seq}`;
    const body = event(id);
    return { kind: repeat ? 'repeat' : 'new', request: post(body, { 'x-nice-signature': signRequest(TEST_SECRET, body) }), id };
  }

  async function send(): Promise<void> {
    const { kind, request, id } = next();
    sent[kind]++;
    outstanding++;
    maxOutstanding = Math.max(maxOutstanding, outstanding);
    const t0 = performance.now();
    try {
      const r = await pool.request(request);
      latency.record(performance.now() - t0);
      if (r.status !== EXPECTED_STATUS[kind]) return fail(kind, r.status, r.body);
      if (kind === 'new') {
        if (r.json?.status === 'processed') {
          processed++;
          answered.push(id!);
          if (answered.length > ANSWERED_KEEP) answered.splice(0, answered.length - ANSWERED_KEEP);
        } else if (r.json?.status === 'deduplicated') {
          deduplicated++;
          newAnsweredDuplicate++;
        } else fail(kind, r.status, r.body);
      } else if (kind === 'repeat') {
        if (r.json?.status === 'deduplicated') deduplicated++;
        else {
          if (r.json?.status === 'processed') processed++;
          fail(kind, r.status, `a repeat was not deduplicated: ${r.body}`);
        }
      } else if (typeof r.json?.error !== 'string') fail(kind, r.status, r.body);
    } catch (err) {
      fail(kind, null, (err as Error).message);
    } finally {
      outstanding--;
    }
  }

  const samples: Array<{ t: number; rssMB: number; received: number; stateCacheSize: number }> = [];
  const snapshots = new Map<string, { bytes: number; interactions: number; durationMs: number; captureMs: number; maxEventLoopDelayMs: number; writeMaxEventLoopDelayMs: number }>();
  const statsBefore = await daemon.stats();
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  let dispatched = 0;
  let nextSample = 0;
  let nextReport = 30;
  const cap = connections * 8;
  progress.next();
  let warm = false;

  while (true) {
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= durationS) break;
    if (!warm && elapsed >= warmupS) {
      warm = true;
      progress.next();
    }
    if (elapsed >= nextSample) {
      nextSample += sampleS;
      const rssMB = procStatusKb(pid, 'VmRSS') / 1024;
      const s = await daemon.stats();
      samples.push({ t: elapsed, rssMB, received: s.eventsReceived, stateCacheSize: s.stateCache.size });
      const last = s.snapshot?.last;
      if (last && !snapshots.has(last.at)) snapshots.set(last.at, last);
    }
    if (elapsed >= nextReport) {
      nextReport += 30;
      const last = samples[samples.length - 1];
      console.log(`  ${Math.round(elapsed)} s: sent ${dispatched}, rss ${last?.rssMB.toFixed(0)} MB, cache ${last?.stateCacheSize}, unexpected ${unexpectedCount}, outstanding ${outstanding} — ${progress.leftText()}`);
    }
    // Open loop: send what the schedule says is due by now (bounded backlog; a skipped tick is counted).
    const due = Math.floor(elapsed * rate) - dispatched;
    for (let i = 0; i < due; i++) {
      if (outstanding >= cap) {
        skippedTicks++;
        break;
      }
      dispatched++;
      const p = send();
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  if (!warm) progress.next(); // a warm-up as long as the run: the measured part is empty
  progress.next();
  await Promise.all(inFlight);
  const wallS = (performance.now() - start) / 1000;
  const statsAfter = await daemon.stats();
  const last = statsAfter.snapshot?.last;
  if (last && !snapshots.has(last.at)) snapshots.set(last.at, last);
  samples.push({ t: wallS, rssMB: procStatusKb(pid, 'VmRSS') / 1024, received: statsAfter.eventsReceived, stateCacheSize: statsAfter.stateCache.size });
  pool.close();
  const exit = await daemon.stop('SIGTERM', 30_000);
  const finalSnapshot = daemon.logs.find((l) => l.msg === 'final snapshot written');
  rmSync(dir, { recursive: true, force: true });

  // Reconciliation.
  const d = (k: string) => (statsAfter[k] as number) - (statsBefore[k] as number);
  const byReason = (r: string) => statsAfter.rejectedByReason[r] - statsBefore.rejectedByReason[r];
  const totalSent = Object.values(sent).reduce((a, b) => a + b, 0);
  const badSent = BAD_KINDS.reduce((a, k) => a + sent[k], 0);
  const checks: Array<[string, boolean, string]> = [
    ['no unexpected answers, errors or timeouts', unexpectedCount === 0, String(unexpectedCount)],
    ['daemon received = processed + deduplicated + rejected', statsAfter.eventsReceived === statsAfter.eventsProcessed + statsAfter.eventsDeduplicated + statsAfter.eventsRejected, `${statsAfter.eventsReceived} = ${statsAfter.eventsProcessed} + ${statsAfter.eventsDeduplicated} + ${statsAfter.eventsRejected}`],
    ['received = sent', d('eventsReceived') === totalSent, `${d('eventsReceived')} vs ${totalSent}`],
    ['processed = answered processed', d('eventsProcessed') === processed, `${d('eventsProcessed')} vs ${processed}`],
    ['deduplicated = answered deduplicated', d('eventsDeduplicated') === deduplicated, `${d('eventsDeduplicated')} vs ${deduplicated}`],
    ['rejected = bad requests sent', d('eventsRejected') === badSent, `${d('eventsRejected')} vs ${badSent}`],
    ...BAD_KINDS.map((k): [string, boolean, string] => [`rejected ${k} = sent`, byReason(k) === sent[k], `${byReason(k)} vs ${sent[k]}`]),
    ['new ids answered "deduplicated" = eventsUnconfirmed (Bloom false positives)', d('eventsUnconfirmed') === newAnsweredDuplicate, `${d('eventsUnconfirmed')} vs ${newAnsweredDuplicate}`],
    snapshotIntervalS > 0
      ? ['clean exit with a final snapshot', exit.code === 0 && finalSnapshot !== undefined, `exit ${exit.code ?? exit.signal}`]
      : ['clean exit', exit.code === 0, `exit ${exit.code ?? exit.signal}`],
  ];

  const steady = samples.filter((s) => s.t >= warmupS);
  const rssSlopeMBPerMin = slope(steady.map((s) => [s.t / 60, s.rssMB]));
  const snaps = [...snapshots.values()];
  const lat = latency.summary();
  const result = {
    date: new Date().toISOString(),
    machine: machineFacts(),
    settings: { durationS, rate, rateSource, connections, newRatio, badRatio, payloadBytes, warmupS, sampleS, snapshotIntervalS, nodeOptions },
    achieved: { requests: totalSent, wallSeconds: wallS, requestsPerSecond: totalSent / wallS, maxOutstanding, backlogCapHits: skippedTicks },
    sent,
    answered: { processed, deduplicated, newAnsweredDuplicate },
    unexpected: { count: unexpectedCount, examples: unexpected },
    latencyMs: lat,
    daemon: {
      received: d('eventsReceived'),
      processed: d('eventsProcessed'),
      deduplicated: d('eventsDeduplicated'),
      unconfirmed: d('eventsUnconfirmed'),
      rejected: d('eventsRejected'),
      rejectedByReason: Object.fromEntries(Object.keys(statsAfter.rejectedByReason).map((k) => [k, byReason(k)])),
      compactions: d('compactions'),
      stateCache: statsAfter.stateCache,
      latency: statsAfter.latency,
    },
    rss: {
      firstMB: samples[0]?.rssMB,
      peakMB: Math.max(...samples.map((s) => s.rssMB)),
      lastMB: samples[samples.length - 1]?.rssMB,
      slopeAfterWarmupMBPerMin: rssSlopeMBPerMin,
      samples: samples.map((s) => ({ t: Math.round(s.t * 10) / 10, rssMB: Math.round(s.rssMB * 10) / 10, stateCacheSize: s.stateCacheSize })),
    },
    snapshots: {
      written: statsAfter.snapshot?.written,
      failed: statsAfter.snapshot?.failed,
      seen: snaps.length,
      maxCaptureMs: Math.max(...snaps.map((s) => s.captureMs)),
      maxEventLoopDelayMs: Math.max(...snaps.map((s) => s.maxEventLoopDelayMs)),
      maxWriteEventLoopDelayMs: Math.max(...snaps.map((s) => s.writeMaxEventLoopDelayMs)),
      lastBytes: snaps[snaps.length - 1]?.bytes,
      lastInteractions: snaps[snaps.length - 1]?.interactions,
      maxDurationMs: Math.max(...snaps.map((s) => s.durationMs)),
      final: finalSnapshot ? { bytes: finalSnapshot.bytes, interactions: finalSnapshot.interactions, durationMs: finalSnapshot.durationMs } : null,
    },
    checks: checks.map(([name, ok, detail]) => ({ name, ok, detail })),
  };

  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);

  const f1 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(1));
  console.log('');
  console.log(`requests   ${totalSent} in ${wallS.toFixed(1)} s = ${(totalSent / wallS).toFixed(0)} req/s (target ${rate}); new ${sent.new}, repeats ${sent.repeat}, bad ${badSent}`);
  console.log(`latency    p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms, p99.9 ${lat.p999.toFixed(2)} ms, max ${lat.max.toFixed(1)} ms (client side, loopback)`);
  console.log(`unexpected ${unexpectedCount}${unexpected.length ? ` e.g. ${JSON.stringify(unexpected.slice(0, 3))}` : ''}`);
  console.log(`rss        first ${f1(result.rss.firstMB)} MB, peak ${f1(result.rss.peakMB)} MB, last ${f1(result.rss.lastMB)} MB; slope after ${warmupS} s warm-up ${rssSlopeMBPerMin.toFixed(3)} MB/min (${steady.length} samples)`);
  console.log(`snapshots  ${result.snapshots.written} written, ${result.snapshots.failed} failed; last ${result.snapshots.lastInteractions} interactions, ${f1((result.snapshots.lastBytes ?? 0) / 1048576)} MB; longest capture ${f1(result.snapshots.maxCaptureMs)} ms, longest event-loop delay ${f1(result.snapshots.maxEventLoopDelayMs)} ms (write phase ${f1(result.snapshots.maxWriteEventLoopDelayMs)} ms)`);
  console.log(`daemon     received ${result.daemon.received} = processed ${result.daemon.processed} + deduplicated ${result.daemon.deduplicated} + rejected ${result.daemon.rejected}; unconfirmed ${result.daemon.unconfirmed}; compactions ${result.daemon.compactions}`);
  for (const c of result.checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name} (${c.detail})`);
  console.log(`\nwrote ${path.relative(process.cwd(), outFile)}`);
  progress.done();
  return result.checks.every((c) => c.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
