#!/usr/bin/env node
// Builds the Rust addon (release) into native/. Run by `npm install` (prepare) and `npm run build`.
// Without a Rust toolchain the daemon still works on the xxhash-wasm fallback filter, so a
// missing cargo is a warning, unless CXONE_DEDUP_REQUIRE_NATIVE=1 (CI) makes it an error.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.CXONE_DEDUP_REQUIRE_NATIVE === '1';

function fail(message) {
  if (required) {
    console.error(`build-native: ${message}`);
    process.exit(1);
  }
  console.warn(`build-native: ${message}; the xxhash-wasm fallback filter will be used instead`);
  process.exit(0);
}

const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (cargo.error || cargo.status !== 0) fail('cargo not found (install Rust from https://rustup.rs to build the native filter)');

const napi = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
const args = [
  napi, 'build',
  '--platform', '--release',
  '--manifest-path', path.join('native', 'Cargo.toml'),
  '--package-json-path', path.join('native', 'package.json'),
  '--output-dir', 'native',
  '--no-js',
  // No --dts: native/index.d.ts is written by hand (the class is defined on raw N-API, so
  // napi-rs has nothing to generate; napi-derive's type-def feature is off in native/Cargo.toml).
];
const build = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (build.error || build.status !== 0) fail(`native build failed (exit ${build.status ?? build.error?.message})`);
