/**
 * Differential vectors for the Rust crate `native/webhook` (cxone-webhook), computed by the
 * TypeScript reference: `parseEvent` (src/http/event.ts), `parseTimestamp` / `timestampFault` /
 * `timestampKey` (src/dedup/timestamp.ts) and `keyBuilder` (src/dedup/key.ts), with the key
 * hashes of the fallback filter's XXH64. Deterministic for a seed: the same options give the
 * same vectors, byte for byte (test/http/event-vectors.test.ts regenerates and compares).
 *
 * The corpus: hand-picked edge cases, then seeded random events (random field values, JSON
 * spelling with random whitespace and escapes, duplicates, unknown fields), byte-level
 * mutations of them, depth-focused bodies and random bytes.
 */
import { isUtf8 } from 'node:buffer';
import { loadFallbackFactory } from '@cxone-dedup/bloom/factory';
import { parseEvent } from '../../src/http/event.js';
import { keyBuilder, type KeyField } from '../../src/dedup/key.js';
import { parseTimestamp, timestampFault, timestampKey, type ParsedTimestamp } from '../../src/dedup/timestamp.js';
import { mulberry32 } from '../helpers/prng.js';

export interface WebhookVectorOptions {
  seed: number;
  randomEvents: number;
  randomTimestamps: number;
}

/** What the committed test/vectors/webhook.json is generated with. */
export const COMMITTED_OPTIONS: WebhookVectorOptions = { seed: 0x5eed_c0de, randomEvents: 2400, randomTimestamps: 1500 };

export interface InstantVector {
  epochSeconds: number;
  leap: boolean;
  nanos: number;
  epochMs: number;
}

export type EventVector = {
  name: string;
  /** The body as text when it is valid UTF-8, else as hex. */
  text?: string;
  hex?: string;
} & (
  | {
      ok: true;
      interactionId: string;
      dataActionId: string;
      updatedTimestamp: string;
      timestamp: InstantVector;
      /** Byte range [start, end) of the last top-level `payload` value, or null when absent. */
      payload: [number, number] | null;
      /** Byte range of the top-level object. */
      object: [number, number];
      canonical: boolean;
      unknownFields: number;
      repeatedFields: boolean;
      /** [index into keyFieldLists, key, XXH64 of its UTF-8 bytes (hex)] for a few lists. */
      keys: Array<[number, string, string]>;
    }
  | { ok: false; reason: string; message: string; field?: string }
);

export type TimestampVector = { input: string } & (
  | ({ ok: true; key: string } & InstantVector)
  | { ok: false; fault: string }
);

export interface KeyVector {
  interactionId: string;
  dataActionId: string;
  updatedTimestamp: string;
  /** One key per keyFieldLists entry: [key, XXH64 hex]. */
  keys: Array<[string, string]>;
}

export interface WebhookVectors {
  description: string;
  options: WebhookVectorOptions;
  keyFieldLists: KeyField[][];
  events: EventVector[];
  timestamps: TimestampVector[];
  keys: KeyVector[];
}

/** Every non-empty ordered list of distinct key fields (15). */
export const KEY_FIELD_LISTS: KeyField[][] = (() => {
  const all: KeyField[] = ['interactionId', 'dataActionId', 'updatedTimestamp'];
  const out: KeyField[][] = [];
  const grow = (prefix: KeyField[]) => {
    for (const f of all) {
      if (prefix.includes(f)) continue;
      const next = [...prefix, f];
      out.push(next);
      grow(next);
    }
  };
  grow([]);
  return out;
})();

// ── the top-level layout, found independently of parseEvent ────────────────────────────────
// Byte ranges are not part of the TypeScript result; this small tokenizer (for bodies that
// JSON.parse accepted) finds them, and the node test checks it against JSON.parse.

export interface Layout {
  object: [number, number];
  payload: [number, number] | null;
  counts: Record<string, number>;
  unknownFields: number;
}

const CONTRACT = ['interactionId', 'dataActionId', 'updatedTimestamp', 'payload'];

/** The layout of a body whose JSON is a valid top-level object. */
export function topLevelLayout(body: Uint8Array): Layout {
  let i = 0;
  const ws = () => {
    while (i < body.length && (body[i] === 0x20 || body[i] === 0x09 || body[i] === 0x0a || body[i] === 0x0d)) i++;
  };
  const skipString = () => {
    i++;
    while (body[i] !== 0x22) i += body[i] === 0x5c ? 2 : 1;
    i++;
  };
  const skipValue = () => {
    const c = body[i];
    if (c === 0x22) return skipString();
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      do {
        const d = body[i];
        if (d === 0x22) {
          skipString();
          continue;
        }
        if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) depth--;
        i++;
      } while (depth > 0);
      return;
    }
    while (i < body.length && ![0x2c, 0x7d, 0x5d, 0x20, 0x09, 0x0a, 0x0d].includes(body[i]!)) i++;
  };
  ws();
  const start = i;
  if (body[i] !== 0x7b) throw new Error('not an object');
  i++;
  const counts: Record<string, number> = Object.fromEntries(CONTRACT.map((f) => [f, 0]));
  let unknownFields = 0;
  let payload: [number, number] | null = null;
  ws();
  while (body[i] !== 0x7d) {
    const keyStart = i;
    skipString();
    const key = JSON.parse(Buffer.from(body.subarray(keyStart, i)).toString('utf8')) as string;
    ws();
    i++; // ':'
    ws();
    const valueStart = i;
    skipValue();
    if (CONTRACT.includes(key)) counts[key]!++;
    else unknownFields++;
    if (key === 'payload') payload = [valueStart, i];
    ws();
    if (body[i] === 0x2c) {
      i++;
      ws();
    }
  }
  return { object: [start, i + 1], payload, counts, unknownFields };
}

