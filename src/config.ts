/**
 * Daemon configuration: every setting comes from an environment variable and, with the same
 * meaning, from a command-line flag (flags win). Everything is validated before the daemon
 * starts; bad values stop the start with one message that lists every problem, each naming its
 * setting, so one attempt shows them all.
 */
import { isIP } from 'node:net';
import { computeBloomParams } from '@cxone-dedup/bloom/factory';
import {
  DEFAULT_SIGNATURE_PRESET,
  headerDisplayName,
  SIGNATURE_ENCODINGS,
  SIGNATURE_PREFIXES,
  SIGNATURE_PRESET_NAMES,
  SIGNATURE_PRESETS,
  SIGNED_CONTENTS,
  type SignatureEncoding,
  type SignaturePrefix,
  type SignaturePreset,
  type SignaturePresetName,
  type SignatureScheme,
  type SignedContent,
} from './cxone/signature-scheme.js';
import { KEY_FIELDS, keyNeedsDeliveryId, type KeyField } from './dedup/key.js';
import { DELIVER_MODES, type DeliverMode } from './delivery/types.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { DEFAULT_KEY_PREFIX, parseClusterNodes, parseKeyPrefix, parseRedisUrl, resolveTarget } from './store/redis/settings.js';

export type UnconfirmedPolicy = 'duplicate' | 'new';
/** Where the dedup window and the latest states live: this process, or Redis (shared by replicas). */
export type DedupStoreKind = 'memory' | 'redis';
/** What the Redis store does when Redis cannot answer in time. */
export type RedisFailurePolicy = 'reject' | 'local';
export type BloomPreference = 'auto' | 'native' | 'fallback';

export interface Config {
  port: number;
  host: string;
  /** Undefined when not given: the daemon then generates an ephemeral one. */
  webhookSecret: string | undefined;
  /** Undefined: GET /state is open to whoever can reach the port. */
  stateApiToken: string | undefined;
  dedupCapacity: number;
  dedupErrorRate: number;
  compactionIntervalSeconds: number;
  stateCacheSize: number;
  stateCacheMaxBytes: number;
  maxBodyBytes: number;
  dedupKeyFields: KeyField[];
  unconfirmedPolicy: UnconfirmedPolicy;
  logLevel: LogLevel;
  bloom: BloomPreference;
  allowUwsFallback: boolean;
  shutdownTimeoutSeconds: number;
  /** Where the signature settings below take their defaults from. */
  signaturePreset: SignaturePresetName;
  /** Header names are lowercase (as uWS reads them). */
  signatureHeader: string;
  signatureEncoding: SignatureEncoding;
  signaturePrefix: SignaturePrefix;
  signedContent: SignedContent;
  replayWindowSeconds: number;
  timestampHeader: string;
  /** As the daemon applies it: true also when implied by signedContent 'timestamp.body'. */
  requireTimestamp: boolean;
  /** Undefined: no delivery-id header (then deliveryId cannot be a key field). */
  deliveryIdHeader: string | undefined;
  influxUrl: string | undefined;
  influxToken: string | undefined;
  influxOrg: string | undefined;
  influxBucket: string | undefined;
  influxEnvironment: string;
  metricsIntervalSeconds: number;
  influxMaxBufferLines: number;
  cxoneClientId: string | undefined;
  cxoneClientSecret: string | undefined;
  cxoneRegion: string;
  cxoneTokenUrl: string | undefined;
  cxoneApiBase: string | undefined;
  cxoneWebhookUrl: string | undefined;
  snapshotPath: string | undefined;
  snapshotIntervalSeconds: number;
  strictSnapshot: boolean;
  /** Undefined: no HTTP sink. */
  deliveryUrl: string | undefined;
  /** Undefined: deliveries are not signed. */
  deliverySecret: string | undefined;
  deliveryConcurrency: number;
  deliveryMaxAttempts: number;
  deliveryMaxAgeSeconds: number;
  deliveryTimeoutMs: number;
  /** 'auto': one native call per webhook where it applies; 'off': always the portable path. */
  webhookFastPath: 'auto' | 'off';
  /** Which events are delivered: the first of each key ('processed') or every change of state ('updates'). */
  deliver: DeliverMode;
  /** Undefined: DEFAULT_OUTBOX_DIR under the working directory. */
  outboxDir: string | undefined;
  outboxMaxBytes: number;
  /** Undefined: dead-letter.ndjson in the outbox directory. */
  deliveryDeadLetterPath: string | undefined;
  /** `redis://` or `rediss://` URL of one Redis server (may carry user and password). */
  redisUrl: string | undefined;
  /** Used when the URL or the cluster nodes carry none. */
  redisPassword: string | undefined;
  /** Redis Cluster nodes to discover the topology from (`host:port` or `redis[s]://[user@]host:port`). */
  redisClusterNodes: string[] | undefined;
  redisKeyPrefix: string;
  redisTimeoutMs: number;
  stateTtlSeconds: number;
  dedupStore: DedupStoreKind;
  redisFailurePolicy: RedisFailurePolicy;
  /** Undefined: no Redis Streams sink. */
  deliveryRedisStream: string | undefined;
  deliveryRedisMaxLen: number;
  /** Threads serving the port: 1 is the single-threaded daemon; more are uWebSockets.js apps in worker_threads. */
  workers: number;
}

/** Every problem found in one configuration; the message has one line per problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** In the order found: environment, command line, then settings that do not fit together. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.join('\n'));
    this.problems = list;
  }
}

type Parser<T> = (raw: string) => T;

interface Setting<K extends keyof Config = keyof Config> {
  key: K;
  env: string;
  flag: string;
  /** Shown in --help as the value placeholder; absent for boolean switches. */
  arg?: string;
  help: string;
  default: Config[K];
  parse: Parser<Config[K]>;
  /** Values never echoed in errors or help. */
  secret?: boolean;
  /** Boolean switch: `--flag` alone means true. */
  switch?: boolean;
}

function fail(message: string): never {
  throw new Error(message);
}

function int(min: number, max: number): Parser<number> {
  return (raw) => {
    const s = raw.trim().replace(/_/g, '');
    if (!/^[+]?\d+$/.test(s)) fail(`must be a whole number between ${min} and ${max}`);
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < min || n > max) fail(`must be a whole number between ${min} and ${max}`);
    return n;
  };
}

