/**
 * The argv runners of the CLI's developer tools (`subscribe`, `sign`, `send`): parse flags, call
 * the library functions of src/cxone/tools.ts, print. Each returns an exit code: 0 success, 1 the
 * operation failed, 2 bad input.
 */
import { parseArgs } from 'node:util';
import type { FetchLike } from './cxone/http.js';
import { send, sign, subscribe, ToolError, type Env, type EventFields } from './cxone/tools.js';
import { WebhookRegistrationError } from './cxone/webhooks.js';
import { silentLogger, type Logger } from './log.js';

export interface ToolIO {
  stdin: AsyncIterable<Uint8Array | string>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Env;
  signal?: AbortSignal;
  fetch?: FetchLike;
  logger?: Logger;
}

export const TOOL_USAGE = {
  subscribe: `Usage: cxone-dedup subscribe [--max-attempts N] [--timeout-ms MS]
Registers the data.action.updated webhook with CXone using CXONE_CLIENT_ID, CXONE_CLIENT_SECRET,
CXONE_WEBHOOK_URL, CXONE_WEBHOOK_SECRET (and CXONE_REGION / CXONE_TOKEN_URL / CXONE_API_BASE).
Exit 0 when created or already registered.`,
  sign: `Usage: cxone-dedup sign [--secret S] [--timestamp UNIX_SECONDS] < body.json
Prints the X-NICE-Signature of the exact bytes on stdin (a trailing newline counts).
The secret defaults to CXONE_WEBHOOK_SECRET (flags are visible in \`ps\`).`,
  send: `Usage: cxone-dedup send --url URL [--secret S] [--file events.ndjson | event flags]
                        [--count N] [--timestamp] [--timestamp-header NAME] [--timeout-ms MS]
Event flags: --interaction-id ID --data-action-id ID --updated-timestamp ISO --payload JSON
Posts signed events to a running daemon and prints "<n> <status> <body>" per response.
The secret defaults to CXONE_WEBHOOK_SECRET. Exit 0 when every response is 2xx.`,
} as const;

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

export function runSign(argv: string[], io: ToolIO): Promise<number> {
  return runTool('sign', io, async () => {
    const v = parse(argv, { secret: { type: 'string' }, timestamp: { type: 'string' } });
    if (v.help) {
      io.stdout(`${TOOL_USAGE.sign}\n`);
      return 0;
    }
    const timestamp = str(v, 'timestamp');
    const signature = await sign({
      secret: str(v, 'secret') ?? io.env.CXONE_WEBHOOK_SECRET ?? '',
      input: io.stdin,
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
      'timestamp-header': { type: 'string' },
      'timeout-ms': { type: 'string' },
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
    const timestampHeader = str(v, 'timestamp-header');
    const results = await send({
      url,
      secret: str(v, 'secret') ?? io.env.CXONE_WEBHOOK_SECRET ?? '',
      ...(file !== undefined && { file }),
      ...(Object.keys(fields).length > 0 && { event: fields }),
      ...(count !== undefined && { count }),
      ...(v.timestamp === true && { timestamp: true }),
      ...(timestampHeader !== undefined && { timestampHeader }),
      ...(timeoutMs !== undefined && { requestTimeoutMs: timeoutMs }),
      ...(io.fetch && { fetch: io.fetch }),
      ...(io.signal && { signal: io.signal }),
      onResponse: (r) => io.stdout(`${r.index} ${r.status} ${r.body.replace(/\s*\n\s*/g, ' ').trim()}\n`),
    });
    return results.every((r) => r.ok) ? 0 : 1;
  });
}
