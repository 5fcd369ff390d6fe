/**
 * Signed webhook bodies for the load generators: Data Action events whose interactionIds are a
 * mix of new ones and repeats of recent ones, each with its X-NICE-Signature (hex HMAC-SHA256 of
 * the exact body), precomputed so signing costs the generator nothing while it runs.
 */
import { signBody } from '../../src/cxone/signing.js';
import { mulberry32 } from '../../test/helpers/prng.js';

export interface PoolOptions {
  count: number;
  /** Share of bodies that carry an interactionId not used before in the pool (0..1). */
  newRatio: number;
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

const prng = mulberry32;

/** Produces signed bodies one at a time, in the pool's new/repeat mix (for runs too long to precompute). */
export class BodySource {
  readonly #random: () => number;
  readonly #recent: string[] = [];
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
    let id: string;
    if (recent.length === 0 || this.o.newRatio >= 1 || this.#random() < this.o.newRatio) {
      id = `${this.o.tag}-${this.newIds++}`;
      if (recent.length < this.#window) recent.push(id);
      else recent[this.newIds % this.#window] = id;
    } else {
      id = recent[Math.floor(this.#random() * recent.length)]!;
    }
    const body = eventBody(id, this.#seq++);
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

/** A complete HTTP/1.1 request for a signed body (keep-alive). */
export function rawRequest(path: string, host: string, body: string, signature: string): Buffer {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
    `X-NICE-Signature: ${signature}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.from(head + body);
}