function float(min: number, max: number, opts: { exclusiveMin?: boolean; exclusiveMax?: boolean } = {}): Parser<number> {
  const range = `${opts.exclusiveMin ? '(' : '['}${min}, ${max}${opts.exclusiveMax ? ')' : ']'}`;
  return (raw) => {
    const s = raw.trim();
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) fail(`must be a number in ${range}`);
    const n = Number(s);
    const tooLow = opts.exclusiveMin ? n <= min : n < min;
    const tooHigh = opts.exclusiveMax ? n >= max : n > max;
    if (!Number.isFinite(n) || tooLow || tooHigh) fail(`must be a number in ${range}`);
    return n;
  };
}

function oneOf<T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    const s = raw.trim().toLowerCase();
    const hit = values.find((v) => v.toLowerCase() === s);
    if (hit === undefined) fail(`must be one of ${values.join(', ')}`);
    return hit;
  };
}

const bool: Parser<boolean> = (raw) => {
  const s = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  return fail('must be true or false');
};

function text(maxLength: number, pattern?: RegExp, what?: string): Parser<string> {
  return (raw) => {
    const s = raw.trim();
    if (s.length === 0) fail('must not be empty');
    if (s.length > maxLength) fail(`must be at most ${maxLength} characters`);
    if (pattern && !pattern.test(s)) fail(`must be ${what ?? `like ${pattern}`}`);
    return s;
  };
}

const optionalText = (maxLength: number): Parser<string | undefined> => (raw) => (raw.trim() === '' ? undefined : text(maxLength)(raw));