// ── JSON spelling with random whitespace and escapes ───────────────────────────────────────

type J =
  | { t: 'raw'; text: string } // a number or literal, written as is
  | { t: 'str'; s: string }
  | { t: 'arr'; items: J[] }
  | { t: 'obj'; members: Array<[string, J]> };

const raw = (text: string): J => ({ t: 'raw', text });
const str = (s: string): J => ({ t: 'str', s });
const obj = (members: Array<[string, J]>): J => ({ t: 'obj', members });
const arr = (items: J[]): J => ({ t: 'arr', items });

type Rand = () => number;

class Writer {
  constructor(
    private readonly rand: Rand,
    /** Probability of whitespace at each token boundary, and of escaping a plain character. */
    private readonly wsRate: number,
    private readonly escRate: number,
  ) {}

  private ws(): string {
    if (this.rand() >= this.wsRate) return '';
    const pool = [' ', '\n', '\t', '\r', '  ', '\r\n'];
    return pool[Math.floor(this.rand() * pool.length)]!;
  }

  private u(unit: number): string {
    const hex = unit.toString(16).padStart(4, '0');
    return `\\u${this.rand() < 0.5 ? hex : hex.toUpperCase()}`;
  }

  string(s: string): string {
    let out = '"';
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      const next = s.charCodeAt(k + 1);
      if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += this.rand() < this.escRate ? this.u(c) + this.u(next) : s[k]! + s[k + 1]!;
        k++;
      } else if (c >= 0xd800 && c <= 0xdfff) {
        out += this.u(c); // a lone surrogate has no literal UTF-8 form
      } else if (c === 0x22) {
        out += this.rand() < 0.8 ? '\\"' : this.u(c);
      } else if (c === 0x5c) {
        out += this.rand() < 0.8 ? '\\\\' : this.u(c);
      } else if (c < 0x20) {
        const short: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
        out += short[c] !== undefined && this.rand() < 0.7 ? short[c] : this.u(c);
      } else if (c === 0x2f && this.rand() < 0.3) {
        out += '\\/';
      } else {
        out += this.rand() < this.escRate ? this.u(c) : s[k]!;
      }
    }
    return `${out}"`;
  }

  value(v: J): string {
    switch (v.t) {
      case 'raw':
        return v.text;
      case 'str':
        return this.string(v.s);
      case 'arr':
        return `[${v.items.map((x) => this.ws() + this.value(x) + this.ws()).join(',')}${v.items.length === 0 ? this.ws() : ''}]`;
      case 'obj':
        return `{${v.members.map(([k, x]) => `${this.ws()}${this.string(k)}${this.ws()}:${this.ws()}${this.value(x)}${this.ws()}`).join(',')}${v.members.length === 0 ? this.ws() : ''}}`;
    }
  }

  document(v: J): string {
    return this.ws() + this.value(v) + this.ws();
  }
}

// ── random values ───────────────────────────────────────────────────────────────────────────

