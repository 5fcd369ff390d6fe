/** For the Bloom tests (test/bloom/): the vectors of this folder, and the native factory (required, failing clearly). */
import { readFileSync } from 'node:fs';
import type { BloomFactory } from '@cxone-dedup/bloom/factory';

/** The native addon's factory; a test that needs it fails (never skips) when it cannot load. */
export async function requireNativeFactory(): Promise<BloomFactory> {
  try {
    const native = await import('@cxone-dedup/bloom/factory');
    return native.loadNativeFactory();
  } catch (err) {
    throw new Error(
      `the native Bloom addon is required by this test but could not load (${(err as Error)?.message ?? String(err)}); ` +
        'build it with `npm run build:native` (needs cargo)',
      { cause: err },
    );
  }
}

export interface SizingVectors {
  valid: Array<{ capacity: number; errorRate: number; bitCount: number; hashCount: number }>;
  rejected: Array<{ capacity: number; errorRate: number; why: string }>;
}

export interface HashingVectors {
  hashId: number;
  shapes: Array<{ bitCount: number; hashCount: number }>;
  keys: Array<{
    name: string;
    type: 'string' | 'bytes';
    string?: string;
    hex: string;
    xxh64: string;
    shapes: Array<{ h1: number; h2: number; positions: number[] }>;
  }>;
}

export interface SnapshotVector {
  formatVersion: number;
  hashId: number;
  capacity: number;
  errorRate: number;
  keyPrefix: string;
  keyCount: number;
  bitCount: number;
  hashCount: number;
  setBitCount: number;
  byteLength: number;
  checksum: string;
  xxh64OfSnapshot: string;
  hex: string;
}

export type WindowOp = ['observe' | 'check' | 'record', string, number] | ['rotate'];

export interface WindowGenerationVector {
  insertions: number;
  exact: boolean;
  bloomXxh64: string;
  table: string;
}

export interface WindowVectors {
  formatVersion: number;
  hashId: number;
  zeroFingerprint: string;
  homeSlots: Array<{ fingerprint: string; slots: number; home: number }>;
  table: { capacity: number; errorRate: number; keyPrefix: string; keyCount: number; slots: number; count: number; hex: string };
  sequence: {
    capacity: number;
    errorRate: number;
    ops: WindowOp[];
    counters: { falsePositives: number; unconfirmed: number; overflows: number };
    active: WindowGenerationVector;
    previous: WindowGenerationVector;
  };
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8')) as T;
}

export const sizingVectors = (): SizingVectors => load('sizing.json');
export const hashingVectors = (): HashingVectors => load('hashing.json');
export const snapshotVector = (): SnapshotVector => load('snapshot.json');
export const windowVectors = (): WindowVectors => load('window.json');

/** The indices of the set bits of a snapshot's bit area (bit b = bit b & 7 of byte b >> 3). */
export function setBitsOf(snapshot: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 48; i < snapshot.length; i++) {
    const byte = snapshot[i]!;
    if (byte === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) out.push((i - 48) * 8 + bit);
  }
  return out;
}
