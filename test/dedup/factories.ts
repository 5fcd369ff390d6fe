// The real Bloom factories the dedup tests run against: the native addon and the fallback.
// A native addon that does not load is a test failure (with the loader's reason), never a skip.
import assert from 'node:assert/strict';
import { loadBloomFactory } from '../../src/bloom/index.js';
import type { BloomFactory, BloomKind } from '@cxone-dedup/bloom/factory';
import { createLogger } from '../../src/log.js';

export const FACTORY_KINDS: readonly BloomKind[] = ['native', 'fallback'];

export async function loadFactory(kind: BloomKind): Promise<BloomFactory> {
  const warnings: string[] = [];
  const logger = createLogger({ level: 'warn', write: (line) => warnings.push(line.trim()) });
  const factory = await loadBloomFactory({ prefer: kind, logger });
  assert.equal(
    factory.kind,
    kind,
    `loadBloomFactory({ prefer: '${kind}' }) gave a ${factory.kind} factory; build the addon with ` +
      `\`npm run build:native\`. Loader said: ${warnings.join(' ') || '(nothing)'}`,
  );
  return factory;
}