class Gen {
  constructor(readonly rand: Rand) {}

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.rand() < p;
  }

  char(): string {
    const r = this.rand();
    if (r < 0.55) return 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:'[this.int(66)]!;
    if (r < 0.65) return this.pick([' ', '"', '\\', '/', '{', '}', '[', ']', ',', '%', '#', '?']);
    if (r < 0.72) return String.fromCharCode(this.int(0x20));
    if (r < 0.85) return this.pick(['é', 'ü', 'ß', '日', '本', 'Ω', '\u2028', '\u2029', '\u00a0', '\ufeff', '\u007f', '\u0300', '\uffff']);
    if (r < 0.985) return this.pick(['😀', '🎉', '𝄞', '\u{10ffff}', '\u{10000}']);
    return this.pick(['\ud800', '\udbff', '\udc00', '\udfff']);
  }

  text(maxLength: number): string {
    let s = '';
    const n = this.int(maxLength + 1);
    for (let i = 0; i < n; i++) s += this.char();
    return s;
  }

  /** A string of exactly `units` UTF-16 code units, well-formed unless `lone`. */
  sized(units: number, lone = false): string {
    let s = '';
    while (s.length < units) {
      const room = units - s.length;
      const c = room >= 2 && this.chance(0.2) ? '😀' : this.chance(0.2) ? 'é' : 'x';
      s += c;
    }
    if (lone && units > 0) {
      const at = this.int(units);
      // Replace one unit (or the first half of a pair) by a lone surrogate.
      s = s.slice(0, at) + '\ud800' + s.slice(at + 1);
      if (s.length > units) s = s.slice(0, units);
    }
    return s;
  }

  id(): string {
    const r = this.rand();
    if (r < 0.5) return `i-${this.int(1e6)}`;
    if (r < 0.7) return this.text(12);
    if (r < 0.8) return this.sized(this.pick([1, 2, 40, 255, 256, 256, 257, 258]));
    if (r < 0.85) return this.sized(this.pick([1, 5, 20, 256, 257]), true);
    if (r < 0.9) return this.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'payload', '']);
    return `${this.text(4)}-${this.int(100)}`;
  }

  /** Near-valid RFC 3339 strings: every field in and just out of range, every separator. */
  timestamp(): string {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    if (this.chance(0.08)) return this.text(40);
    const year = this.chance(0.8) ? 1960 + this.int(80) : this.int(10_000);
    const month = this.chance(0.85) ? 1 + this.int(12) : this.pick([0, 13, 99]);
    const day = this.chance(0.75) ? 1 + this.int(28) : this.pick([0, 29, 30, 31, 32]);
    const hour = this.chance(0.9) ? this.int(24) : this.pick([24, 25, 99]);
    const minute = this.chance(0.9) ? this.int(60) : this.pick([59, 60, 99]);
    const second = this.chance(0.85) ? this.int(60) : this.pick([59, 60, 60, 61, 99]);
    const sep = this.chance(0.85) ? 'T' : this.pick(['t', ' ', 'X', '_', '']);
    let s = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}${sep}${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;
    if (this.chance(0.6)) {
      const digits = this.chance(0.9) ? 1 + this.int(9) : this.pick([0, 10, 11, 20]);
      s += `.${Array.from({ length: digits }, () => this.int(10)).join('')}`;
    }
    const r = this.rand();
    if (r < 0.45) s += this.chance(0.9) ? 'Z' : 'z';
    else if (r < 0.9) {
      const oh = this.chance(0.9) ? this.int(24) : this.pick([24, 99]);
      const om = this.chance(0.9) ? this.pick([0, 0, 30, 45, this.int(60)]) : this.pick([60, 99]);
      s += `${this.pick(['+', '-'])}${pad(oh, 2)}:${pad(om, 2)}`;
    } else if (r < 0.95) s += this.pick(['', '+0100', '+01', 'ZZ', 'Z ', '+01:00x', '-00:00']);
    // Leap seconds at the right and wrong minute.
    if (this.chance(0.05)) s = this.pick(['2016-12-31T23:59:60Z', '2016-12-31T23:59:60.999999999Z', '2017-01-01T00:59:60+01:00', '2016-12-31T22:59:60Z', '2016-12-31T23:59:60-00:01']);
    return this.chance(0.15) ? this.mutateText(s) : s;
  }

  /** A valid timestamp in any spelling: separators, case, fraction digits, offsets. */
  validTimestamp(): string {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const date = `${pad(1900 + this.int(200), 4)}-${pad(1 + this.int(12), 2)}-${pad(1 + this.int(28), 2)}`;
    const time = `${pad(this.int(24), 2)}:${pad(this.int(60), 2)}:${pad(this.int(60), 2)}`;
    const fraction = this.chance(0.6) ? `.${Array.from({ length: 1 + this.int(9) }, () => this.int(10)).join('')}` : '';
    const offset = this.chance(0.5)
      ? this.pick(['Z', 'z', '+00:00', '-00:00'])
      : `${this.pick(['+', '-'])}${pad(this.int(24), 2)}:${pad(this.pick([0, 30, 45, this.int(60)]), 2)}`;
    return `${date}${this.pick(['T', 'T', 't', ' '])}${time}${fraction}${offset}`;
  }

  mutateText(s: string): string {
    const at = this.int(s.length + 1);
    const c = this.pick(['0', '9', ':', '-', '.', 'T', 'Z', '+', ' ', 'é', '日', '😀', '\u0660']);
    switch (this.int(3)) {
      case 0:
        return s.slice(0, at) + c + s.slice(at);
      case 1:
        return s.slice(0, at) + s.slice(at + 1);
      default:
        return s.slice(0, at) + c + s.slice(at + 1);
    }
  }

  number(): string {
    return this.pick([
      () => String(this.int(1000)),
      () => `-${this.int(1e9)}`,
      () => `${this.int(100)}.${this.int(1000)}`,
      () => `${this.int(10)}e${this.pick(['', '+', '-'])}${this.int(400)}`,
      () => `-0.${this.int(100)}E${this.int(20)}`,
      () => '9007199254740993',
      () => '1' + '0'.repeat(16 + this.int(40)),
      () => '-0',
      () => '0',
    ])();
  }

  value(depth: number): J {
    const r = this.rand();
    if (depth <= 0 || r < 0.35) return str(this.text(8));
    if (r < 0.5) return raw(this.number());
    if (r < 0.58) return raw(this.pick(['true', 'false', 'null']));
    if (r < 0.75) return arr(Array.from({ length: this.int(4) }, () => this.value(depth - 1)));
    return this.object(depth - 1, 4);
  }

  object(depth: number, width: number): J {
    return obj(Array.from({ length: this.int(width + 1) }, () => [this.key(), this.value(depth)] as [string, J]));
  }

  key(): string {
    return this.chance(0.15) ? this.pick(['__proto__', 'constructor', 'a', 'a', '', 'payload', 'interactionId']) : this.text(8);
  }

  nested(levels: number): J {
    let v: J = str(this.chance(0.5) ? '[{' : 'x');
    for (let i = 0; i < levels; i++) v = this.chance(0.5) ? obj([[this.key(), v]]) : arr([v]);
    return v;
  }
}

// ── events ──────────────────────────────────────────────────────────────────────────────────

const TS = '2026-01-15T10:30:00.123Z';

