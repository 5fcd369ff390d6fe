/**
 * The Lua scripts behind the store. Each runs atomically on the server, so a decision, the key's
 * TTL, the latest state and (optionally) the stream entry change together or not at all.
 *
 * Values of a dedup key: `1` = remembered; `c:<token>` = claimed by a two-phase caller (begin),
 * not yet remembered. The interaction's claim key holds `<token>` while one of its events is held.
 * State hash: `e` epoch seconds, `l` leap (0/1), `n` nanoseconds, `b` the event's bytes.
 *
 * Instants compare exactly as compareTimestamps does: (epochSeconds, leap, nanos) in that order.
 * Lua numbers are doubles; epoch seconds of years 0000-9999 (|x| < 2^38) and nanos (< 2^30) are
 * integers far below 2^53, so the comparison is exact.
 *
 * State codes returned by the scripts: 0 = stale (older than the state: not written),
 * 1 = unchanged (same instant, same bytes: TTL refreshed), 2 = advanced (newer, no state yet, or
 * same instant with different bytes: written, the later arrival wins the tie).
 *
 * Writes come after every read, and the XADD is the first write: a script that fails half-way (an
 * error reply from XADD, out of memory at the first write) has changed nothing (Redis does not
 * roll back).
 */
import { createHash } from 'node:crypto';
import type { RedisArg, RedisConnection, ReplyMode } from './connection.js';

const PRELUDE = `
local function judge(skey, e, l, n, body)
  local cur = redis.call('HMGET', skey, 'e', 'l', 'n')
  if not cur[1] then return 2 end
  local ce, cl, cn = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
  if e ~= ce then if e > ce then return 2 else return 0 end end
  if l ~= cl then if l > cl then return 2 else return 0 end end
  if n ~= cn then if n > cn then return 2 else return 0 end end
  if redis.call('HGET', skey, 'b') == body then return 1 end
  return 2
end
local function apply(skey, code, ttl, e, l, n, body)
  if code == 2 then
    redis.call('HSET', skey, 'e', e, 'l', l, 'n', n, 'b', body)
    redis.call('PEXPIRE', skey, ttl)
  elseif code == 1 then
    redis.call('PEXPIRE', skey, ttl)
  end
end
local function claimed(v)
  return v and string.sub(v, 1, 2) == 'c:'
end
-- Decided at once (observe, or begin without a hold): remembers the key (a duplicate's TTL
-- refreshed) and applies the state. Returns the stored bytes when a new key's event is stale
-- (its answer carries the newer state), else false. Reads before it writes.
local function settle(dkey, skey, v, code, windowMs, ttl, e, l, n, body)
  local stored = false
  if not v and code == 0 then stored = redis.call('HGET', skey, 'b') end
  if v then
    redis.call('PEXPIRE', dkey, windowMs)
  else
    redis.call('SET', dkey, '1', 'PX', windowMs)
  end
  apply(skey, code, ttl, e, l, n, body)
  return stored
end
`;

/**
 * observe: decide + record + state in one step (nothing to make durable first).
 * KEYS: dedup, state, claim [, stream]
 * ARGV: windowMs, stateTtlMs, e, l, n, body [, deliver ('processed'|'updates'), maxLen, deliveryId]
 * → { decision (0 new, 1 duplicate, 2 pending), state code (or the claim's remaining ms when
 *     pending), stream entry id or false, the stored state's bytes when new but stale, else false }
 * Pending: the key, or the interaction, is claimed by a two-phase caller (begin) that has not
 * settled. With a stream, the event is appended when it is to be delivered: DELIVER=processed →
 * when new (status `processed`); DELIVER=updates → when it advanced the state (status `processed`
 * if new, else `update`).
 */
export const OBSERVE = `${PRELUDE}
local v = redis.call('GET', KEYS[1])
if claimed(v) then return {2, redis.call('PTTL', KEYS[1]), false, false} end
local c = redis.call('PTTL', KEYS[3])
if c ~= -2 then return {2, c, false, false} end
local e, l, n = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local code = judge(KEYS[2], e, l, n, ARGV[6])
local entry = false
if KEYS[4] then
  local status = false
  if ARGV[7] == 'processed' then
    if not v then status = 'processed' end
  elseif code == 2 then
    if v then status = 'update' else status = 'processed' end
  end
  if status then
    entry = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'id', ARGV[9], 'status', status, 'event', ARGV[6])
  end
end
local stored = settle(KEYS[1], KEYS[2], v, code, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
if v then return {1, code, entry, stored} end
return {0, code, entry, stored}
`;

/**
 * begin: the first half of the two-phase protocol (an outbox makes events durable in between).
 * KEYS: dedup, state, claim
 * ARGV: windowMs, stateTtlMs, claimTtlMs, token, e, l, n, body, deliver ('processed'|'updates')
 * → { decision (0 new, 1 duplicate, 2 pending), state code (pending: the claim's remaining ms),
 *     held (1/0), the stored state's bytes when new, not held and stale, else false }
 * An event that is to be delivered (DELIVER=processed: new; DELIVER=updates: it advances the
 * state) is *held*: the interaction is claimed for claimTtlMs under `token` (a new key is claimed
 * too), nothing else is written, and other callers get pending until commit or release. Any other
 * event is decided and applied at once (a duplicate refreshed, a new key remembered, the state
 * applied), exactly as observe would, and needs no commit.
 */
