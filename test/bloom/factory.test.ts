/** loadBloomFactory: the native filter when it loads, else the fallback and exactly one warning. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../../src/log.js';
import { createBloomFilter, loadBloomFactory, type LoadBloomFactoryOptions } from '../../src/bloom/index.js';
import type { BloomFactory } from '@cxone-dedup/bloom/factory';

const root = fileURLToPath(new URL('../../', import.meta.url));

function capture(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => raw.push(line) });
  return { logger, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const failingLoader = () => {
  throw new Error('cannot open shared object file: cxone-dedup.linux-x64-gnu.node');
};

describe('loadBloomFactory', () => {
  it('picks the native filter when the addon loads, silently', async () => {
    const { logger, lines } = capture();
    let factory: BloomFactory;
    try {
      factory = await loadBloomFactory({ logger, strict: true });
    } catch (err) {
      throw new Error(`the native Bloom addon is required by this test; build it with \`npm run build:native\` (${(err as Error).message})`);
    }
    assert.equal(factory.kind, 'native');
    const filter = factory.create(1000, 0.01);
    assert.equal(filter.kind, 'native');
    assert.equal(filter.add('x'), true);
    assert.equal(filter.has('x'), true);
    assert.deepEqual(lines(), []);
    assert.equal((await loadBloomFactory({ logger })).kind, 'native');
    assert.deepEqual(lines(), []);
  });

  it("gives the fallback for prefer: 'fallback' without calling the native loader or logging", async () => {
    const { logger, lines } = capture();
    let called = 0;
    const factory = await loadBloomFactory({ prefer: 'fallback', logger, loadNative: () => (called++, failingLoader()) });
    assert.equal(factory.kind, 'fallback');
    assert.equal(factory.create(1000, 0.01).kind, 'fallback');
    assert.equal(called, 0);
    assert.deepEqual(lines(), []);
  });

  it('falls back when the native addon cannot load, with exactly one warn line saying why', async () => {
    const { logger, lines } = capture();
    const factory = await loadBloomFactory({ logger, loadNative: failingLoader });
    assert.equal(factory.kind, 'fallback');
    const filter = factory.create(1000, 0.01);
    assert.equal(filter.add('x'), true);
    assert.equal(filter.has('x'), true);
    const logged = lines();
    assert.equal(logged.length, 1, JSON.stringify(logged));
    const [line] = logged;
    assert.equal(line!.level, 'warn');
    assert.match(String(line!.msg), /native Bloom filter addon could not load/);
    assert.match(String(line!.msg), /cannot open shared object file/);
    assert.match(String(line!.msg), /xxhash-wasm fallback/);
    assert.equal(line!.reason, 'cannot open shared object file: cxone-dedup.linux-x64-gnu.node');
  });

  it('falls back (one line) when the loader rejects or returns something that is not a factory', async () => {
    for (const loadNative of [
      () => Promise.reject(new Error('async failure')),
      () => ({ kind: 'native' }) as unknown as BloomFactory,
      () => undefined as unknown as BloomFactory,
    ]) {
      const { logger, lines } = capture();
      const factory = await loadBloomFactory({ logger, loadNative });
      assert.equal(factory.kind, 'fallback');
      assert.equal(lines().length, 1);
      assert.equal(lines()[0]!.level, 'warn');
    }
  });

  it('with strict: true, a native addon that cannot load is an error, not a fallback', async () => {
    const { logger, lines } = capture();
    await assert.rejects(loadBloomFactory({ logger, strict: true, loadNative: failingLoader }), (err: Error) => {
      assert.match(err.message, /native Bloom filter addon could not load: cannot open shared object file/);
      return true;
    });
    assert.deepEqual(lines(), []);
    const factory = await loadBloomFactory({ prefer: 'fallback', strict: true, loadNative: failingLoader });
    assert.equal(factory.kind, 'fallback');
  });

  it('rejects bad options', async () => {
    const bad: Array<[unknown, typeof TypeError | typeof RangeError, RegExp]> = [
      ['native', TypeError, /options must be an object/],
      [{ prefer: 'wasm' }, RangeError, /options\.prefer/],
      [{ prefer: 1 }, TypeError, /options\.prefer/],
      [{ strict: 'yes' }, TypeError, /options\.strict/],
      [{ loadNative: 'native.node' }, TypeError, /options\.loadNative/],
      [{ logger: console.log }, TypeError, /options\.logger/],
    ];
    for (const [options, type, message] of bad) {
      await assert.rejects(loadBloomFactory(options as LoadBloomFactoryOptions), (err: Error) => {
        assert.ok(err instanceof type, `${JSON.stringify(options)}: ${String(err)}`);
        assert.match(err.message, message);
        return true;
      });
    }
  });

  it('logs by default one JSON line on stderr', async () => {
    // A child process, so that the default logger writes to a real stderr we can read.
    const script = `
      import { loadBloomFactory } from ${JSON.stringify(new URL('../../src/bloom/index.ts', import.meta.url).href)};
      const f = await loadBloomFactory({ loadNative: () => { throw new Error('simulated: addon missing'); } });
      process.stdout.write(f.kind);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve)).finally(() => clearTimeout(timer));
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'fallback');
    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, stderr);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.level, 'warn');
    assert.match(String(line.msg), /could not load \(simulated: addon missing\); using the xxhash-wasm fallback/);
  });
});

describe('createBloomFilter', () => {
  it('creates one filter from the best factory', async () => {
    const { logger } = capture();
    const filter = await createBloomFilter(1000, 0.01, { logger, prefer: 'fallback' });
    assert.equal(filter.kind, 'fallback');
    assert.equal(filter.bitCount, 9600);
    const viaFailing = await createBloomFilter(1000, 0.01, { logger, loadNative: failingLoader });
    assert.equal(viaFailing.kind, 'fallback');
  });

  it('validates capacity and errorRate before loading anything', async () => {
    let called = 0;
    const { logger, lines } = capture();
    const loadNative = () => (called++, failingLoader());
    await assert.rejects(createBloomFilter('1000' as never, 0.01, { logger, loadNative }), TypeError);
    await assert.rejects(createBloomFilter(1000, 2, { logger, loadNative }), RangeError);
    assert.equal(called, 0);
    assert.deepEqual(lines(), []);
  });
});

describe('the cxone-dedup/bloom package entry', () => {
  it('resolves to the built module and exports the public API', async () => {
    assert.ok(
      existsSync(new URL('../../dist/bloom/index.js', import.meta.url)),
      'dist/bloom/index.js is missing: run `npm run build:ts` (npm test builds first)',
    );
    // Through the package's own name (package.json "exports"), as other programs import it; a
    // variable specifier keeps the type-check independent of dist/.
    const specifier = 'cxone-dedup/bloom';
    const mod = (await import(specifier)) as Record<string, unknown>;
    for (const name of ['loadBloomFactory', 'createBloomFilter', 'loadFallbackFactory', 'FallbackBloomFilter', 'computeBloomParams', 'BloomSnapshotError']) {
      assert.equal(typeof mod[name], 'function', name);
    }
    const factory = await (mod.loadBloomFactory as typeof loadBloomFactory)({ prefer: 'fallback' });
    assert.equal(factory.create(1000, 0.01).bitCount, 9600);
  });
});