function randomEventBody(g: Gen): Buffer {
  const fieldValue = (good: () => J): J | undefined => {
    const r = g.rand();
    if (r < 0.05) return undefined;
    if (r < 0.1) return g.pick([raw('null'), raw('42'), raw('true'), arr([]), obj([]), raw('-0')]);
    return good();
  };
  const members: Array<[string, J]> = [];
  const put = (name: string, v: J | undefined) => {
    if (v !== undefined) members.push([name, v]);
  };
  put('interactionId', fieldValue(() => str(g.id())));
  put('dataActionId', fieldValue(() => str(g.chance(0.8) ? `da-${g.int(100)}` : g.id())));
  put('updatedTimestamp', fieldValue(() => str(g.pick([() => TS, () => g.validTimestamp(), () => g.timestamp()])())));
  const p = g.rand();
  if (p < 0.7) put('payload', g.chance(0.03) ? g.nested(30 + g.int(5)) : g.object(g.int(3), 4));
  else if (p < 0.8) put('payload', g.pick([raw('null'), arr([]), str('x'), raw('1'), raw('false')]));
  // Shuffle, then add unknown fields and duplicates.
  for (let i = members.length - 1; i > 0; i--) {
    const j = g.int(i + 1);
    [members[i], members[j]] = [members[j]!, members[i]!];
  }
  for (let n = g.chance(0.25) ? 1 + g.int(3) : 0; n > 0; n--) {
    members.splice(g.int(members.length + 1), 0, [g.key(), g.value(2)]);
  }
  if (g.chance(0.08) && members.length > 0) {
    const [name] = members[g.int(members.length)]!;
    const dup: J = g.chance(0.5) ? str(g.id()) : g.value(1);
    members.splice(g.int(members.length + 1), 0, [name, dup]);
  }
  const w = new Writer(g.rand, g.chance(0.3) ? 0.3 : 0, g.chance(0.3) ? 0.15 : 0);
  return Buffer.from(w.document(obj(members)), 'utf8');
}

const JSONISH = Buffer.from('{}[]",:0123456789.eE+-truefalsn \\u"interactionIdpayload\t\n');

function mutate(g: Gen, body: Buffer): Buffer {
  let b = Buffer.from(body);
  for (let n = 1 + g.int(3); n > 0; n--) {
    const at = g.int(b.length + 1);
    const byte = g.chance(0.9) ? JSONISH[g.int(JSONISH.length)]! : g.int(256);
    switch (g.int(5)) {
      case 0:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]);
        break;
      case 1:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      case 2:
        if (at < b.length) b[at] = byte;
        break;
      case 3:
        b = b.subarray(0, at);
        break;
      default: {
        const len = g.int(8);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
      }
    }
  }
  return b;
}

function depthBody(g: Gen): Buffer {
  const levels = 30 + g.int(7);
  const opens = Array.from({ length: levels }, () => (g.chance(0.5) ? '{"k":' : '['));
  const closes = opens.map((o) => (o === '[' ? ']' : '}')).reverse();
  let inner = g.pick(['1', '"x"', '"[[[["', '"\\"[{"', '"\\\\"', '[]', '{}']);
  if (g.chance(0.2)) inner += g.pick([',', 'x', ']', '}}', '"']);
  const where = g.int(4);
  const nest = opens.join('') + inner + (g.chance(0.85) ? closes.join('') : closes.slice(g.int(levels)).join(''));
  const base = `"interactionId":"i","dataActionId":"d","updatedTimestamp":"${TS}"`;
  const text =
    where === 0 ? `{${base},"payload":${nest}}` : where === 1 ? `{${base},"extra":${nest}}` : where === 2 ? nest : `{"payload":${nest},${base}}`;
  return Buffer.from(text, 'utf8');
}

function randomBytes(g: Gen): Buffer {
  const n = g.int(48);
  const jsonish = g.chance(0.5);
  return Buffer.from(Array.from({ length: n }, () => (jsonish ? JSONISH[g.int(JSONISH.length)]! : g.int(256))));
}

