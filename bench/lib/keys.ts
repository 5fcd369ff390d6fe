/** Pre-generated benchmark keys: 36-character UUID strings, as CXone interaction ids look. */
import { randomFillSync } from 'node:crypto';

const HEX = '0123456789abcdef';

/**
 * `count` random version-4 UUIDs as flat one-byte strings, like the ones JSON.parse makes from a
 * request body. (crypto.randomUUID() returns ropes of small pieces — ~490 heap bytes each and a
 * flattening on first use — which would distort both timing and memory figures.)
 */
export function uuidKeys(count: number): string[] {
  const out = new Array<string>(count);
  const chunk = 4096;
  const random = Buffer.alloc(16 * chunk);
  const text = Buffer.alloc(36 * chunk);
  for (let base = 0; base < count; base += chunk) {
    const n = Math.min(chunk, count - base);
    randomFillSync(random, 0, 16 * n);
    for (let j = 0; j < n; j++) {
      const r = j * 16;
      random[r + 6] = (random[r + 6]! & 0x0f) | 0x40;
      random[r + 8] = (random[r + 8]! & 0x3f) | 0x80;
      let t = j * 36;
      for (let b = 0; b < 16; b++) {
        if (b === 4 || b === 6 || b === 8 || b === 10) text[t++] = 0x2d;
        const v = random[r + b]!;
        text[t++] = HEX.charCodeAt(v >> 4);
        text[t++] = HEX.charCodeAt(v & 15);
      }
    }
    for (let j = 0; j < n; j++) out[base + j] = text.toString('latin1', j * 36, j * 36 + 36);
  }
  return out;
}

/** `keys` cut into arrays of `size` (the last may be shorter), for batched calls. */
export function batches<T>(keys: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < keys.length; i += size) out.push(keys.slice(i, i + size));
  return out;
}

/** Heap bytes in use after a full GC; NaN without --expose-gc. */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return Number.NaN;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
