/**
 * @cxone-dedup/bloom as an embedder gets it: `npm pack` of native/ (as built by `npm test`),
 * installed into an empty folder, then used from ES modules, CommonJS and TypeScript (tsc against
 * the package's types), natively and, with the addon pointed away, on the fallback. Asserts the
 * answers, that nothing but the package and xxhash-wasm was installed (no uWebSockets.js), and
 * that a missing addon is explained with advice that works in an installed package.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let dir: string;

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs a script of the test folder with this test's Node.js; its last stdout line is JSON. */
function runScript(file: string, env: NodeJS.ProcessEnv = {}): { answers: Record<string, unknown>; stderr: string } {
  const r = sh(process.execPath, [file], dir, env);
  const out = ok(r, file).trim().split('\n');
  return { answers: JSON.parse(out[out.length - 1]!) as Record<string, unknown>, stderr: r.stderr };
}

// The same checks from every kind of program; `lib` is the package's module object.
const CHECKS = `
  const { BloomFilter, DedupWindow, BloomSnapshotError, VERDICT_MASK, VERDICT_NEW, VERDICT_DUPLICATE, RECORD_INSERTED } = lib;
  const f = new BloomFilter(1000, 0.01);
  const first = f.add('event-42');
  const again = f.add('event-42');
  const copy = BloomFilter.fromBuffer(f.toBuffer());
  const shared = BloomFilter.createShared(1000, 0.01);
  shared.add('s');
  const attached = BloomFilter.fromShared(shared.sharedMemory, 1000, 0.01);
  let rejected = null;
  try { BloomFilter.fromBuffer(Buffer.from('not a filter')); } catch (err) {
    rejected = { isClass: err instanceof BloomSnapshotError, code: err.code, reason: err.reason };
  }
  const w = new DedupWindow(1000, 0.01);
  const seen1 = w.observe('event-42');
  const seen2 = w.observe('event-42');
  const answers = {
    kind: f.kind,
    bitCount: f.bitCount,
    hashCount: f.hashCount,
    first, again,
    has: f.has('event-42'), hasOther: f.has('event-43'), hasBytes: f.has(Buffer.from('event-42')),
    many: f.hasMany(['event-42', 'x']),
    copyHas: copy.has('event-42'),
    sharedHas: attached.has('s'),
    rejected,
    window: [seen1 & VERDICT_MASK, seen2 & VERDICT_MASK, (seen1 & RECORD_INSERTED) !== 0],
    verdicts: [VERDICT_NEW, VERDICT_DUPLICATE],
  };
`;