/** The hand-picked bodies: each rule, boundary and JSON.parse oddity at least once. */
function handPicked(): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  const t = (name: string, body: string) => out.push([name, Buffer.from(body, 'utf8')]);
  const b = (name: string, body: Buffer) => out.push([name, body]);
  const ev = (fields: Record<string, string | undefined>, extra = '') => {
    const parts = Object.entries({ interactionId: '"i-1"', dataActionId: '"da-9"', updatedTimestamp: `"${TS}"`, payload: '{"a":1}', ...fields })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `"${k}":${v}`);
    return `{${parts.join(',')}${extra}}`;
  };

  // Body level.
  for (const body of ['', ' ', '\n', 'null', 'true', 'false', '42', '-0', '"str"', '[]', '{}', '[1,{"a":2}]', ' {} ', '{}\n\r\t ']) t(`body ${JSON.stringify(body)}`, body);
  b('BOM then object', Buffer.from(`\ufeff${ev({})}`, 'utf8'));
  b('invalid UTF-8 c3 28 in a string', Buffer.concat([Buffer.from('{"interactionId":"'), Buffer.from([0xc3, 0x28]), Buffer.from(`","dataActionId":"d","updatedTimestamp":"${TS}"}`)]));
  for (const [name, bytes] of [
    ['0xff', [0xff]],
    ['UTF-16 surrogate ed a0 80', [0xed, 0xa0, 0x80]],
    ['overlong c0 af', [0xc0, 0xaf]],
    ['above U+10FFFF f4 90 80 80', [0xf4, 0x90, 0x80, 0x80]],
    ['truncated e6 97', [0xe6, 0x97]],
    ['lone continuation 80', [0x80]],
    ['NUL byte outside strings', [0x00]],
  ] as Array<[string, number[]]>) {
    b(`bytes ${name} in the payload`, Buffer.concat([Buffer.from(`${ev({ payload: undefined })}`.slice(0, -1) + ',"payload":{"s":"'), Buffer.from(bytes), Buffer.from('"}}')]));
  }
  b('invalid UTF-8 and too deep', Buffer.concat([Buffer.from('['.repeat(40)), Buffer.from([0xff])]));
  for (const [name, ws] of [['tab', '\t'], ['LF', '\n'], ['CR', '\r'], ['VT', '\v'], ['FF', '\f'], ['NBSP', '\u00a0'], ['LS', '\u2028'], ['BOM', '\ufeff']]) {
    t(`whitespace ${name} between tokens`, `{${ws}"interactionId"${ws}:${ws}"i"${ws},"dataActionId":"d","updatedTimestamp":"${TS}"${ws}}${ws}`);
  }
  // Numbers.
  for (const n of ['0', '-0', '01', '-01', '00', '1.', '.5', '-', '+1', '1e', '1e+', '1E+2', '1e-2', '1e999', '-1e-999', '1.5e308', '9007199254740993', '1'.repeat(400), '0x10', '1_000', 'NaN', 'Infinity', '-Infinity', '1.0e', '0.0', '-0.0e-0']) {
    t(`payload number ${n.length > 20 ? `${n.length} digits` : n}`, ev({ payload: `{"n":${n}}` }));
  }
  // Literals.
  for (const l of ['true', 'false', 'null', 'tru', 'True', 'nul', 'nulll', 'undefined', 'truefalse']) t(`payload literal ${l}`, ev({ payload: `{"l":${l}}` }));
  // Strings.
  for (const [name, s] of [
    ['raw NUL', '\u0000'],
    ['raw 0x1f', '\u001f'],
    ['raw tab', '\t'],
    ['raw LF', '\n'],
    ['raw DEL', '\u007f'],
    ['raw LS', '\u2028'],
    ['valid escapes', '\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uABCD'],
    ['escape \\x', '\\x41'],
    ['escape \\U', '\\U0041'],
    ["escape \\'", "\\'"],
    ['escape \\0', '\\0'],
    ['escape \\a', '\\a'],
    ['short \\u', '\\u12'],
    ['\\u with G', '\\u12G4'],
    ['\\u at the end', '\\u'],
    ['lone high surrogate', '\\ud800'],
    ['lone low surrogate', '\\udc00'],
    ['reversed pair', '\\udc00\\ud800'],
    ['pair', '\\ud83d\\ude00'],
    ['high then literal astral', '\\ud83d😀'],
    ['backslash at the end', '\\'],
  ] as Array<[string, string]>) {
    t(`payload string ${name}`, ev({ payload: `{"s":"${s}"}` }));
    t(`payload key ${name}`, ev({ payload: `{"${s}":1}` }));
  }
  t('unterminated string', '{"interactionId":"i');
  // Structure.
  for (const [name, body] of [
    ['trailing comma in object', '{"interactionId":"i",}'],
    ['trailing comma in array', ev({ payload: '{"a":[1,]}' })],
    ['leading comma', '{,"interactionId":"i"}'],
    ['double comma', ev({}, ',,"x":1')],
    ['missing colon', '{"interactionId" "i"}'],
    ['missing value', '{"interactionId":}'],
    ['single quotes', "{'interactionId':'i'}"],
    ['unquoted key', '{interactionId:"i"}'],
    ['comment', `${ev({})}//c`],
    ['block comment', `/*c*/${ev({})}`],
    ['two objects', `${ev({})}{}`],
    ['extra closer', `${ev({})}}`],
    ['unclosed object', ev({}).slice(0, -1)],
    ['unclosed array in payload', ev({ payload: '{"a":[1' }) + '}'],
    ['array closed by brace', ev({ payload: '{"a":[1}' }) + '}'],
    ['number key', '{1:2}'],
    ['trailing garbage after whitespace', `${ev({})} x`],
  ] as Array<[string, string]>) {
    t(name, body);
  }
  // Depth.
  const nest = (n: number, open = '{"a":', close = '}', inner = '1') => `${open.repeat(n)}${inner}${close.repeat(n)}`;
  for (const n of [31, 32, 33, 40]) {
    t(`payload ${n} object levels`, ev({ payload: nest(n) }));
    t(`payload ${n} array levels inside an object`, ev({ payload: `{"a":${nest(n - 1, '[', ']')}}` }));
    t(`unknown field ${n + 1} levels`, ev({}, `,"extra":${nest(n + 1, '[', ']')}`));
  }
  t('top level 33 arrays', nest(33, '[', ']'));
  t('top level 34 arrays', nest(34, '[', ']'));
  t('34 opens, unbalanced', '['.repeat(34));
  t('33 opens, unbalanced', '['.repeat(33));
  t('brackets inside strings do not count', ev({ payload: `{"s":"${'['.repeat(100)}","t":"${'{'.repeat(100)}"}` }));
  t('escaped quote keeps the scan inside the string', ev({ payload: `{"s":"\\"${'['.repeat(40)}"}` }));
  t('escaped backslash ends before the quote', ev({ payload: `{"s":"\\\\"${'['.repeat(40)}` }));
  t('closers first lower the scanned depth', `${']'.repeat(10)}${'['.repeat(40)}`);
  t('too deep and malformed: depth wins', `{"payload":${'['.repeat(34)}x`);
  t('33 deep and malformed: malformed', `{"payload":${'['.repeat(32)}x`);
  t('too deep in interactionId', ev({ interactionId: nest(33, '[', ']') }));
  t('unterminated string hides brackets', `{"s":"${'['.repeat(40)}`);
  // Fields, each rule, in order.
  const ids: Array<[string, string]> = [
    ['missing', ''],
    ['null', 'null'],
    ['number', '42'],
    ['true', 'true'],
    ['array', '["a"]'],
    ['object', '{"a":"b"}'],
    ['empty', '""'],
    ['1 char', '"a"'],
    ['256 chars', `"${'x'.repeat(256)}"`],
    ['257 chars', `"${'x'.repeat(257)}"`],
    ['128 astral (256 units)', `"${'😀'.repeat(128)}"`],
    ['129 astral (258 units)', `"${'😀'.repeat(129)}"`],
    ['255 units + escaped pair', `"${'x'.repeat(254)}\\ud83d\\ude00"`],
    ['256 units of escapes', `"${'\\u0041'.repeat(256)}"`],
    ['257 units of escapes', `"${'\\u0041'.repeat(257)}"`],
    ['lone surrogate', '"\\ud800abc"'],
    ['lone surrogate and too long', `"${'x'.repeat(257)}\\ud800"`],
    ['lone surrogate, 256 units', `"${'x'.repeat(255)}\\ud800"`],
    ['reversed pair', '"\\ude00\\ud83d"'],
    ['escaped text', '"a\\u00e9\\ud83d\\ude00\\"\\\\\\/\\n"'],
    ['NUL escape', '"\\u0000"'],
    ['unicode', '"ünï-漢字-🎉"'],
    ['__proto__', '"__proto__"'],
  ];
  for (const field of ['interactionId', 'dataActionId']) {
    for (const [name, v] of ids) t(`${field} ${name}`, ev({ [field]: v === '' ? undefined : v }));
  }
  const timestamps = [
    '2026-01-15T10:30:00Z',
    '2026-01-15T10:30:00.123456789+05:30',
    '2026-01-15t10:30:00z',
    '2026-01-15 10:30:00-00:00',
    '2016-12-31T23:59:60Z',
    '2016-12-31T23:59:60.5+00:00',
    '2017-01-01T05:29:60.5+05:30',
    '2024-01-15T10:30:60Z',
    '2024-02-30T00:00:00Z',
    '2024-02-29T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2000-02-29T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-01-15T24:00:00Z',
    '2024-01-15T10:60:00Z',
    '2024-01-15T10:30:61Z',
    '2024-01-15T10:30:00+24:00',
    '2024-01-15T10:30:00.1234567890Z',
    '2024-01-15T10:30:00',
    '2024-01-15T10:30:00+0100',
    ' 2024-01-15T10:30:00Z',
    '20240115T103000Z',
    'yesterday',
    '2024-01-15T10:30:00.000000000000000000000000Z',
    `2024-01-15T10:30:00.${'0'.repeat(44)}Z`,
    `2024-01-15T10:30:00.${'0'.repeat(45)}Z`,
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999-23:59',
    '２０２４-01-15T10:30:00Z',
    '2024-01-15T10:30:00.12345678+01:0😀',
  ];
  for (const ts of timestamps) t(`updatedTimestamp ${ts.length > 40 ? `${ts.length} chars` : ts}`, ev({ updatedTimestamp: JSON.stringify(ts) }));
  for (const [name, v] of ids.slice(0, 7)) t(`updatedTimestamp ${name}`, ev({ updatedTimestamp: v === '' ? undefined : v }));
  t('updatedTimestamp lone surrogate', ev({ updatedTimestamp: '"2024-01-15T10:30:00Z\\ud800"' }));
  t('updatedTimestamp escaped', ev({ updatedTimestamp: '"\\u0032024-01-15T10:30:00\\u002E5\\u005A"' }));
  t('updatedTimestamp 64 chars', ev({ updatedTimestamp: `"${'2'.repeat(64)}"` }));
  t('updatedTimestamp 65 chars', ev({ updatedTimestamp: `"${'2'.repeat(65)}"` }));
  for (const [name, v] of [['missing', undefined], ['null', 'null'], ['array', '[]'], ['string', '"x"'], ['number', '1'], ['true', 'true'], ['empty object', '{}'], ['nested', '{"a":{"b":[1,{"c":null}]}}']] as Array<[string, string | undefined]>) {
    t(`payload ${name}`, ev({ payload: v }));
  }
  // Order of checks.
  t('all four wrong: interactionId first', '{"payload":1,"updatedTimestamp":5,"dataActionId":5,"interactionId":5}');
  t('three wrong: dataActionId first', '{"payload":1,"updatedTimestamp":5,"dataActionId":5,"interactionId":"i"}');
  t('two wrong: updatedTimestamp first', '{"payload":1,"updatedTimestamp":"x","dataActionId":"d","interactionId":"i"}');
  t('no fields at all', '{"x":1}');
  // Duplicates: the last wins.
  t('duplicate interactionId, last valid', `{"interactionId":5,"interactionId":"i-2","dataActionId":"d","updatedTimestamp":"${TS}"}`);
  t('duplicate interactionId, last invalid', `{"interactionId":"i-2","interactionId":5,"dataActionId":"d","updatedTimestamp":"${TS}"}`);
  t('duplicate payload, last object', ev({}, ',"payload":{"b":2}'));
  t('duplicate payload, last null', ev({}, ',"payload":null'));
  t('duplicate timestamp', ev({}, ',"updatedTimestamp":"2016-12-31T23:59:60Z"'));
  t('escaped key duplicates the plain one', ev({}, ',"interaction\\u0049d":"i-escaped"'));
  t('escaped payload key', ev({ payload: undefined }, ',"payl\\u006fad":"x"'));
  t('key with a lone surrogate', ev({}, ',"\\ud800":1'));
  t('key like a field with a suffix', ev({}, ',"interactionIdx":5,"payload ":1'));
  // __proto__ and friends are plain keys.
  t('__proto__ at the top and in the payload', `{"__proto__":{"polluted":1},"interactionId":"p","dataActionId":"d","updatedTimestamp":"${TS}","payload":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}`);
  t('__proto__ as the payload key', ev({ payload: '{"__proto__":null}' }));
  t('constructor and toString at the top', ev({}, ',"constructor":1,"toString":2,"hasOwnProperty":3'));
  // Shapes and flags.
  t('fields in another order', `{"payload":{},"updatedTimestamp":"${TS}","dataActionId":"d","interactionId":"i"}`);
  t('unknown fields', ev({}, `,"extra":"${'x'.repeat(100)}","more":[1,2]`));
  t('whitespace everywhere', ` \n\t{ "interactionId" : "i" ,\r\n "dataActionId" :"d", "updatedTimestamp":"${TS}" , "payload" : { "a" : [ 1 , 2 ] } } \n`);
  t('every JSON type in payload', ev({ payload: '{"s":"é","n":-1.5e-300,"i":9007199254740993,"t":true,"f":false,"z":null,"a":[1,"a",null,[],{}],"o":{}}' }));
  t('the README example', '{\n  "interactionId": "i-123",\n  "dataActionId": "da-9",\n  "updatedTimestamp": "2026-01-15T10:30:00.123Z",\n  "payload": { "any": "object" }\n}');
  return out;
}

