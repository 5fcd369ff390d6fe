/**
 * Writes test/vectors/webhook.json, the differential vectors of native/webhook (cxone-webhook),
 * from the TypeScript reference (see webhook-corpus.ts).
 *
 *   node --import tsx test/vectors/generate-webhook.ts
 *       the committed file (COMMITTED_OPTIONS); regenerate whenever parseEvent, the timestamp
 *       rules or the key format change on purpose, and commit it with that change
 *   node --import tsx test/vectors/generate-webhook.ts --events 200000 --timestamps 50000 --seed 7 --out .tmp/webhook-large.json
 *       a larger corpus, not committed; check it with
 *       WEBHOOK_VECTORS=$PWD/.tmp/webhook-large.json cargo test --release --manifest-path native/Cargo.toml -p cxone-webhook
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildWebhookVectors, COMMITTED_OPTIONS, formatWebhookVectors } from './webhook-corpus.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    timestamps: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
  },
});
const num = (v: string | undefined, fallback: number) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a count: ${v}`);
  return n;
};
const options = {
  seed: num(values.seed, COMMITTED_OPTIONS.seed),
  randomEvents: num(values.events, COMMITTED_OPTIONS.randomEvents),
  randomTimestamps: num(values.timestamps, COMMITTED_OPTIONS.randomTimestamps),
};
const out = values.out ?? path.join(here, 'webhook.json');
const vectors = await buildWebhookVectors(options);
const text = formatWebhookVectors(vectors);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, text);
const ok = vectors.events.filter((e) => e.ok).length;
console.log(
  `wrote ${path.relative(process.cwd(), out)}: ${vectors.events.length} events (${ok} valid), ` +
    `${vectors.timestamps.length} timestamps, ${vectors.keys.length}×${vectors.keyFieldLists.length} keys, ${(text.length / 1024).toFixed(0)} KiB`,
);