const NATIVE_ANSWERS = {
  kind: 'native',
  bitCount: 9600,
  hashCount: 7,
  first: true,
  again: false,
  has: true,
  hasOther: false,
  hasBytes: true,
  many: [true, false],
  copyHas: true,
  sharedHas: true,
  rejected: { isClass: true, code: 'ERR_BLOOM_SNAPSHOT', reason: 'truncated' },
  window: [0, 1, true],
  verdicts: [0, 1],
};

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cxone-bloom-pack-'));
  // What `npm test` built (no prepack: rebuilding here would rewrite the addon other test files have loaded).
  const packed = JSON.parse(ok(sh('npm', ['pack', path.join(root, 'native'), '--ignore-scripts', '--json', '--pack-destination', dir], dir), 'npm pack')) as Array<{ filename: string }>;
  const tarball = path.join(dir, packed[0]!.filename);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'embedder', version: '1.0.0', private: true }));
  ok(sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir), 'npm install of the tarball');
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('@cxone-dedup/bloom installed from npm pack into an empty folder', () => {
  it('brings only itself and xxhash-wasm (no uWebSockets.js)', () => {
    const top = readdirSync(path.join(dir, 'node_modules')).filter((n) => !n.startsWith('.'));
    const installed = top.flatMap((n) => (n.startsWith('@') ? readdirSync(path.join(dir, 'node_modules', n)).map((m) => `${n}/${m}`) : [n]));
    assert.deepEqual(installed.sort(), ['@cxone-dedup/bloom', 'xxhash-wasm']);
    const files = readdirSync(path.join(dir, 'node_modules', '@cxone-dedup', 'bloom'));
    assert.ok(files.some((f) => f.endsWith('.node')), `no addon in the package: ${files.join(', ')}`);
  });

  it('answers from ES modules, with the classes chosen at import (native)', () => {
    writeFileSync(
      path.join(dir, 'esm.mjs'),
      `import * as lib from '@cxone-dedup/bloom';
       import { createRequire } from 'node:module';
       ${CHECKS}
       const cjs = createRequire(import.meta.url)('@cxone-dedup/bloom');
       answers.implementation = lib.implementation;
       answers.oneCopy = cjs.BloomSnapshotError === lib.BloomSnapshotError && cjs.BloomFilter === lib.BloomFilter;
       answers.hmac = lib.hmacSha256Hex(Buffer.from('key'), Buffer.from('body'), '1767225600.');
       console.log(JSON.stringify(answers));`,
    );
    const { answers, stderr } = runScript('esm.mjs');
    const hmac = createHmac('sha256', 'key').update('1767225600.body').digest('hex');
    assert.deepEqual(answers, { ...NATIVE_ANSWERS, implementation: 'native', oneCopy: true, hmac });
    assert.equal(stderr, '');
  });

  it('answers from CommonJS', () => {
    writeFileSync(path.join(dir, 'cjs.cjs'), `const lib = require('@cxone-dedup/bloom');\n${CHECKS}\nconsole.log(JSON.stringify(answers));`);
    assert.deepEqual(runScript('cjs.cjs').answers, NATIVE_ANSWERS);
  });

  it('type-checks TypeScript against its types (ESM and CommonJS), which then runs', () => {
    writeFileSync(
      path.join(dir, 'main.mts'),
      `import { BloomFilter, DedupWindow, BloomSnapshotError, VERDICT_MASK, type BloomParams } from '@cxone-dedup/bloom';
       const f: BloomFilter = new BloomFilter(1_000_000, 0.001);
       const params: BloomParams = BloomFilter.params(1_000_000, 0.001);
       const shared: BloomFilter = BloomFilter.createShared(1000, 0.01);
       const memory: SharedArrayBuffer | null = shared.sharedMemory;
       const again: BloomFilter = BloomFilter.fromShared(memory!, 1000, 0.01);
       // @ts-expect-error capacity is a number
       void (() => new BloomFilter('1000', 0.01));
       const added: boolean = f.add('k');
       const w = new DedupWindow(1000, 0.01);
       const verdict: number = w.observe('k') & VERDICT_MASK;
       let code = '';
       try { BloomFilter.fromBuffer(new Uint8Array(3)); } catch (err) { if (err instanceof BloomSnapshotError) code = err.code + ':' + err.reason; }
       console.log(JSON.stringify([added, f.has('k'), params.hashCount, again.has('x'), verdict, code]));`,
    );
    writeFileSync(
      path.join(dir, 'main.cts'),
      `import { BloomFilter, loadBloomFactory, type BloomFactory } from '@cxone-dedup/bloom';
       const f = new BloomFilter(1000, 0.01);
       void loadBloomFactory({ prefer: 'fallback' }).then((factory: BloomFactory) => {
         const g = new factory.BloomFilter(1000, 0.01);
         g.add('k');
         f.add('k');
         console.log(JSON.stringify([factory.kind, g.toBuffer().equals(f.toBuffer())]));
       });`,
    );
    const typeRoots = path.join(root, 'node_modules', '@types');
    const common = ['--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', typeRoots, '--outDir', 'out'];
    ok(sh(process.execPath, [tsc, ...common, 'main.mts', 'main.cts'], dir), 'tsc');
    assert.deepEqual(runScript(path.join('out', 'main.mjs')).answers, [true, true, 10, false, 0, 'ERR_BLOOM_SNAPSHOT:truncated']);
    assert.deepEqual(runScript(path.join('out', 'main.cjs')).answers, ['fallback', true]);
  });

  it('without its addon: ESM falls back with one warning whose advice works here; CommonJS says why and gives the fallback on request', () => {
    const addon = readdirSync(path.join(dir, 'node_modules', '@cxone-dedup', 'bloom')).find((f) => f.endsWith('.node'))!;
    const installed = path.join(dir, 'node_modules', '@cxone-dedup', 'bloom', addon);
    const aside = path.join(dir, addon);
    writeFileSync(path.join(dir, 'esm-fallback.mjs'), `import * as lib from '@cxone-dedup/bloom';\n${CHECKS}\nanswers.implementation = lib.implementation;\nconsole.log(JSON.stringify(answers));`);
    writeFileSync(
      path.join(dir, 'cjs-fallback.cjs'),
      `const base = require('@cxone-dedup/bloom');
       let refused = '';
       try { new base.BloomFilter(1000, 0.01); } catch (err) { refused = err.message; }
       base.loadBloomFactory({ logger: { warn() {} } }).then((factory) => {
         const lib = { ...base, BloomFilter: factory.BloomFilter, DedupWindow: factory.DedupWindow };
         ${CHECKS}
         answers.refused = refused;
         answers.params = base.BloomFilter.params(1000, 0.01).bitCount;
         console.log(JSON.stringify(answers));
       });`,
    );
    renameSync(installed, aside);
    try {
      const esm = runScript('esm-fallback.mjs');
      assert.deepEqual(esm.answers, { ...NATIVE_ANSWERS, kind: 'fallback', implementation: 'fallback' });
      const warnings = esm.stderr.split('\n').filter((l) => l.includes('Warning'));
      assert.equal(warnings.length, 1, esm.stderr);
      assert.match(warnings[0]!, /\[CXONE_BLOOM_FALLBACK\] Warning: native Bloom filter addon could not load \(no native addon for \S+ at /);
      assert.match(esm.stderr, /`npm install` \(needs Rust from https:\/\/rustup.rs\) writes native\/cxone-dedup\.\S+\.node; set CXONE_DEDUP_NATIVE_PATH to that file/);
      assert.match(esm.stderr, /using the xxhash-wasm fallback filter/);
      assert.doesNotMatch(esm.stderr, /npm run build:native/);

      const { answers } = runScript('cjs-fallback.cjs');
      const { refused, params, ...rest } = answers;
      assert.deepEqual(rest, { ...NATIVE_ANSWERS, kind: 'fallback' });
      assert.match(String(refused), /^BloomFilter: the native addon did not load \(no native addon for /);
      assert.match(String(refused), /\(await loadBloomFactory\(\)\)\.BloomFilter/);
      assert.equal(params, 9600);
    } finally {
      renameSync(aside, installed);
    }
  });
});