function eventVector(name: string, body: Buffer, hasher: (s: string) => string, keyIndex: () => number[]): EventVector {
  const encoded = isUtf8(body) ? { text: body.toString('utf8') } : { hex: body.toString('hex') };
  const r = parseEvent(body);
  if (!r.ok) {
    return { name, ...encoded, ok: false, reason: r.reason, message: r.message, ...('field' in r && r.field !== undefined ? { field: r.field } : {}) };
  }
  const layout = topLevelLayout(body);
  const ts = r.timestamp;
  return {
    name,
    ...encoded,
    ok: true,
    interactionId: r.event.interactionId,
    dataActionId: r.event.dataActionId,
    updatedTimestamp: r.event.updatedTimestamp,
    timestamp: instant(ts),
    payload: layout.payload,
    object: layout.object,
    canonical: layout.unknownFields === 0 && CONTRACT.every((f) => layout.counts[f] === 1),
    unknownFields: layout.unknownFields,
    repeatedFields: CONTRACT.some((f) => layout.counts[f]! > 1),
    keys: keyIndex().map((i) => {
      const key = keyBuilder(KEY_FIELD_LISTS[i]!)(r.event, ts);
      return [i, key, hasher(key)] as [number, string, string];
    }),
  };
}

const instant = (t: ParsedTimestamp): InstantVector => ({ epochSeconds: t.epochSeconds, leap: t.leap, nanos: t.nanos, epochMs: t.epochMs });