const httpUrl: Parser<string | undefined> = (raw) => {
  const s = raw.trim();
  if (s === '') return undefined;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return fail('must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('must be an absolute http(s) URL');
  return s.replace(/\/+$/, '');
};

const secret: Parser<string | undefined> = (raw) => {
  if (raw === '') return undefined;
  // Refuse short secrets: an HMAC key an attacker can guess protects nothing.
  if (raw.length < 16) fail('must be at least 16 characters (use a long random value, e.g. `openssl rand -hex 32`)');
  if (raw.length > 4096) fail('must be at most 4096 characters');
  return raw;
};

/** Kept exactly as given (a trailing slash or a query can matter to the receiver); no credentials, which would be logged. */
const deliveryUrl: Parser<string | undefined> = (raw) => {
  const s = raw.trim();
  if (s === '') return undefined;
  if (s.length > 2048) fail('must be at most 2048 characters');
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return fail('must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('must be an absolute http(s) URL');
  if (url.username !== '' || url.password !== '') fail('must not carry credentials (user:password@); the receiver can check X-Dedup-Signature instead');
  return s;
};

const bearerToken: Parser<string | undefined> = (raw) => {
  const token = secret(raw);
  // RFC 6750 b64token: what fits in `Authorization: Bearer …` unquoted.
  if (token !== undefined && !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) fail('may contain only letters, digits and - . _ ~ + / (then = padding)');
  return token;
};

const keyFields: Parser<KeyField[]> = (raw) => {
  const parts = raw.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) fail(`must name at least one of ${KEY_FIELDS.join(', ')}`);
  const out: KeyField[] = [];
  for (const p of parts) {
    const f = KEY_FIELDS.find((k) => k === p);
    if (f === undefined) fail(`unknown field "${p.slice(0, 40)}"; use a comma-separated list of ${KEY_FIELDS.join(', ')}`);
    if (out.includes(f)) fail(`names "${f}" twice`);
    out.push(f);
  }
  return out;
};

const headerName: Parser<string> = (raw) => text(128, /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name')(raw).toLowerCase();

const redisUrl: Parser<string | undefined> = (raw) => {
  const s = raw.trim();
  if (s === '') return undefined;
  parseRedisUrl(s);
  return s;
};

const redisPassword: Parser<string | undefined> = (raw) => {
  if (raw === '') return undefined;
  if (raw.length > 4096) fail('must be at most 4096 characters');
  return raw;
};

const redisClusterNodes: Parser<string[] | undefined> = (raw) => {
  if (raw.trim() === '') return undefined;
  parseClusterNodes(raw);
  return raw.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
};

/** A Redis stream name: printable ASCII without spaces; no braces (partitions add their own hash tag). */
const streamName: Parser<string | undefined> = (raw) => {
  const s = raw.trim();
  if (s === '') return undefined;
  if (s.length > 256) fail('must be at most 256 characters');
  if (!/^[\x21-\x7e]+$/.test(s)) fail('may contain only printable ASCII without spaces');
  if (/[{}]/.test(s)) fail('must not contain { or }: in Redis Cluster the partitions carry their own hash tag');
  return s;
};

/** RFC 1123 labels (underscores tolerated: some internal names have them), optional final dot. */
const HOST_NAME = /^(?=.{1,253}\.?$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * An IP address (IPv6 with or without brackets; uWS takes it bare) or a host name. Whether it is
 * an address of this host, or resolves at all, is known only when listening (see http/listen-error.ts).
 */
const host: Parser<string> = (raw) => {
  const s = text(255)(raw);
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (isIP(bare) !== 0) return bare;
  if (/^[\d.]+$/.test(bare)) fail('is not a valid IPv4 address (four numbers from 0 to 255, e.g. 127.0.0.1)');
  if (bare.includes(':')) fail('is not a valid IPv6 address (e.g. ::1)');
  if (!HOST_NAME.test(bare)) fail('must be an IP address or a host name (letters, digits and hyphens, in dot-separated labels)');
  return bare;
};

function def<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

/**
 * The settings whose default is a part of SIGNATURE_PRESET, and that part. A value given in the
 * environment or on the command line overrides it. Header names lowercase, as uWS reads them.
 */
const PRESET_PARTS = {
  signatureHeader: (p: SignaturePreset) => p.header.toLowerCase(),
  signatureEncoding: (p: SignaturePreset) => p.encoding,
  signaturePrefix: (p: SignaturePreset) => p.prefix,
  signedContent: (p: SignaturePreset) => p.signedContent,
  timestampHeader: (p: SignaturePreset) => p.timestampHeader.toLowerCase(),
  deliveryIdHeader: (p: SignaturePreset) => p.deliveryIdHeader?.toLowerCase(),
} satisfies { [K in keyof Config]?: (p: SignaturePreset) => Config[K] };

type PresetPart = keyof typeof PRESET_PARTS;

function isPresetPart(key: keyof Config): key is PresetPart {
  return Object.hasOwn(PRESET_PARTS, key);
}

/** The default preset's part: what the row's default is (today's behaviour). */
function presetDefault<K extends PresetPart>(key: K): ReturnType<(typeof PRESET_PARTS)[K]> {
  return PRESET_PARTS[key](SIGNATURE_PRESETS[DEFAULT_SIGNATURE_PRESET]) as ReturnType<(typeof PRESET_PARTS)[K]>;
}

/** Bound on WORKERS: far above any core count this daemon is run on, low enough to catch a typo. */
export const MAX_WORKERS = 256;

/** Header names HTTP itself uses: a signature, timestamp or delivery id can't live there. */
const RESERVED_HEADERS = new Set(['content-length', 'content-type', 'transfer-encoding', 'connection', 'host', 'expect', 'upgrade', 'te', 'trailer', 'keep-alive']);

/** The table behind environment parsing, flag parsing and `--help`. Order is the help order. */
export const SETTINGS: readonly Setting[] = [
  def({ key: 'port', env: 'PORT', flag: '--port', arg: 'N', help: 'TCP port to listen on (0 picks a free one)', default: 8080, parse: int(0, 65535) }),
  def({ key: 'host', env: 'HOST', flag: '--host', arg: 'ADDR', help: 'address to listen on', default: '0.0.0.0', parse: host }),
  def({ key: 'webhookSecret', env: 'CXONE_WEBHOOK_SECRET', flag: '--webhook-secret', arg: 'S', help: 'HMAC-SHA256 key for X-NICE-Signature (prefer the env var: flags show in `ps`); unset → a random one for this run, in ./.cxone-dedup-secret (mode 0600; send and sign there use it)', default: undefined, parse: secret, secret: true }),
  def({ key: 'stateApiToken', env: 'STATE_API_TOKEN', flag: '--state-api-token', arg: 'TOKEN', help: 'bearer token that GET /state/:interactionId requires (prefer the env var); unset → /state is open to whoever reaches the port', default: undefined, parse: bearerToken, secret: true }),
  def({ key: 'dedupCapacity', env: 'DEDUP_CAPACITY', flag: '--dedup-capacity', arg: 'N', help: 'keys per Bloom generation', default: 1_000_000, parse: int(1, 1_000_000_000) }),
  def({ key: 'dedupErrorRate', env: 'DEDUP_ERROR_RATE', flag: '--dedup-error-rate', arg: 'P', help: 'target false-positive rate per generation', default: 0.001, parse: float(0, 1, { exclusiveMin: true, exclusiveMax: true }) }),
  def({ key: 'compactionIntervalSeconds', env: 'COMPACTION_INTERVAL_SECONDS', flag: '--compaction-interval', arg: 'SECONDS', help: 'rotate Bloom generations this often (the dedup window is one to two intervals)', default: 300, parse: float(0.05, 31 * 24 * 3600) }),
  def({ key: 'stateCacheSize', env: 'STATE_CACHE_SIZE', flag: '--state-cache-size', arg: 'N', help: 'interactions kept in the latest-state LRU', default: 100_000, parse: int(1, 100_000_000) }),
  def({ key: 'stateCacheMaxBytes', env: 'STATE_CACHE_MAX_BYTES', flag: '--state-cache-max-bytes', arg: 'N', help: 'bound on the body bytes held in the state cache (least recent evicted first)', default: 256 * 1024 * 1024, parse: int(1024, Number.MAX_SAFE_INTEGER) }),
  def({ key: 'maxBodyBytes', env: 'MAX_BODY_BYTES', flag: '--max-body-bytes', arg: 'N', help: 'largest accepted webhook body; larger → 413', default: 1024 * 1024, parse: int(64, 64 * 1024 * 1024) }),
  def({ key: 'dedupKeyFields', env: 'DEDUP_KEY_FIELDS', flag: '--dedup-key-fields', arg: 'LIST', help: `fields that make the dedup key, from ${KEY_FIELDS.join(', ')}`, default: ['interactionId'], parse: keyFields }),
  def({ key: 'unconfirmedPolicy', env: 'UNCONFIRMED_POLICY', flag: '--unconfirmed-policy', arg: 'duplicate|new', help: 'what a Bloom "maybe" the state cache cannot confirm counts as', default: 'duplicate', parse: oneOf<UnconfirmedPolicy>(['duplicate', 'new']) }),
  def({ key: 'logLevel', env: 'LOG_LEVEL', flag: '--log-level', arg: LOG_LEVELS.join('|'), help: 'log verbosity (JSON lines on stderr)', default: 'info', parse: oneOf<LogLevel>(LOG_LEVELS) }),
  def({ key: 'bloom', env: 'BLOOM_IMPLEMENTATION', flag: '--bloom', arg: 'auto|native|fallback', help: 'Bloom filter implementation; auto = native, else the xxhash-wasm fallback', default: 'auto', parse: oneOf<BloomPreference>(['auto', 'native', 'fallback']) }),
  def({ key: 'webhookFastPath', env: 'WEBHOOK_FAST_PATH', flag: '--webhook-fast-path', arg: 'auto|off', help: 'auto: one native call verifies, parses and decides each webhook (embedded store, no delivery sink); off: the portable path (JSON.parse), e.g. to compare', default: 'auto', parse: oneOf<'auto' | 'off'>(['auto', 'off']) }),
  def({ key: 'allowUwsFallback', env: 'ALLOW_UWS_FALLBACK', flag: '--allow-uws-fallback', help: 'start even when uWebSockets.js runs on its slow JS shim', default: false, parse: bool, switch: true }),
  def({ key: 'workers', env: 'WORKERS', flag: '--workers', arg: 'N', help: 'threads serving the port (uWebSockets.js apps in worker_threads on one port, for hosts with more cores than one thread uses); more than 1 needs DEDUP_STORE=redis', default: 1, parse: int(1, MAX_WORKERS) }),
  def({ key: 'shutdownTimeoutSeconds', env: 'SHUTDOWN_TIMEOUT_SECONDS', flag: '--shutdown-timeout', arg: 'SECONDS', help: 'on SIGTERM/SIGINT, wait this long for in-flight work before exiting', default: 10, parse: float(0, 600) }),
  def({ key: 'signaturePreset', env: 'SIGNATURE_PRESET', flag: '--signature-preset', arg: SIGNATURE_PRESET_NAMES.join('|'), help: 'how senders sign webhooks: nice-data-action (X-NICE-Signature, hex over the body) or nice-expert (X-Nexus-Signature-256: sha256=<hex> over <timestamp>.<body>, X-Nexus-Timestamp, X-Nexus-Delivery-Id); the settings below override its parts', default: DEFAULT_SIGNATURE_PRESET, parse: oneOf<SignaturePresetName>(SIGNATURE_PRESET_NAMES) }),
  def({ key: 'signatureHeader', env: 'SIGNATURE_HEADER', flag: '--signature-header', arg: 'NAME', help: 'header carrying the HMAC-SHA256 signature', default: presetDefault('signatureHeader'), parse: headerName }),
  def({ key: 'signatureEncoding', env: 'SIGNATURE_ENCODING', flag: '--signature-encoding', arg: SIGNATURE_ENCODINGS.join('|'), help: 'hex: 64 hex digits, either case; base64: standard alphabet with = padding, 44 characters (base64url is refused)', default: presetDefault('signatureEncoding'), parse: oneOf<SignatureEncoding>(SIGNATURE_ENCODINGS) }),
  def({ key: 'signaturePrefix', env: 'SIGNATURE_PREFIX', flag: '--signature-prefix', arg: SIGNATURE_PREFIXES.join('|'), help: 'whether the signature starts with "sha256=": none (refused), optional, required (its absence or another prefix → 401)', default: presetDefault('signaturePrefix'), parse: oneOf<SignaturePrefix>(SIGNATURE_PREFIXES) }),
  def({ key: 'signedContent', env: 'SIGNED_CONTENT', flag: '--signed-content', arg: SIGNED_CONTENTS.join('|'), help: 'body: the raw body, or <timestamp>.<body> when the request carries the timestamp header; timestamp.body: always <timestamp>.<body>, the timestamp header required', default: presetDefault('signedContent'), parse: oneOf<SignedContent>(SIGNED_CONTENTS) }),
  def({ key: 'replayWindowSeconds', env: 'REPLAY_WINDOW_SECONDS', flag: '--replay-window', arg: 'SECONDS', help: 'reject signed timestamps older (or further ahead) than this; 0 = off', default: 300, parse: float(0, 7 * 24 * 3600) }),
  def({ key: 'timestampHeader', env: 'TIMESTAMP_HEADER', flag: '--timestamp-header', arg: 'NAME', help: 'header carrying the signed send time (see README, replay protection)', default: presetDefault('timestampHeader'), parse: headerName }),
  def({ key: 'requireTimestamp', env: 'REQUIRE_TIMESTAMP', flag: '--require-timestamp', help: 'refuse (401) webhooks without the signed timestamp header, so every accepted one is replay-checked (implied by SIGNED_CONTENT=timestamp.body)', default: false, parse: bool, switch: true }),
  def({ key: 'deliveryIdHeader', env: 'DELIVERY_ID_HEADER', flag: '--delivery-id-header', arg: 'NAME', help: 'header carrying the sender\'s delivery id, which DEDUP_KEY_FIELDS may use as deliveryId', default: presetDefault('deliveryIdHeader'), parse: headerName }),
  def({ key: 'influxUrl', env: 'INFLUX_URL', flag: '--influx-url', arg: 'URL', help: 'InfluxDB base URL; unset → metric export off', default: undefined, parse: httpUrl }),
  def({ key: 'influxToken', env: 'INFLUX_TOKEN', flag: '--influx-token', arg: 'TOKEN', help: 'InfluxDB API token (prefer the env var)', default: undefined, parse: optionalText(4096), secret: true }),
  def({ key: 'influxOrg', env: 'INFLUX_ORG', flag: '--influx-org', arg: 'ORG', help: 'InfluxDB organization', default: undefined, parse: optionalText(256) }),
  def({ key: 'influxBucket', env: 'INFLUX_BUCKET', flag: '--influx-bucket', arg: 'BUCKET', help: 'InfluxDB bucket', default: undefined, parse: optionalText(256) }),
  def({ key: 'influxEnvironment', env: 'INFLUX_ENVIRONMENT', flag: '--influx-environment', arg: 'NAME', help: 'value of the `environment` tag', default: 'production', parse: text(256) }),
  def({ key: 'metricsIntervalSeconds', env: 'METRICS_INTERVAL_SECONDS', flag: '--metrics-interval', arg: 'SECONDS', help: 'write a stats point this often', default: 10, parse: float(0.05, 24 * 3600) }),
  def({ key: 'influxMaxBufferLines', env: 'INFLUX_MAX_BUFFER_LINES', flag: '--influx-max-buffer-lines', arg: 'N', help: 'points held while InfluxDB is unreachable; beyond this the oldest are dropped (counted)', default: 50_000, parse: int(1, 10_000_000) }),
  def({ key: 'cxoneClientId', env: 'CXONE_CLIENT_ID', flag: '--cxone-client-id', arg: 'ID', help: 'OAuth client id; set → subscribe to data.action.updated at start', default: undefined, parse: optionalText(512) }),
  def({ key: 'cxoneClientSecret', env: 'CXONE_CLIENT_SECRET', flag: '--cxone-client-secret', arg: 'S', help: 'OAuth client secret (prefer the env var)', default: undefined, parse: optionalText(4096), secret: true }),
  def({ key: 'cxoneRegion', env: 'CXONE_REGION', flag: '--cxone-region', arg: 'HOST', help: 'CXone API host the token and API URLs derive from', default: 'api-us-1.cxone.com', parse: text(255, /^[A-Za-z0-9.-]+(:\d+)?$/, 'a host name') }),
  def({ key: 'cxoneTokenUrl', env: 'CXONE_TOKEN_URL', flag: '--cxone-token-url', arg: 'URL', help: 'OAuth token URL (overrides the one derived from the region)', default: undefined, parse: httpUrl }),
  def({ key: 'cxoneApiBase', env: 'CXONE_API_BASE', flag: '--cxone-api-base', arg: 'URL', help: 'CXone API base URL (overrides the one derived from the region)', default: undefined, parse: httpUrl }),
  def({ key: 'cxoneWebhookUrl', env: 'CXONE_WEBHOOK_URL', flag: '--cxone-webhook-url', arg: 'URL', help: 'public HTTPS URL CXone should deliver to (this daemon’s webhook path)', default: undefined, parse: httpUrl }),
  def({ key: 'snapshotPath', env: 'SNAPSHOT_PATH', flag: '--snapshot-path', arg: 'FILE', help: 'persist both Bloom generations and the state cache here (unset → no persistence)', default: undefined, parse: optionalText(4096) }),
  def({ key: 'snapshotIntervalSeconds', env: 'SNAPSHOT_INTERVAL_SECONDS', flag: '--snapshot-interval', arg: 'SECONDS', help: 'write a snapshot this often (and at shutdown)', default: 60, parse: float(0.05, 24 * 3600) }),
  def({ key: 'strictSnapshot', env: 'STRICT_SNAPSHOT', flag: '--strict-snapshot', help: 'refuse to start when the snapshot cannot be restored (default: log and start empty)', default: false, parse: bool, switch: true }),
  def({ key: 'deliveryUrl', env: 'DELIVERY_URL', flag: '--delivery-url', arg: 'URL', help: 'POST every delivered event here (http or https, redirects not followed); unset → no HTTP sink', default: undefined, parse: deliveryUrl }),
  def({ key: 'deliverySecret', env: 'DELIVERY_SECRET', flag: '--delivery-secret', arg: 'S', help: 'HMAC-SHA256 key for X-Dedup-Signature on deliveries, at least 16 characters (prefer the env var); unset → unsigned', default: undefined, parse: secret, secret: true }),
  def({ key: 'deliveryConcurrency', env: 'DELIVERY_CONCURRENCY', flag: '--delivery-concurrency', arg: 'N', help: 'deliveries in flight at once, per sink', default: 16, parse: int(1, 1024) }),
  def({ key: 'deliveryMaxAttempts', env: 'DELIVERY_MAX_ATTEMPTS', flag: '--delivery-max-attempts', arg: 'N', help: 'attempts per event before it goes to the dead-letter file', default: 20, parse: int(1, 1_000_000) }),
  def({ key: 'deliveryMaxAgeSeconds', env: 'DELIVERY_MAX_AGE_SECONDS', flag: '--delivery-max-age', arg: 'SECONDS', help: 'no retry starts later than this after the event was accepted; it goes to the dead-letter file instead', default: 86_400, parse: float(1, 365 * 24 * 3600) }),
  def({ key: 'deliveryTimeoutMs', env: 'DELIVERY_TIMEOUT_MS', flag: '--delivery-timeout-ms', arg: 'MS', help: 'one delivery attempt (connect, send, answer) is given up and retried after this', default: 10_000, parse: int(100, 600_000) }),
  def({ key: 'deliver', env: 'DELIVER', flag: '--deliver', arg: 'processed|updates', help: 'what is delivered: each event answered "processed" (first of its key), or each event that became its interaction\'s latest state', default: 'processed', parse: oneOf<DeliverMode>(DELIVER_MODES) }),
  def({ key: 'outboxDir', env: 'OUTBOX_DIR', flag: '--outbox-dir', arg: 'DIR', help: 'durable buffer of events to deliver (written before each 200; only with a sink); default ./cxone-dedup-outbox', default: undefined, parse: optionalText(4096) }),
  def({ key: 'outboxMaxBytes', env: 'OUTBOX_MAX_BYTES', flag: '--outbox-max-bytes', arg: 'N', help: 'bound on undelivered bytes in the outbox; when full, webhooks get 503 and /readyz says not ready', default: 1024 * 1024 * 1024, parse: int(1024 * 1024, Number.MAX_SAFE_INTEGER) }),
  def({ key: 'deliveryDeadLetterPath', env: 'DELIVERY_DEAD_LETTER_PATH', flag: '--delivery-dead-letter-path', arg: 'FILE', help: 'NDJSON file of events given up on; default dead-letter.ndjson in the outbox directory', default: undefined, parse: optionalText(4096) }),
  def({ key: 'redisUrl', env: 'REDIS_URL', flag: '--redis-url', arg: 'URL', help: 'redis://[user[:password]@]host[:port][/db] or rediss:// (TLS) of one Redis server (prefer the env var when it carries a password)', default: undefined, parse: redisUrl, secret: true }),
  def({ key: 'redisPassword', env: 'REDIS_PASSWORD', flag: '--redis-password', arg: 'S', help: 'Redis password when REDIS_URL carries none, and for REDIS_CLUSTER_NODES (prefer the env var)', default: undefined, parse: redisPassword, secret: true }),
  def({ key: 'redisClusterNodes', env: 'REDIS_CLUSTER_NODES', flag: '--redis-cluster-nodes', arg: 'LIST', help: 'Redis Cluster nodes to discover the cluster from: host:port,... (or redis[s]://[user@]host:port,... for TLS or an ACL user); instead of REDIS_URL', default: undefined, parse: redisClusterNodes }),
  def({ key: 'redisKeyPrefix', env: 'REDIS_KEY_PREFIX', flag: '--redis-key-prefix', arg: 'PREFIX', help: 'prefix of every Redis key (printable ASCII, no spaces or braces); deployments sharing it share the window and states', default: DEFAULT_KEY_PREFIX, parse: parseKeyPrefix }),
  def({ key: 'redisTimeoutMs', env: 'REDIS_TIMEOUT_MS', flag: '--redis-timeout', arg: 'MS', help: 'bound on every Redis command, queue wait included; past it the command fails as unavailable', default: 1000, parse: int(1, 60_000) }),
  def({ key: 'stateTtlSeconds', env: 'STATE_TTL_SECONDS', flag: '--state-ttl', arg: 'SECONDS', help: 'a state kept in Redis expires this long after its last update', default: 86_400, parse: int(1, 366 * 86_400) }),
  def({ key: 'dedupStore', env: 'DEDUP_STORE', flag: '--dedup-store', arg: 'memory|redis', help: 'where the dedup window and the latest states live: this process (memory), or Redis, shared by every replica that uses the same Redis and key prefix (needs REDIS_URL or REDIS_CLUSTER_NODES)', default: 'memory', parse: oneOf<DedupStoreKind>(['memory', 'redis']) }),
  def({ key: 'redisFailurePolicy', env: 'REDIS_FAILURE_POLICY', flag: '--redis-failure-policy', arg: 'reject|local', help: 'with DEDUP_STORE=redis, when Redis cannot answer in time: reject (503 with Retry-After, nothing recorded) or local (decide on this replica\'s own window, counted as events_decided_locally)', default: 'reject', parse: oneOf<RedisFailurePolicy>(['reject', 'local']) }),
  def({ key: 'deliveryRedisStream', env: 'DELIVERY_REDIS_STREAM', flag: '--delivery-redis-stream', arg: 'NAME', help: 'XADD every delivered event to this Redis stream (fields id, status, event) before its 200; in Redis Cluster <NAME>:{p0}..{p15}; unset → no stream sink', default: undefined, parse: streamName }),
  def({ key: 'deliveryRedisMaxLen', env: 'DELIVERY_REDIS_MAXLEN', flag: '--delivery-redis-maxlen', arg: 'N', help: 'trim the stream to about this many entries (XADD MAXLEN ~)', default: 1_000_000, parse: int(1, Number.MAX_SAFE_INTEGER) }),
];

export function defaultConfig(): Config {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) out[s.key] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out as unknown as Config;
}

/**
 * Parses one raw value into `out`; returns the problem (naming the setting, never echoing a secret)
 * or undefined. A non-empty valid value counts as given (it overrides the preset's part).
 */
function applySetting(out: Record<string, unknown>, s: Setting, raw: string, source: string, given: Set<keyof Config>): string | undefined {
  try {
    out[s.key] = s.parse(raw);
    if (raw.trim() !== '') given.add(s.key);
    return undefined;
  } catch (err) {
    const shown = s.secret ? '' : `, got ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw)}`;
    return `${s.env} (${s.flag}) ${(err as Error).message}${shown} [from ${source}]`;
  }
}

function flagOf(arg: string): Setting | undefined {
  const eq = arg.indexOf('=');
  const name = eq === -1 ? arg : arg.slice(0, eq);
  return SETTINGS.find((x) => x.flag === name);
}

/**
 * Builds the configuration from environment variables, then flags (`--name value` or
 * `--name=value`). Throws one ConfigError listing every problem: each bad value (naming its
 * variable and flag), each unknown or incomplete flag, and each combination that does not fit
 * among the values that are themselves valid.
 */
export function loadConfig(env: NodeJS.ProcessEnv, argv: readonly string[] = []): Config {
  const out = defaultConfig() as unknown as Record<string, unknown>;
  const problems: string[] = [];
  /** Settings with a bad value somewhere: combinations that read them are not judged. */
  const invalid = new Set<keyof Config>();
  const given = new Set<keyof Config>();
  const apply = (s: Setting, raw: string, source: string) => {
    const problem = applySetting(out, s, raw, source, given);
    if (problem === undefined) return;
    problems.push(problem);
    invalid.add(s.key);
  };
  for (const s of SETTINGS) {
    const raw = env[s.env];
    if (raw !== undefined) apply(s, raw, 'environment');
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument ${JSON.stringify(arg.slice(0, 80))}; see --help`);
      continue;
    }
    const eq = arg.indexOf('=');
    const s = flagOf(arg);
    if (s === undefined) {
      problems.push(`unknown option ${JSON.stringify((eq === -1 ? arg : arg.slice(0, eq)).slice(0, 80))}; see --help`);
      continue;
    }
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (s.switch) raw = 'true';
    else {
      const next = argv[i + 1];
      // `--port --host x`: the next option is not this one's value.
      if (next === undefined || (next.startsWith('--') && flagOf(next) !== undefined)) {
        problems.push(`${s.env} (${s.flag}) needs a value (${s.flag} ${s.arg ?? 'value'}) [from command line]`);
        invalid.add(s.key);
        continue;
      }
      raw = next;
      i++;
    }
    apply(s, raw, 'command line');
  }
  const config = out as unknown as Config;
  if (!SIGNING_SETTINGS.some((k) => invalid.has(k))) {
    try {
      resolveSignatureSettings(config, given);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      for (const k of SIGNING_SETTINGS) invalid.add(k);
    }
  }
  for (const c of COMBINATIONS) {
    if (c.uses.some((k) => invalid.has(k))) continue;
    const problem = c.check(config);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The signature settings, as `cxone-dedup sign/send` read them too. */
export type SigningSettings = Pick<
  Config,
  'signaturePreset' | 'signatureHeader' | 'signatureEncoding' | 'signaturePrefix' | 'signedContent' | 'timestampHeader' | 'requireTimestamp' | 'deliveryIdHeader'
>;

// Which parts came from the preset: kept beside the settings for messages, not a setting itself.
const FROM_PRESET = new WeakMap<object, ReadonlySet<string>>();

/** " (from SIGNATURE_PRESET=…)" when a value came from the preset, for messages. */
function presetOrigin(c: SigningSettings, key: PresetPart): string {
  return FROM_PRESET.get(c)?.has(key) ? ` (from SIGNATURE_PRESET=${c.signaturePreset})` : '';
}

/**
 * Fills what was not given from SIGNATURE_PRESET, applies what SIGNED_CONTENT implies, and
 * refuses contradictions: REQUIRE_TIMESTAMP=0 with timestamp.body, one header for two things, a
 * header HTTP itself uses.
 */
function resolveSignatureSettings(c: SigningSettings, given: ReadonlySet<keyof Config>): void {
  const preset = SIGNATURE_PRESETS[c.signaturePreset];
  const fromPreset = new Set<string>();
  const out = c as unknown as Record<string, unknown>;
  for (const key of Object.keys(PRESET_PARTS) as PresetPart[]) {
    if (given.has(key)) continue;
    out[key] = PRESET_PARTS[key](preset);
    fromPreset.add(key);
  }
  FROM_PRESET.set(c, fromPreset);
  if (c.signedContent === 'timestamp.body') {
    if (given.has('requireTimestamp') && !c.requireTimestamp) {
      throw new ConfigError(
        `REQUIRE_TIMESTAMP (--require-timestamp) is off, but SIGNED_CONTENT=timestamp.body${presetOrigin(c, 'signedContent')} signs <timestamp>.<body>, so every request needs the timestamp; ` +
          'drop REQUIRE_TIMESTAMP, or set SIGNED_CONTENT=body to accept signatures over the body alone',
      );
    }
    c.requireTimestamp = true;
  }
  const headers: Array<[string, string | undefined]> = [
    ['SIGNATURE_HEADER', c.signatureHeader],
    ['TIMESTAMP_HEADER', c.timestampHeader],
    ['DELIVERY_ID_HEADER', c.deliveryIdHeader],
  ];
  for (const [i, [name, value]] of headers.entries()) {
    if (value === undefined) continue;
    if (RESERVED_HEADERS.has(value)) throw new ConfigError(`${name} must not be ${value}: HTTP itself uses that header`);
    const twin = headers.slice(0, i).find(([, v]) => v === value);
    if (twin !== undefined) throw new ConfigError(`${twin[0]} and ${name} are both ${headerDisplayName(value)}: one header cannot carry both`);
  }
}

/** The scheme RequestVerifier and the signing tools take, from resolved settings. */
export function signatureScheme(c: SigningSettings): SignatureScheme {
  return { header: c.signatureHeader, encoding: c.signatureEncoding, prefix: c.signaturePrefix, signedContent: c.signedContent, timestampHeader: c.timestampHeader };
}

/** What the signature preset resolution reads: judged only when all of it is valid. */
const SIGNING_SETTINGS: ReadonlyArray<keyof Config> = ['signaturePreset', 'signatureHeader', 'signatureEncoding', 'signaturePrefix', 'signedContent', 'timestampHeader', 'requireTimestamp', 'deliveryIdHeader'];

const SIGNING_KEYS: ReadonlySet<keyof Config> = new Set<keyof SigningSettings>([
  'signaturePreset',
  'signatureHeader',
  'signatureEncoding',
  'signaturePrefix',
  'signedContent',
  'timestampHeader',
  'requireTimestamp',
  'deliveryIdHeader',
]);

/** The flags of the signature settings (`--signature-preset`, …), for the tools that share them; `switch`: takes no value. */
export const SIGNING_FLAGS: ReadonlyArray<{ flag: string; arg: string | undefined; switch: boolean }> = SETTINGS.filter((s) => SIGNING_KEYS.has(s.key)).map((s) => ({
  flag: s.flag,
  arg: s.arg,
  switch: s.switch === true,
}));

/**
 * The signature settings alone, from the environment and `flags` (name → value, e.g.
 * `{'--signature-preset': 'nice-expert'}`), validated as the daemon validates them, so
 * `cxone-dedup sign/send` produce what a daemon with the same settings accepts. The replay window
 * and the key fields are the daemon's business and are not read. Throws ConfigError.
 */
export function loadSigningSettings(env: NodeJS.ProcessEnv, flags: Readonly<Record<string, string>> = {}): SigningSettings {
  const rows = SETTINGS.filter((s) => SIGNING_KEYS.has(s.key));
  const out: Record<string, unknown> = {};
  const given = new Set<keyof Config>();
  for (const s of rows) out[s.key] = s.default;
  const problems: string[] = [];
  for (const s of rows) {
    const raw = env[s.env];
    const problem = raw === undefined ? undefined : applySetting(out, s, raw, 'environment', given);
    if (problem !== undefined) problems.push(problem);
  }
  for (const [flag, raw] of Object.entries(flags)) {
    const s = rows.find((r) => r.flag === flag);
    const problem = s === undefined ? `unknown option ${JSON.stringify(flag.slice(0, 80))}` : applySetting(out, s, raw, 'command line', given);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const settings = out as unknown as SigningSettings;
  resolveSignatureSettings(settings, given);
  return settings;
}

/** Settings that must fit together; each is judged only when the settings it reads are valid. */
const COMBINATIONS: ReadonlyArray<{ uses: ReadonlyArray<keyof Config>; check: (c: Config) => string | undefined }> = [
  {
    uses: ['dedupCapacity', 'dedupErrorRate'],
    check: (c) => {
      try {
        computeBloomParams(c.dedupCapacity, c.dedupErrorRate);
        return undefined;
      } catch (err) {
        return `DEDUP_CAPACITY (--dedup-capacity) and DEDUP_ERROR_RATE (--dedup-error-rate) give an impossible filter: ${(err as Error).message}`;
      }
    },
  },
  {
    uses: ['signedContent', 'replayWindowSeconds', 'signaturePreset'],
    check: (c) =>
      c.signedContent === 'timestamp.body' && c.replayWindowSeconds === 0
        ? `SIGNED_CONTENT=timestamp.body${presetOrigin(c, 'signedContent')} requires the timestamp header, and a required timestamp needs a replay window, ` +
          'but REPLAY_WINDOW_SECONDS (--replay-window) is 0; set a window (default 300), or SIGNED_CONTENT=body to check signed timestamps without an age limit'
        : undefined,
  },
  {
    uses: ['requireTimestamp', 'replayWindowSeconds'],
    // Judged only when SIGNED_CONTENT did not imply REQUIRE_TIMESTAMP (its own check above says it better).
    check: (c) =>
      c.requireTimestamp && c.replayWindowSeconds === 0 && c.signedContent !== 'timestamp.body'
        ? 'REQUIRE_TIMESTAMP (--require-timestamp) needs a replay window, but REPLAY_WINDOW_SECONDS (--replay-window) is 0'
        : undefined,
  },
  {
    uses: ['dedupKeyFields', 'deliveryIdHeader', 'signaturePreset'],
    check: (c) =>
      keyNeedsDeliveryId(c.dedupKeyFields) && c.deliveryIdHeader === undefined
        ? `DEDUP_KEY_FIELDS (--dedup-key-fields) uses deliveryId, but SIGNATURE_PRESET=${c.signaturePreset} has no delivery-id header: ` +
          'set DELIVERY_ID_HEADER (--delivery-id-header), or SIGNATURE_PRESET=nice-expert (X-Nexus-Delivery-Id)'
        : undefined,
  },
  {
    uses: ['influxUrl', 'influxOrg', 'influxBucket'],
    check: (c) =>
      c.influxUrl !== undefined && (c.influxOrg === undefined || c.influxBucket === undefined) ? 'INFLUX_URL (--influx-url) is set, so INFLUX_ORG and INFLUX_BUCKET must be set too' : undefined,
  },
  {
    uses: ['deliverySecret', 'deliveryUrl'],
    check: (c) =>
      c.deliverySecret !== undefined && c.deliveryUrl === undefined ? 'DELIVERY_SECRET is set, so DELIVERY_URL (--delivery-url) must be set too (the secret signs HTTP deliveries)' : undefined,
  },
  {
    uses: ['cxoneClientId', 'cxoneClientSecret'],
    check: (c) => (c.cxoneClientId !== undefined && c.cxoneClientSecret === undefined ? 'CXONE_CLIENT_ID is set, so CXONE_CLIENT_SECRET (--cxone-client-secret) must be set too' : undefined),
  },
  {
    uses: ['cxoneClientId', 'cxoneWebhookUrl'],
    check: (c) => (c.cxoneClientId !== undefined && c.cxoneWebhookUrl === undefined ? 'CXONE_CLIENT_ID is set, so CXONE_WEBHOOK_URL (--cxone-webhook-url) must be set too' : undefined),
  },
  {
    uses: ['cxoneClientId', 'webhookSecret'],
    check: (c) =>
      c.cxoneClientId !== undefined && c.webhookSecret === undefined
        ? 'CXONE_CLIENT_ID is set, so CXONE_WEBHOOK_SECRET must be set too (an ephemeral secret would not survive a restart)'
        : undefined,
  },
  {
    uses: ['redisUrl', 'redisClusterNodes', 'redisPassword'],
    check: (c) => {
      if (c.redisUrl === undefined && c.redisClusterNodes === undefined) {
        return c.redisPassword !== undefined ? 'REDIS_PASSWORD (--redis-password) is set, but neither REDIS_URL nor REDIS_CLUSTER_NODES' : undefined;
      }
      try {
        resolveTarget(c.redisUrl, c.redisClusterNodes, c.redisPassword);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
  },
  {
    uses: ['dedupStore', 'redisUrl', 'redisClusterNodes'],
    check: (c) =>
      c.dedupStore === 'redis' && c.redisUrl === undefined && c.redisClusterNodes === undefined
        ? 'DEDUP_STORE=redis (--dedup-store) needs REDIS_URL (one server) or REDIS_CLUSTER_NODES (Redis Cluster): the replicas share their dedup window and states there'
        : undefined,
  },
  {
    uses: ['deliveryRedisStream', 'redisUrl', 'redisClusterNodes'],
    check: (c) =>
      c.deliveryRedisStream !== undefined && c.redisUrl === undefined && c.redisClusterNodes === undefined
        ? 'DELIVERY_REDIS_STREAM (--delivery-redis-stream) needs REDIS_URL (one server) or REDIS_CLUSTER_NODES (Redis Cluster): the stream lives there'
        : undefined,
  },
  {
    uses: ['dedupStore', 'redisClusterNodes', 'dedupKeyFields'],
    check: (c) =>
      c.dedupStore === 'redis' && c.redisClusterNodes !== undefined && !c.dedupKeyFields.includes('interactionId')
        ? `DEDUP_KEY_FIELDS=${c.dedupKeyFields.join(',')} (--dedup-key-fields) with DEDUP_STORE=redis on Redis Cluster: a dedup key without interactionId spans interactions, ` +
          'so it lives in another slot than their states and one script could not decide and update the state atomically; add interactionId to the key fields, or use one Redis server (REDIS_URL)'
        : undefined,
  },
  {
    uses: ['workers', 'dedupStore'],
    check: (c) =>
      c.workers > 1 && c.dedupStore === 'memory'
        ? `WORKERS=${c.workers} (--workers) needs DEDUP_STORE=redis: the memory store's dedup window lives in each thread, so a repeat that reached another thread would be processed again. ` +
          'Set DEDUP_STORE=redis and REDIS_URL (a redis-server on this host will do; every thread then shares one window), or run WORKERS=1'
        : undefined,
  },
  {
    uses: ['workers', 'snapshotPath', 'dedupStore'],
    // Judged only with the Redis store (the memory store is refused above, which says it better).
    check: (c) =>
      c.workers > 1 && c.snapshotPath !== undefined && c.dedupStore === 'redis'
        ? `SNAPSHOT_PATH (--snapshot-path) with WORKERS=${c.workers} (--workers): with DEDUP_STORE=redis the window and the states live in Redis, which keeps them across restarts (appendonly yes); ` +
          'a snapshot could only hold the threads\' local fallback windows, one per thread. Unset SNAPSHOT_PATH (or run WORKERS=1)'
        : undefined,
  },
  {
    uses: ['dedupStore', 'redisFailurePolicy', 'deliveryRedisStream'],
    check: (c) =>
      c.dedupStore === 'redis' && c.redisFailurePolicy === 'local' && c.deliveryRedisStream !== undefined
        ? 'REDIS_FAILURE_POLICY=local (--redis-failure-policy) cannot keep DELIVERY_REDIS_STREAM\'s promise: a 200 only after the event is in the stream, which needs Redis; ' +
          'with Redis down a local decision could not append it. Use REDIS_FAILURE_POLICY=reject, or deliver through DELIVERY_URL'
        : undefined,
  },
];

/** The `--help` text of the settings, one block per setting. */
export function settingsHelp(): string {
  const lines: string[] = [];
  for (const s of SETTINGS) {
    const flag = s.arg ? `${s.flag} ${s.arg}` : s.flag;
    const dflt = isPresetPart(s.key)
      ? ` (default: from SIGNATURE_PRESET; ${SIGNATURE_PRESET_NAMES.map((n) => `${n}: ${PRESET_PARTS[s.key as PresetPart](SIGNATURE_PRESETS[n]) ?? 'none'}`).join(', ')})`
      : s.secret || s.default === undefined
        ? ''
        : ` (default: ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`;
    lines.push(`  ${flag.padEnd(40)} ${s.env}`);
    lines.push(`  ${''.padEnd(40)} ${s.help}${dflt}`);
  }
  return lines.join('\n');
}

/** A copy safe to log: secrets replaced by a marker saying whether they are set. */
export function redactedConfig(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const v = c[s.key];
    out[s.key] = s.secret ? (v === undefined ? 'unset' : 'set') : v;
  }
  return out;
}
