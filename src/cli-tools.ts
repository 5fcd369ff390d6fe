/**
 * The argv runners of the CLI's developer tools (`subscribe`, `sign`, `send`): parse flags, call
 * the library functions of src/cxone/tools.ts, print. Each returns an exit code: 0 success, 1 the
 * operation failed, 2 bad input.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadSigningSettings, signatureScheme, SIGNING_FLAGS, type SigningSettings } from './config.js';
import type { FetchLike } from './cxone/http.js';
import { send, sign, subscribe, ToolError, type Env, type EventFields } from './cxone/tools.js';
import { WebhookRegistrationError } from './cxone/webhooks.js';
import { EPHEMERAL_SECRET_FILE, readEphemeralSecret } from './ephemeral-secret.js';
import { silentLogger, type Logger } from './log.js';

export interface ToolIO {
  stdin: AsyncIterable<Uint8Array | string>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Env;
  /** Where a daemon without CXONE_WEBHOOK_SECRET leaves its ephemeral secret; default process.cwd(). */
  cwd?: string;
  signal?: AbortSignal;
  fetch?: FetchLike;
  logger?: Logger;
}

/** The daemon's signature flags, which sign and send take too (with the same environment variables). */
const SIGNING_USAGE = SIGNING_FLAGS.map((f) => `[${f.flag}${f.switch ? '' : ` ${f.arg}`}]`).join(' ');

function wrap(text: string, indent: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => indent + l).join('\n');
}

const SIGNING_HELP = `Signature settings (as for the daemon: flags, else SIGNATURE_PRESET, SIGNATURE_HEADER,
SIGNATURE_ENCODING, SIGNATURE_PREFIX, SIGNED_CONTENT, TIMESTAMP_HEADER, REQUIRE_TIMESTAMP,
DELIVERY_ID_HEADER from the environment; \`cxone-dedup --help\` explains each):
${wrap(SIGNING_USAGE, '  ')}`;

export const TOOL_USAGE = {
  subscribe: `Usage: cxone-dedup subscribe [--max-attempts N] [--timeout-ms MS]
Registers the data.action.updated webhook with CXone using CXONE_CLIENT_ID, CXONE_CLIENT_SECRET,
CXONE_WEBHOOK_URL, CXONE_WEBHOOK_SECRET (and CXONE_REGION / CXONE_TOKEN_URL / CXONE_API_BASE).
Exit 0 when created or already registered.`,
  sign: `Usage: cxone-dedup sign [--secret S] [--timestamp UNIX_SECONDS] [signature settings] < body.json
Prints the signature header's value (X-NICE-Signature by default) for the exact bytes on stdin
(a trailing newline counts). A scheme that signs <timestamp>.<body> needs --timestamp.
The secret defaults to CXONE_WEBHOOK_SECRET (flags are visible in \`ps\`), else the ephemeral
secret of a daemon started here without one (${EPHEMERAL_SECRET_FILE}).
${SIGNING_HELP}`,
  send: `Usage: cxone-dedup send --url URL [--secret S] [--file events.ndjson | event flags]
                        [--count N] [--timestamp] [--delivery-id ID] [--timeout-ms MS] [signature settings]
Event flags: --interaction-id ID --data-action-id ID --updated-timestamp ISO --payload JSON
Posts signed events to a running daemon and prints "<n> <status> <body>" per response.
The timestamp header is added with --timestamp, and always when the scheme signs
<timestamp>.<body> or REQUIRE_TIMESTAMP is on; the delivery-id header whenever the scheme has one
(a random id per event, kept by its --count repeats, unless --delivery-id gives one).
The secret defaults to CXONE_WEBHOOK_SECRET, else the ephemeral secret of a daemon started here
without one (${EPHEMERAL_SECRET_FILE}). Exit 0 when every response is 2xx.
${SIGNING_HELP}`,
} as const;

/** parseArgs options for the signature flags. */
const SIGNING_OPTIONS: Record<string, { type: 'string' | 'boolean' }> = Object.fromEntries(
  SIGNING_FLAGS.map((f) => [f.flag.slice(2), { type: f.switch ? ('boolean' as const) : ('string' as const) }]),
);

type Parsed = ReturnType<typeof parseArgs<{ options: Record<string, { type: 'string' | 'boolean' }>; strict: true; allowPositionals: false }>>['values'];

function parse(argv: string[], options: Record<string, { type: 'string' | 'boolean' }>): Parsed {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ToolError(err instanceof Error ? err.message : String(err));
  }
}

function str(values: Parsed, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function positiveInt(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) throw new ToolError(`${flag} must be a whole number >= 1`);
  return Number(raw);
}

/** The signature settings from the signature flags and `env`, validated as the daemon validates them. */
function signingSettings(values: Parsed, env: Env): SigningSettings {
  const flags: Record<string, string> = {};
  for (const f of SIGNING_FLAGS) {
    const v = values[f.flag.slice(2)];
    if (typeof v === 'string') flags[f.flag] = v;
    else if (v === true) flags[f.flag] = 'true';
  }
  try {
    return loadSigningSettings(env, flags);
  } catch (err) {
    if (err instanceof ConfigError) throw new ToolError(err.message);
    throw err;
  }
}