function timestampVector(input: string): TimestampVector {
  const t = parseTimestamp(input);
  if (t === null) return { input, ok: false, fault: timestampFault(input)! };
  return { input, ok: true, ...instant(t), key: timestampKey(t) };
}

const HAND_PICKED_TIMESTAMPS = [
  '2024-01-15T10:30:00Z', '2024-01-15T10:30:00.123Z', '1970-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z',
  '1969-12-31T23:59:59.999999999Z', '0000-01-01T00:00:00Z', '0000-02-29T00:00:00Z', '0001-01-01T00:00:00Z',
  '0099-12-31T23:59:59Z', '1600-03-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z', '9999-12-31T23:59:59-23:59',
  '0000-01-01T00:00:00+23:59', '2024-01-15T11:30:00+01:00', '2024-01-15T05:00:00-05:30', '2024-01-15T10:30:00-00:00',
  '2024-01-01T00:30:00+23:59', '2024-01-15t10:30:00z', '2024-01-15 10:30:00Z', '2024-01-15T10:30:00.5Z',
  '2024-01-15T10:30:00.000000001Z', '2024-01-15T10:30:00.000Z', '2016-12-31T23:59:60Z', '2016-12-31T23:59:60.5Z',
  '2017-01-01T05:29:60.5+05:30', '2016-12-31T15:59:60-08:00', '2017-01-01T00:00:60+00:01', '2016-12-31T23:59:60-00:00',
  '2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2000-02-29T00:00:00Z', '2024-04-31T00:00:00Z',
  '2024-06-31T00:00:00Z', '2024-09-31T00:00:00Z', '2024-11-31T00:00:00Z', '2024-12-31T00:00:00Z', '2024-12-32T00:00:00Z',
  '2024-01-00T00:00:00Z', '2024-00-10T00:00:00Z', '2024-13-10T00:00:00Z', '2024-01-15T24:00:00Z', '2024-01-15T10:60:00Z',
  '2024-01-15T10:30:61Z', '2024-01-15T10:30:60Z', '2016-12-31T23:59:60+01:00', '2024-01-15T10:30:00+24:00',
  '2024-01-15T10:30:00+01:60', '2024-13-45T10:30:00+24:00', '2024-01-15T10:30:00.1234567890Z',
  '2024-01-15T10:30:00.1234567890', '2024-01-15T10:30:00', '2024-01-15T10:30:00+0100', '2024-01-15T10:30:00+01',
  '2024-01-15T10:30:00+1:00', '2024-01-15T10:30:00.Z', '2024-01-15T10:30:00,5Z', '2024-01-15T10:30Z', '2024-01-15',
  '20240115T103000Z', '2024-1-15T10:30:00Z', '2024-01-15X10:30:00Z', '2024-01-15T10:30:00ZZ', '2024-01-15T10:30:00Z ',
  ' 2024-01-15T10:30:00Z', '+2024-01-15T10:30:00Z', '2024-01-15T10:30:00.12a3Z', '2024-01-15T10:30:00+01:00junk',
  '２０２４-01-15T10:30:00Z', 'junk', '', '2024-01-15T10:30:00.000000000000000000000000Z',
  '2024-01-15T10:30:00.123456789+01:00é', '2024-01-15T10:30:00.12345678+01:00é', '2024-01-15T10:30:00.12345678+01:0😀',
  '2024-01-15T10:30:00.123456789+01:0😀', 'é'.repeat(19), 'é'.repeat(20), 'é'.repeat(36), '2024-01-15T10:30:00Zé',
  '2024-01-15T10:30:00+01:0é', '2024-01-15T10:30:00\u0660Z', '2024-01-15T10:30:00.123456789012Z',
  '2024-01-15T10:30:00.1234567891+01:00', '2024-01-15T10:30:00-', '2024-01-15T10:30:00+', '2024-01-15T10:30:00.',
  '2024-01-15T10:30:00+01:00Z', '2024-01-15T10:30:00Z+01:00',
];

