/**
 * The Lua scripts behind the store. Each runs atomically on the server, so a decision, the key's
 * TTL, the latest state and (optionally) the stream entry change together or not at all.
 *
 * Values of a dedup key: `1` = remembered; `c:<token>` = claimed by a two-phase caller (begin),
 * not yet remembered.
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
 * Writes come after every read and after the XADD: a script that fails half-way (an error reply
 * from XADD, out of memory at the first write) has changed nothing (Redis does not roll back).
 */
import { createHash } from 'node:crypto';
import type { RedisArg, RedisConnection } from './connection.js';

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
`;

/**
 * observe: decide + record + state in one step.
 * KEYS: dedup, state [, stream]
 * ARGV: windowMs, stateTtlMs, e, l, n, body [, deliver ('processed'|'updates'), maxLen, deliveryId]
 * → { decision (0 new, 1 duplicate, 2 pending), state code (or the claim's remaining ms when
 *     pending), stream entry id or nil }
 * With a stream, the event is appended when it is to be delivered: DELIVER=processed → when new
 * (status `processed`); DELIVER=updates → when it advanced the state (status `processed` if new,
 * else `update`).
 */
export const OBSERVE = `${PRELUDE}
local v = redis.call('GET', KEYS[1])
if claimed(v) then return {2, redis.call('PTTL', KEYS[1]), false} end
local e, l, n = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local code = judge(KEYS[2], e, l, n, ARGV[6])
local entry = false
if KEYS[3] then
  local status = false
  if ARGV[7] == 'processed' then
    if not v then status = 'processed' end
  elseif code == 2 then
    if v then status = 'update' else status = 'processed' end
  end
  if status then
    entry = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], '*', 'id', ARGV[9], 'status', status, 'event', ARGV[6])
  end
end
if v then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
apply(KEYS[2], code, ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
if v then return {1, code, entry} end
return {0, code, entry}
`;

/**
 * begin: the first half of the two-phase protocol.
 * KEYS: dedup, state
 * ARGV: windowMs, stateTtlMs, claimTtlMs, token, e, l, n, body
 * → { 0 new (claimed for claimTtlMs under token; nothing else written; the state code is what
 *       applying it now would do), 1 duplicate (refreshed, state applied), 2 pending (claimed by
 *       another caller; second value = the claim's remaining ms) , state code }
 */
export const BEGIN = `${PRELUDE}
local v = redis.call('GET', KEYS[1])
if claimed(v) then return {2, redis.call('PTTL', KEYS[1])} end
local e, l, n = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local code = judge(KEYS[2], e, l, n, ARGV[8])
if v then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  apply(KEYS[2], code, ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
  return {1, code}
end
redis.call('SET', KEYS[1], 'c:' .. ARGV[4], 'PX', ARGV[3])
return {0, code}
`;

/**
 * commit: the claimed key becomes remembered (window TTL) and the event's state is applied.
 * KEYS: dedup, state
 * ARGV: windowMs, stateTtlMs, token, e, l, n, body
 * → { 1 if the claim was still ours, else 0 , state code }
 * The event is durable by now (that is why commit is called), so the key is remembered whatever
 * became of the claim: expired, or overwritten (its holder's commit or release then finds it
 * is no longer theirs; a release then removes nothing).
 */
export const COMMIT = `${PRELUDE}
local v = redis.call('GET', KEYS[1])
local ours = 0
if v == 'c:' .. ARGV[3] then ours = 1 end
local e, l, n = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local code = judge(KEYS[2], e, l, n, ARGV[7])
if v and not claimed(v) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
apply(KEYS[2], code, ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return {ours, code}
`;

/**
 * release: drops the claim if it is still ours (the event could not be made durable).
 * KEYS: dedup   ARGV: token   → 1 dropped, 0 not ours (expired, or taken over)
 */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == 'c:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
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
  async run<T>(conn: RedisConnection, operation: string, keys: readonly string[], args: readonly RedisArg[]): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await conn.send<T>(operation, keys[0], ['EVALSHA', this.sha, ...tail]);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return conn.send<T>(operation, keys[0], ['EVAL', this.source, ...tail]);
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