export const BEGIN = `${PRELUDE}
local v = redis.call('GET', KEYS[1])
if claimed(v) then return {2, redis.call('PTTL', KEYS[1]), 0, false} end
local c = redis.call('PTTL', KEYS[3])
if c ~= -2 then return {2, c, 0, false} end
local e, l, n = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local code = judge(KEYS[2], e, l, n, ARGV[8])
local decision = 0
if v then decision = 1 end
local hold
if ARGV[9] == 'updates' then hold = (code == 2) else hold = (not v) end
if hold then
  if not v then redis.call('SET', KEYS[1], 'c:' .. ARGV[4], 'PX', ARGV[3]) end
  redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[3])
  return {decision, code, 1, false}
end
local stored = settle(KEYS[1], KEYS[2], v, code, ARGV[1], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
return {decision, code, 0, stored}
`;

/**
 * commit: a held event is durable now: its key is remembered (window TTL), its state applied, the
 * claim dropped, and with a stream the event appended when due.
 * KEYS: dedup, state, claim [, stream]
 * ARGV: windowMs, stateTtlMs, token, e, l, n, body, isNew (1/0) [, deliver, maxLen, deliveryId]
 * → { 1 if the claim was still ours, else 0 , state code, stream entry id or false,
 *     the stored state's bytes when stale, else false }
 * The key is remembered whatever became of the claim (expired, or taken over by another caller:
 * its commit or release then finds the claim is no longer theirs). Stream: DELIVER=processed →
 * always (a held event is a new one), status `processed`; DELIVER=updates → when it advances the
 * state now, `processed` if it was new, else `update`.
 */
export const COMMIT = `${PRELUDE}
local v = redis.call('GET', KEYS[1])
local ours = 0
if redis.call('GET', KEYS[3]) == ARGV[3] then ours = 1 end
local e, l, n = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local code = judge(KEYS[2], e, l, n, ARGV[7])
local entry = false
if KEYS[4] then
  local status = false
  if ARGV[9] == 'processed' then
    status = 'processed'
  elseif code == 2 then
    if ARGV[8] == '1' then status = 'processed' else status = 'update' end
  end
  if status then
    entry = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[10], '*', 'id', ARGV[11], 'status', status, 'event', ARGV[7])
  end
end
local stored = false
if code == 0 then stored = redis.call('HGET', KEYS[2], 'b') end
if v and not claimed(v) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
apply(KEYS[2], code, ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
if ours == 1 then redis.call('DEL', KEYS[3]) end
return {ours, code, entry, stored}
`;

/**
 * release: drops the claims if they are still ours (the event could not be made durable).
 * KEYS: dedup, claim   ARGV: token   → 1 dropped, 0 not ours (expired, or taken over)
 */
export const RELEASE = `
local dropped = 0
if redis.call('GET', KEYS[1]) == 'c:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  dropped = 1
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  dropped = 1
end
return dropped
`;

/** A script with its SHA1, run with EVALSHA and, when the server does not know it, EVAL. */
export class Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;

  constructor(name: string, source: string) {
    this.name = name;
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * One round trip normally; two after the server lost its script cache (restart, failover,
   * SCRIPT FLUSH): EVALSHA answers NOSCRIPT, then EVAL runs the script and caches it again.
   */
  async run<T>(conn: RedisConnection, operation: string, keys: readonly string[], args: readonly RedisArg[], reply: ReplyMode = 'string'): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await conn.send<T>(operation, keys[0], ['EVALSHA', this.sha, ...tail], reply);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return conn.send<T>(operation, keys[0], ['EVAL', this.source, ...tail], reply);
    }
  }
}

function isNoScript(err: unknown): boolean {
  const cause = (err as { cause?: unknown })?.cause;
  const message = cause instanceof Error ? cause.message : '';
  return message.startsWith('NOSCRIPT');
}

export const SCRIPTS = {
  observe: new Script('observe', OBSERVE),
  begin: new Script('begin', BEGIN),
  commit: new Script('commit', COMMIT),
  release: new Script('release', RELEASE),
} as const;

/** Loads every script on every master (SCRIPT LOAD), so the first EVALSHAs find them. */
export async function loadScripts(conn: RedisConnection): Promise<void> {
  await conn.forEachMaster(async (send) => {
    for (const script of Object.values(SCRIPTS)) {
      const sha = await send(['SCRIPT', 'LOAD', script.source]);
      if (sha !== script.sha) throw new Error(`SCRIPT LOAD ${script.name}: server answered ${String(sha)}, expected ${script.sha}`);
    }
  });
}
