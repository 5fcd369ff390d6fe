/**
 * `npm run bench`: every part in sequence, each in its own process (so one part's heap and JIT
 * state cannot colour the next), then the combined tables from bench/results/latest.json.
 *
 *   node --import tsx bench/index.ts [--quick] [--only filter,accuracy,e2e,memory]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs, stringArg, switchArg, usageError, type ScriptSpec } from './lib/args.js';
import { machineLine } from './lib/machine.js';
import { Progress } from './lib/progress.js';
import { readLatest, ROOT, type SectionName } from './lib/results.js';

/** Each part, with its rough duration on the reference machine (bench/README.md), full and --quick. */
const PARTS: Array<{ name: SectionName; nodeArgs: string[]; seconds: number; quickSeconds: number }> = [
  { name: 'filter', nodeArgs: ['--expose-gc', '--max-old-space-size=8192'], seconds: 180, quickSeconds: 30 },
  { name: 'accuracy', nodeArgs: ['--max-old-space-size=4096'], seconds: 60, quickSeconds: 15 },
  { name: 'e2e', nodeArgs: [], seconds: 450, quickSeconds: 100 },
  { name: 'memory', nodeArgs: [], seconds: 120, quickSeconds: 20 },
];

const SPEC: ScriptSpec = {
  script: 'bench/index.ts',
  title: 'every benchmark part in sequence (filter, accuracy, e2e, memory), then the combined tables',
  about: `Each part runs in its own process and merges its section into bench/results/latest.json;
the combined markdown tables are printed at the end. bench/README.md explains each part.`,
  usage: ['npm run bench -- [flags]        (builds first)', 'node --import tsx bench/index.ts [flags]'],
  flags: [
    { name: 'quick', help: 'short runs of every part (development; numbers are rough)' },
    { name: 'only', arg: 'LIST', default: PARTS.map((p) => p.name).join(','), help: 'comma-separated parts to run' },
  ],
  duration: 'about 14 min on the reference machine (2 shared vCPUs), about 3 min with --quick',
};

const args = parseArgs(SPEC);
const quick = switchArg(args, 'quick');
const only = stringArg(args, 'only', PARTS.map((p) => p.name).join(',')).split(',');
const unknown = only.filter((o) => !PARTS.some((p) => p.name === o));
if (unknown.length > 0) usageError(SPEC, `--only: unknown part(s) ${unknown.join(', ')}; the parts are ${PARTS.map((p) => p.name).join(', ')}`);
const selected = PARTS.filter((p) => only.includes(p.name));
const progress = new Progress(
  'bench',
  selected.map((p) => ({ what: p.name, seconds: quick ? p.quickSeconds : p.seconds })),
);

const failed: string[] = [];
const started = Date.now();
for (const part of selected) {
  process.stderr.write(`\n══ bench: ${part.name}${quick ? ' (quick)' : ''} ══\n`);
  progress.next();
  const r = spawnSync(process.execPath, [...part.nodeArgs, '--import', 'tsx', path.join(ROOT, 'bench', `${part.name}.ts`), ...(quick ? ['--quick'] : [])], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (r.error || r.status !== 0) failed.push(`${part.name} (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
}

progress.done();

const latest = readLatest();
const out: string[] = ['', '══ bench: combined results (bench/results/latest.json) ══', ''];
if (latest) {
  for (const part of PARTS) {
    const s = latest.sections[part.name];
    if (!s) continue;
    out.push(`${s.markdown.trim()}\n`);
    out.push(`_${part.name}: ${s.quick ? 'quick run, ' : ''}${s.date}_\n`);
  }
  out.push(`Command: \`npm run bench${quick ? ' -- --quick' : ''}\`  `);
  out.push(`Machine: ${machineLine(latest.machine)}`);
}
out.push(`\nTotal time ${((Date.now() - started) / 1000).toFixed(0)} s.`);
process.stdout.write(`${out.join('\n')}\n`);
if (failed.length > 0) {
  process.stderr.write(`\n!!!!!!!! bench: failed parts: ${failed.join(', ')} !!!!!!!!\n`);
  process.exit(1);
}