async function runTool(name: keyof typeof TOOL_USAGE, io: ToolIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ToolError) {
      io.stderr(`cxone-dedup ${name}: ${err.message}\n${TOOL_USAGE[name]}\n`);
      return 2;
    }
    io.stderr(`cxone-dedup ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

export function runSubscribe(argv: string[], io: ToolIO): Promise<number> {
  return runTool('subscribe', io, async () => {
    const v = parse(argv, { 'max-attempts': { type: 'string' }, 'timeout-ms': { type: 'string' } });
    if (v.help) {
      io.stdout(`${TOOL_USAGE.subscribe}\n`);
      return 0;
    }
    const maxAttempts = positiveInt(str(v, 'max-attempts'), '--max-attempts');
    const requestTimeoutMs = positiveInt(str(v, 'timeout-ms'), '--timeout-ms');
    try {
      const r = await subscribe({
        env: io.env,
        ...(io.signal && { signal: io.signal }),
        ...(io.fetch && { fetch: io.fetch }),
        logger: io.logger ?? silentLogger,
        ...(maxAttempts !== undefined && { maxAttempts }),
        ...(requestTimeoutMs !== undefined && { requestTimeoutMs }),
        onRetry: (info) =>
          io.stderr(`attempt ${info.attempt}/${info.maxAttempts} failed: ${info.reason}; retrying in ${(info.delayMs / 1000).toFixed(1)} s\n`),
      });
      const what = r.outcome === 'created' ? `webhook subscription created${r.webhookId ? ` (id ${r.webhookId})` : ''}` : 'webhook subscription already exists';
      io.stdout(`${what}: HTTP ${r.status} after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}\n`);
      return 0;
    } catch (err) {
      if (err instanceof WebhookRegistrationError && err.code === 'invalid_options') throw new ToolError(err.message);
      throw err;
    }
  });
}

/** --secret, else CXONE_WEBHOOK_SECRET, else the ephemeral secret of a daemon started in this directory. */
function secretFor(v: Parsed, io: ToolIO): string {
  const given = str(v, 'secret') ?? io.env.CXONE_WEBHOOK_SECRET;
  if (given !== undefined) return given;
  const ephemeral = readEphemeralSecret(io.cwd);
  if (ephemeral === undefined) return '';
  io.stderr(`using the ephemeral secret of the daemon started in this directory (${EPHEMERAL_SECRET_FILE})\n`);
  return ephemeral;
}

export function runSign(argv: string[], io: ToolIO): Promise<number> {
  return runTool('sign', io, async () => {
    const v = parse(argv, { secret: { type: 'string' }, timestamp: { type: 'string' }, ...SIGNING_OPTIONS });
    if (v.help) {
      io.stdout(`${TOOL_USAGE.sign}\n`);
      return 0;
    }
    const settings = signingSettings(v, io.env);
    const timestamp = str(v, 'timestamp');
    const signature = await sign({
      secret: secretFor(v, io),
      input: io.stdin,
      scheme: signatureScheme(settings),
      requireTimestamp: settings.requireTimestamp,
      ...(timestamp !== undefined && { timestamp }),
    });
    io.stdout(`${signature}\n`);
    return 0;
  });
}

export function runSend(argv: string[], io: ToolIO): Promise<number> {
  return runTool('send', io, async () => {
    const v = parse(argv, {
      url: { type: 'string' },
      secret: { type: 'string' },
      file: { type: 'string' },
      count: { type: 'string' },
      timestamp: { type: 'boolean' },
      'delivery-id': { type: 'string' },
      'timeout-ms': { type: 'string' },
      ...SIGNING_OPTIONS,
      'interaction-id': { type: 'string' },
      'data-action-id': { type: 'string' },
      'updated-timestamp': { type: 'string' },
      payload: { type: 'string' },
    });
    if (v.help) {
      io.stdout(`${TOOL_USAGE.send}\n`);
      return 0;
    }
    const url = str(v, 'url');
    if (!url) throw new ToolError('--url is required');
    const settings = signingSettings(v, io.env);
    const fields: EventFields = {};
    const interactionId = str(v, 'interaction-id');
    const dataActionId = str(v, 'data-action-id');
    const updatedTimestamp = str(v, 'updated-timestamp');
    const payloadRaw = str(v, 'payload');
    if (interactionId !== undefined) fields.interactionId = interactionId;
    if (dataActionId !== undefined) fields.dataActionId = dataActionId;
    if (updatedTimestamp !== undefined) fields.updatedTimestamp = updatedTimestamp;
    if (payloadRaw !== undefined) {
      let payload: unknown;
      try {
        payload = JSON.parse(payloadRaw);
      } catch {
        throw new ToolError('--payload must be a JSON object, e.g. --payload \'{"status":"open"}\'');
      }
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new ToolError('--payload must be a JSON object');
      fields.payload = payload as Record<string, unknown>;
    }
    const file = str(v, 'file');
    const count = positiveInt(str(v, 'count'), '--count');
    const timeoutMs = positiveInt(str(v, 'timeout-ms'), '--timeout-ms');
    const deliveryId = str(v, 'delivery-id');
    const results = await send({
      url,
      secret: secretFor(v, io),
      ...(file !== undefined && { file }),
      ...(Object.keys(fields).length > 0 && { event: fields }),
      ...(count !== undefined && { count }),
      ...(v.timestamp === true && { timestamp: true }),
      scheme: signatureScheme(settings),
      requireTimestamp: settings.requireTimestamp,
      ...(settings.deliveryIdHeader !== undefined && { deliveryIdHeader: settings.deliveryIdHeader }),
      ...(deliveryId !== undefined && { deliveryId }),
      ...(timeoutMs !== undefined && { requestTimeoutMs: timeoutMs }),
      ...(io.fetch && { fetch: io.fetch }),
      ...(io.signal && { signal: io.signal }),
      onResponse: (r) => io.stdout(`${r.index} ${r.status} ${r.body.replace(/\s*\n\s*/g, ' ').trim()}\n`),
    });
    return results.every((r) => r.ok) ? 0 : 1;
  });
}
