#!/usr/bin/env node
// `npm test`: build, type-check, Rust core tests, then every test/**/*.test.ts with node:test.
// Extra arguments narrow the run to matching test files: `npm test -- bloom`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);

function run(label, cmd, args, env = {}) {
  console.log(`\n── ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error || r.status !== 0) {
    console.error(`\n✗ ${label} failed (${r.error?.message ?? `exit ${r.status}`})`);
    process.exit(r.status || 1);
  }
}

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

run('build', process.execPath, [path.join('scripts', 'build-native.mjs')], { CXONE_DEDUP_REQUIRE_NATIVE: '1' });
run('typescript', process.execPath, [path.join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
run('type-check tests', process.execPath, [path.join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.check.json']);
if (filters.length === 0 || filters.includes('cargo')) {
  run('rust core', 'cargo', ['test', '--release', '--manifest-path', path.join('native', 'Cargo.toml'), '--workspace']);
}

let files = findTests(path.join(root, 'test')).map((f) => path.relative(root, f));
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  if (filters.length > 0 && filters.every((x) => x === 'cargo')) process.exit(0);
  console.error('no test files matched');
  process.exit(1);
}
run('node tests', process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files]);
