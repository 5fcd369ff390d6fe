#!/usr/bin/env node
// Builds @cxone-dedup/bloom: the Rust addon for this platform (cargo through the napi CLI, release)
// with its generated types (addon.d.ts), then the TypeScript (lib/ → dist/). Run by the
// repository's `npm install` / `npm run build`, and by `npm pack` here (prepack).
//
// Without a Rust toolchain the package still builds, without the addon: it then runs on the
// xxhash-wasm fallback and says so. --require-native (npm pack) or CXONE_DEDUP_REQUIRE_NATIVE=1 (CI)
// make that an error; --ts-only skips the addon.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const required = args.includes('--require-native') || process.env.CXONE_DEDUP_REQUIRE_NATIVE === '1';
const require = createRequire(path.join(pkg, 'package.json'));

function run(what, cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: pkg, stdio: 'inherit' });
  return r.error ? r.error.message : r.status === 0 ? null : `exit ${r.status}`;
}

function native() {
  const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  if (cargo.error || cargo.status !== 0) return 'cargo not found (install Rust from https://rustup.rs to build the native addon)';
  const napi = require.resolve('@napi-rs/cli/package.json').replace(/package\.json$/, 'dist/cli.js');
  const failed = run('addon', process.execPath, [napi, 'build', '--platform', '--release', '--no-js', '--dts', 'addon.d.ts']);
  return failed && `native build failed (${failed})`;
}

if (!args.includes('--ts-only')) {
  const problem = native();
  if (problem && required) {
    console.error(`@cxone-dedup/bloom build: ${problem}`);
    process.exit(1);
  }
  if (problem) console.warn(`@cxone-dedup/bloom build: ${problem}; the xxhash-wasm fallback will be used instead`);
}
const tsc = require.resolve('typescript/bin/tsc');
const failed = run('typescript', process.execPath, [tsc, '-p', 'tsconfig.json']);
if (failed) {
  console.error(`@cxone-dedup/bloom build: tsc failed (${failed})`);
  process.exit(1);
}