/** Builds every vector for `options` (deterministic). */
export async function buildWebhookVectors(options: WebhookVectorOptions): Promise<WebhookVectors> {
  const { hasher } = await loadFallbackFactory();
  const hash = (s: string) => hasher.h64(s).toString(16).padStart(16, '0');
  const g = new Gen(mulberry32(options.seed));

  // Two field lists per valid event, rotating through all fifteen.
  let okCount = 0;
  const keyIndex = () => {
    const n = okCount++;
    return [(2 * n) % KEY_FIELD_LISTS.length, (2 * n + 1) % KEY_FIELD_LISTS.length];
  };

  const events: EventVector[] = handPicked().map(([name, body]) => eventVector(name, body, hash, keyIndex));
  for (let i = 0; i < options.randomEvents; i++) {
    const r = g.rand();
    let kind: string;
    let body: Buffer;
    if (r < 0.45) [kind, body] = ['event', randomEventBody(g)];
    else if (r < 0.8) [kind, body] = ['mutated', mutate(g, randomEventBody(g))];
    else if (r < 0.9) [kind, body] = ['depth', g.chance(0.5) ? depthBody(g) : mutate(g, depthBody(g))];
    else [kind, body] = ['bytes', randomBytes(g)];
    events.push(eventVector(`${kind} ${i}`, body, hash, keyIndex));
  }

  const timestamps = [...HAND_PICKED_TIMESTAMPS, ...Array.from({ length: options.randomTimestamps }, () => g.timestamp())]
    // Lone surrogates cannot be written as text in the vectors' consumers (Rust &str): the
    // event vectors cover them through escapes, and `parseEvent` rejects them before parsing.
    .filter((s) => (s as string & { isWellFormed(): boolean }).isWellFormed())
    .map(timestampVector);

  const keyInputs: Array<[string, string, string]> = [
    ['i-1', 'da-9', TS],
    ['', '', '1970-01-01T00:00:00Z'],
    ['abc', 'é', '2016-12-31T23:59:60.5Z'],
    ['😀', '日本語', '1969-12-31T23:59:59.999999999Z'],
    ['x'.repeat(256), '😀'.repeat(128), '9999-12-31T23:59:59.999999999-23:59'],
    ['3:abc', '20:', '0000-01-01T00:00:00+23:59'],
    ['\u0000"\\', '\u2028\ufeff', '2024-01-15T12:30:00+02:00'],
  ];
  const keys = keyInputs.map(([interactionId, dataActionId, updatedTimestamp]) => {
    const ts = parseTimestamp(updatedTimestamp)!;
    const event = { interactionId, dataActionId, updatedTimestamp, payload: {} };
    return {
      interactionId,
      dataActionId,
      updatedTimestamp,
      keys: KEY_FIELD_LISTS.map((fields) => {
        const key = keyBuilder(fields)(event, ts);
        return [key, hash(key)] as [string, string];
      }),
    };
  });

  return {
    description:
      'parseEvent / parseTimestamp / keyBuilder verdicts of the TypeScript reference, for native/webhook (cxone-webhook). ' +
      'Regenerate with: node --import tsx test/vectors/generate-webhook.ts',
    options,
    keyFieldLists: KEY_FIELD_LISTS,
    events,
    timestamps,
    keys,
  };
}

/** The file's text: one vector per line, so diffs show which cases changed. */
export function formatWebhookVectors(v: WebhookVectors): string {
  const list = (items: unknown[]) => `[\n${items.map((x) => JSON.stringify(x)).join(',\n')}\n]`;
  return (
    `{\n"description": ${JSON.stringify(v.description)},\n"options": ${JSON.stringify(v.options)},\n` +
    `"keyFieldLists": ${JSON.stringify(v.keyFieldLists)},\n"events": ${list(v.events)},\n` +
    `"timestamps": ${list(v.timestamps)},\n"keys": ${list(v.keys)}\n}\n`
  );
}
