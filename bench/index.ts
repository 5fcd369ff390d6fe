/**
 * `npm run bench`: every part in sequence, each in its own process (so one part's heap and JIT
 * state cannot colour the next), then the combined tables from bench/results/latest.json.
 *
 *   node --import tsx bench/index.ts [--quick] [--only filter,accuracy,e2e,memory]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs, stringArg } from './lib/args.js';
import { machineLine } from './lib/machine.js';
import { readLatest, ROOT, type SectionName } from './lib/results.js';

const PARTS: Array<{ name: SectionName; nodeArgs: string[] }> = [
  { name: 'filter', nodeArgs: ['--expose-gc', '--max-old-space-size=8192'] },
  { name: 'accuracy', nodeArgs: ['--max-old-space-size=4096'] },
  { name: 'e2e', nodeArgs: [] },
  { name: 'memory', nodeArgs: [] },
];

const args = parseArgs();
const quick = args.flags.has('quick');
const only = stringArg(args, 'only', PARTS.map((p) => p.name).join(',')).split(',');
const unknown = only.filter((o) => !PARTS.some((p) => p.name === o));
if (unknown.length > 0) throw new Error(`--only: unknown part(s) ${unknown.join(', ')}`);

const failed: string[] = [];
const started = Date.now();
for (const part of PARTS.filter((p) => only.includes(p.name))) {
  process.stderr.write(`\n══ bench: ${part.name}${quick ? ' (quick)' : ''} ══\n`);
  const r = spawnSync(process.execPath, [...part.nodeArgs, '--import', 'tsx', path.join(ROOT, 'bench', `${part.name}.ts`), ...(quick ? ['--quick'] : [])], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (r.error || r.status !== 0) failed.push(`${part.name} (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
}

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
