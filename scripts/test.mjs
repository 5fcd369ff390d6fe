#!/usr/bin/env node
// `npm test`: build, type-check, Rust core tests, every test/**/*.test.ts with node:test on this
// Node.js, then the same files on the other supported majors (OTHER_NODES, official binaries
// fetched from the npm registry). Arguments:
//   npm test -- bloom http     only the matching test files, on this Node.js only
//   npm test -- --node=22.23.5 [filters]   only on that release (any version npm has)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { nodeBinary, OTHER_NODES } from './other-nodes.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const nodeArg = args.find((a) => a.startsWith('--node='));
const filters = args.filter((a) => !a.startsWith('--node='));
const onlyNode = nodeArg?.slice('--node='.length);

/**
 * Behaviour only the native uWebSockets.js binary has. Where the pinned uWS build ships no binary
 * for the Node.js ABI (22 and 24), daemons run on its pure-JS shim (ALLOW_UWS_FALLBACK) and these
 * tests are not run, for the reason given; they run on every release with a native binary.
 */
const NATIVE_UWS_ONLY = [
  ['logs the native runtime at start', 'on the shim the daemon logs the shim, by design'],
  ['413 when Content-Length announces too much, before any body is read (Connection: keep-alive)', 'the shim reads the upload before answering, so the early 413 cannot be seen'],
  ['slow clients are closed by the server', 'the shim has no uWS idle timeout for half-sent requests'],
  ['dropped uploads leave no request in flight', 'the shim keeps more memory per dropped upload (node:http)'],
  ['WORKERS=2 (worker threads)', 'worker threads share the port through the binary\'s SO_REUSEPORT; the shim (node:http, exclusive bind) cannot, so the daemon refuses WORKERS > 1 there (tested)'],
  ['the contract suites against WORKERS=2 daemons', 'the same: no WORKERS > 1 on the shim'],
];

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

run('build', process.execPath, [path.join('native', 'scripts', 'build.mjs')], { CXONE_DEDUP_REQUIRE_NATIVE: '1' });
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
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs the node:test files on `bin`; on a release without a native uWS binary, on the shim. */
function runNodeTests(label, bin) {
  const version = spawnSync(bin, ['-p', 'process.versions.modules + " " + process.version'], { encoding: 'utf8' }).stdout.trim();
  const [abi] = version.split(' ');
  const nativeUws = (() => {
    try {
      return readdirSync(path.join(root, 'node_modules', 'uWebSockets.js', 'binaries')).includes(`uws_${process.platform}_${process.arch}_${abi}.node`);
    } catch {
      return false;
    }
  })();
  const extra = [];
  const env = {};
  if (!nativeUws) {
    console.log(`\n── ${label}: no uWebSockets.js binary for ABI ${abi}: daemons run on its JS shim; not run there:`);
    for (const [name, why] of NATIVE_UWS_ONLY) {
      console.log(`   - "${name}": ${why}`);
      extra.push(`--test-skip-pattern=${escape(name)}`);
    }
    env.CXONE_TEST_UWS_SHIM = '1';
  }
  run(label, bin, [...extra, '--import', 'tsx', '--test', '--test-reporter=spec', ...files], env);
}

if (onlyNode === undefined) runNodeTests(`node tests (Node.js ${process.version})`, process.execPath);
const others = onlyNode !== undefined ? [onlyNode] : filters.length === 0 ? OTHER_NODES : [];
for (const v of others) {
  let bin;
  try {
    bin = nodeBinary(root, v);
  } catch (err) {
    console.error(`\n✗ Node.js ${v}: ${err.message}`);
    process.exit(1);
  }
  runNodeTests(`node tests (Node.js v${v})`, bin);
}
