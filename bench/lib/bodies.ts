/**
 * Signed webhook bodies for the load generators: Data Action events whose interactionIds are a
 * mix of new ones and repeats of recent ones, each with its X-NICE-Signature (hex HMAC-SHA256 of
 * the exact body), precomputed so signing costs the generator nothing while it runs.
 *
 * Two mixes (issue 12), named as `bench:e2e --mix` takes them:
 * - `50/50`: half new interactionIds, half later events of recent ones (new bytes: a new
 *   sequence number and timestamp): the project's original mix. Described as "~230-byte events"
 *   before; the body alone measures ~180 bytes.
 * - `70/30`: 70 % new interactionIds, 30 % byte-for-byte redeliveries of recent events (the same
 *   bytes and signature again, as CXone's retries are), ~300-byte events whose payload has five
 *   string fields and whose interactionId is UUID-shaped (36 characters).
 */
import { signBody } from '../../src/cxone/signing.js';
import { mulberry32 } from '../../test/helpers/prng.js';

/** What a repeat is: a later event of a recent interaction (new bytes), or a recent event again, byte for byte. */
export type RepeatKind = 'update' | 'redelivery';
/** `small`: ~230 bytes, payload of four fields; `five-strings`: ~300 bytes, payload of five string fields, UUID-shaped ids. */
export type BodyShape = 'small' | 'five-strings';

export type MixName = '50/50' | '70/30';

export interface Mix {
  name: MixName;
  /** Share of requests with a new interactionId. */
  newRatio: number;
  repeats: RepeatKind;
  shape: BodyShape;
  /** One line for tables and --help. */
  about: string;
}

export const MIXES: Readonly<Record<MixName, Mix>> = {
  '50/50': {
    name: '50/50',
    newRatio: 0.5,
    repeats: 'update',
    shape: 'small',
    about: '50 % new interactionIds, 50 % later events of recent ones (new bytes), ~180-byte bodies',
  },
  '70/30': {
    name: '70/30',
    newRatio: 0.7,
    repeats: 'redelivery',
    shape: 'five-strings',
    about: '70 % new interactionIds, 30 % byte-for-byte redeliveries, ~290-byte bodies with five string fields in the payload',
  },
};

export interface PoolOptions {
  count: number;
  /** Share of bodies that carry an interactionId not used before in the pool (0..1). */
  newRatio: number;
  /** Default `update` (the 50/50 mix's kind). */
  repeats?: RepeatKind;
  /** Default `small`. */
  shape?: BodyShape;
  secret: string;
  /** Distinguishes runs so that ids never collide across runs against one daemon. */
  tag: string;
  /** Repeats pick one of the last `window` new ids. */
  window?: number;
  seed?: number;
}

export interface SignedPool {
  bodies: string[];
  signatures: string[];
  newIds: number;
  repeats: number;
}

const BASE_MS = Date.UTC(2026, 0, 1);

/** A realistic event body of about 230 bytes. */
export function eventBody(interactionId: string, seq: number): string {
  return JSON.stringify({
    interactionId,
    dataActionId: `da-${seq % 7}`,
    updatedTimestamp: new Date(BASE_MS + seq).toISOString(),
    payload: { agentId: `agent-${seq % 500}`, skill: 'sales', state: seq % 3 === 0 ? 'Active' : 'Hold', seq },
  });
}

/**
 * The 70/30 mix's event: ~300 bytes, like bench/native-parse's EVENT_300 (issue 12's shape): a
 * UUID-shaped interactionId, and five string fields in the payload.
 */
export function eventBody300(interactionId: string, seq: number): string {
  return JSON.stringify({
    interactionId,
    dataActionId: `da-${String(seq % 97).padStart(7, '0')}`,
    updatedTimestamp: new Date(BASE_MS + seq).toISOString(),
    payload: {
      agentId: `agent-${String(seq % 1000).padStart(5, '0')}`,
      skill: seq % 2 === 0 ? 'billing-support' : 'technical-support',
      state: seq % 3 === 0 ? 'Active' : 'Hold',
      queue: `emea-tier-${(seq % 3) + 1}`,
      note: 'customer asked for a callback after 17:00 local time',
    },
  });
}

/** A 36-character UUID-shaped id unique per (tag, n): the tag's first 12 hex digits, then n. */
function uuidShaped(tag: string, n: number): string {
  const t = tag.replace(/[^0-9a-f]/gi, '').padEnd(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

const prng = mulberry32;

/** Produces signed bodies one at a time, in the pool's new/repeat mix (for runs too long to precompute). */
export class BodySource {
  readonly #random: () => number;
  readonly #recent: string[] = [];
  /** Redelivery mixes: the bodies and signatures of the recent new events, by the index of #recent. */
  readonly #recentBodies: Array<{ body: string; signature: string }> = [];
  readonly #window: number;
  #seq = 0;
  newIds = 0;

  constructor(private readonly o: PoolOptions & { firstSeq?: number }) {
    this.#random = prng(o.seed ?? 42);
    this.#window = o.window ?? 1024;
    this.#seq = o.firstSeq ?? 0;
    this.newIds = this.#seq;
  }

  next(): { body: string; signature: string } {
    const recent = this.#recent;
    const shape = this.o.shape ?? 'small';
    if (recent.length === 0 || this.o.newRatio >= 1 || this.#random() < this.o.newRatio) {
      const n = this.newIds++;
      const id = shape === 'small' ? `${this.o.tag}-${n}` : uuidShaped(this.o.tag, n);
      const slot = recent.length < this.#window ? recent.length : this.newIds % this.#window;
      recent[slot] = id;
      const made = this.#make(id);
      if (this.o.repeats === 'redelivery') this.#recentBodies[slot] = made;
      return made;
    }
    const pick = Math.floor(this.#random() * recent.length);
    // A redelivery is the same bytes (and so the same signature) again.
    if (this.o.repeats === 'redelivery') return this.#recentBodies[pick]!;
    return this.#make(recent[pick]!);
  }

  #make(id: string): { body: string; signature: string } {
    const body = (this.o.shape ?? 'small') === 'small' ? eventBody(id, this.#seq++) : eventBody300(id, this.#seq++);
    return { body, signature: signBody(this.o.secret, body) };
  }
}

export function signedPool(o: PoolOptions): SignedPool {
  const source = new BodySource(o);
  const bodies = new Array<string>(o.count);
  const signatures = new Array<string>(o.count);
  for (let i = 0; i < o.count; i++) {
    const { body, signature } = source.next();
    bodies[i] = body;
    signatures[i] = signature;
  }
  return { bodies, signatures, newIds: source.newIds, repeats: o.count - source.newIds };
}

/** Mean UTF-8 size of the bodies (a sample of up to 10,000). */
export function meanBytes(bodies: readonly string[]): number {
  const n = Math.min(bodies.length, 10_000);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Buffer.byteLength(bodies[i]!);
  return n === 0 ? Number.NaN : sum / n;
}

/** A complete HTTP/1.1 request for a signed body (keep-alive). */
export function rawRequest(path: string, host: string, body: string, signature: string): Buffer {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
    `X-NICE-Signature: ${signature}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.from(head + body);
}
