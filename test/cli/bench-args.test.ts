/**
 * The bench scripts' command lines: --help and flag errors, which exit before any work (no
 * benchmark runs here: the machine is shared), and the "part N of M — about X left" lines.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fmtDuration, Progress } from '../../bench/lib/progress.js';
import { ROOT } from '../helpers/daemon.js';

/** The entry points and a few of the flags each must document. */
const SCRIPTS: Record<string, string[]> = {
  index: ['--quick', '--only LIST'],
  filter: ['--quick', '--capacity N', '--time MS', '--fill-budget MS'],
  accuracy: ['--quick', '--capacity N', '--probes N'],
  e2e: ['--quick', '--duration SECONDS', '--connections N', '--new-ratio R', '--generator auto|autocannon|wrk', '--pool N', '--mix LIST', '--variants LIST', '--paced none|daemon|all'],
  memory: ['--quick', '--budget-seconds SECONDS', '--connections N', '--depth N'],
  soak: ['--duration SECONDS', '--rate N|half-e2e', '--connections N', '--warmup SECONDS', '--snapshot-interval SECONDS', '--out FILE'],
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bench(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join('bench', `${script}.ts`), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A script that got past its flags would start a benchmark: kill it rather than let it run.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`bench/${script}.ts ${args.join(' ')} did not exit at once; stderr: ${stderr}`));
    }, 30_000);
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function results(): string[] {
  const dir = path.join(ROOT, 'bench', 'results');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe('bench scripts: --help', () => {
  for (const [script, flags] of Object.entries(SCRIPTS)) {
    it(`bench/${script}.ts --help says what it measures, its flags and defaults, and exits 0 without starting`, async () => {
      const before = results();
      const r = await bench(script, ['--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', 'nothing started: no progress line');
      assert.match(r.stdout, new RegExp(`^bench/${script}\\.ts: \\S.{10,}\\n`), 'first line: what it measures');
      assert.match(r.stdout, /\nUsage:\n {2}\S/);
      for (const flag of [...flags, '--help']) assert.ok(r.stdout.includes(`\n  ${flag} `), `${flag} in:\n${r.stdout}`);
      assert.match(r.stdout, /\(default: /);
      assert.match(r.stdout, /\nRun time: .*\.\n/);
      assert.match(r.stdout, /part N of M/);
      assert.deepEqual(results(), before, 'no results written');
    });
  }
});

describe('bench scripts: bad command lines', () => {
  for (const script of Object.keys(SCRIPTS)) {
    it(`bench/${script}.ts rejects an unknown flag with one line naming it, exit 2`, async () => {
      const r = await bench(script, ['--no-such-flag', '--quick']);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `bench/${script}.ts: unknown flag --no-such-flag (see --help)\n`);
    });
  }

  it('bad values, missing values, stray arguments and a value on a switch: one line each, exit 2', async () => {
    const cases: Array<[string, string[], string]> = [
      ['e2e', ['--generator', 'fast'], 'bench/e2e.ts: --generator must be one of auto, autocannon, wrk, got "fast" (see --help)\n'],
      ['e2e', ['--new-ratio=1.5'], 'bench/e2e.ts: --new-ratio must be a number from 0 to 1, got "1.5" (see --help)\n'],
      ['e2e', ['--mix', '50/50,60/40'], 'bench/e2e.ts: --mix: unknown "60/40"; choose from 50/50, 70/30 (see --help)\n'],
      ['e2e', ['--variants', 'http-sink,kafka'], 'bench/e2e.ts: --variants: unknown "kafka"; choose from http-sink, redis-stream, redis-store, workers-2, or none (see --help)\n'],
      ['e2e', ['--paced=some'], 'bench/e2e.ts: --paced must be one of none, daemon, all, got "some" (see --help)\n'],
      ['filter', ['--time'], 'bench/filter.ts: --time needs a value (--time MS) (see --help)\n'],
      ['memory', ['--quick=yes'], 'bench/memory.ts: --quick takes no value (see --help)\n'],
      ['accuracy', ['1000'], 'bench/accuracy.ts: unexpected argument "1000" (see --help)\n'],
      ['soak', ['--rate', 'lots'], 'bench/soak.ts: --rate must be a number >= 1, got "lots" (see --help)\n'],
      ['index', ['--only', 'filter,speed'], 'bench/index.ts: --only: unknown part(s) speed; the parts are filter, accuracy, e2e, memory (see --help)\n'],
    ];
    for (const [script, args, line] of cases) {
      const r = await bench(script, args);
      assert.equal(r.code, 2, `${script} ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, line);
      assert.equal(r.stdout, '');
    }
  });
});

describe('bench progress lines', () => {
  function progressWith(plan: Array<{ what: string; seconds: number }>) {
    let t = 0;
    const lines: string[] = [];
    const p = new Progress('e2e', plan, { write: (l) => lines.push(l), now: () => t });
    return { p, lines, advance: (s: number) => (t += s) };
  }

  it('"part N of M (script: what) — about X left", counting the part that starts', () => {
    const { p, lines, advance } = progressWith([
      { what: 'bare uWS.js, saturation', seconds: 60 },
      { what: 'daemon, saturation', seconds: 60 },
      { what: 'daemon, paced', seconds: 120 },
    ]);
    p.next();
    advance(60);
    p.next('50 % new');
    advance(60);
    p.next();
    advance(120);
    p.done();
    assert.deepEqual(lines, [
      'part 1 of 3 (e2e: bare uWS.js, saturation) — about 4 min left\n',
      'part 2 of 3 (e2e: daemon, saturation, 50 % new) — about 3 min left\n',
      'part 3 of 3 (e2e: daemon, paced) — about 2 min left\n',
      'e2e: all 3 parts done in 4 min\n',
    ]);
  });

  it('scales what is left by how long the finished parts took against their estimates', () => {
    const { p, lines, advance } = progressWith([
      { what: 'a', seconds: 60 },
      { what: 'b', seconds: 60 },
      { what: 'c', seconds: 60 },
    ]);
    p.next();
    advance(120); // twice the estimate
    p.next();
    assert.equal(lines[1], 'part 2 of 3 (e2e: b) — about 4 min left\n');
    advance(60); // half of this part, at the same pace
    assert.equal(p.leftText(), 'about 3 min left');
  });

  it('a part the plan missed is announced, not fatal (a long run goes on)', () => {
    const { p, lines } = progressWith([{ what: 'a', seconds: 10 }]);
    p.next();
    p.next('extra');
    assert.deepEqual(lines, ['part 1 of 1 (e2e: a) — about 10 s left\n', 'e2e: a part beyond the 1 planned (extra)\n', 'part 2 of 2 (e2e: unplanned, extra) — about 1 s left\n']);
  });

  it('says durations the way a person would', () => {
    assert.deepEqual([0, 3, 44, 59, 60, 89, 150, 3599, 3600, 3900].map(fmtDuration), ['1 s', '5 s', '45 s', '1 min', '1 min', '1 min', '3 min', '1 h', '1 h', '1 h 5 min']);
  });
});
