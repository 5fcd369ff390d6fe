/**
 * Real `redis-server` processes for tests: standalone servers and a three-master Redis Cluster,
 * each on free loopback ports in its own temporary directory.
 *
 * The binaries come from Debian's `redis-server` and `redis-tools` (redis-cli) packages. When one
 * is missing and we are root, both are installed once per machine (a lock file serialises
 * concurrent test files); otherwise a clear Error is thrown: tests never skip.
 *
 * Readiness and cluster state are probed over raw RESP on a socket (no client library), so the
 * helper does not depend on the code under test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureAptPackage, findBinary, stopPackagedService } from './apt.js';
import { freePort, portFree } from './ports.js';

const SERVER = 'redis-server';
const CLI = 'redis-cli';
const PACKAGES = ['redis-server', 'redis-tools'];
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const CLUSTER_TIMEOUT_MS = 30_000;

function findRedisBinary(name: string): string | undefined {
  return findBinary(name, path.join('/usr/bin', name));
}

export interface RedisBinaries {
  server: string;
  cli: string;
}

function findBinaries(): RedisBinaries | undefined {
  const server = findRedisBinary(SERVER);
  const cli = findRedisBinary(CLI);
  return server && cli ? { server, cli } : undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Finds redis-server and redis-cli, installing Debian's packages once per machine when root. Throws when impossible. */
export async function ensureRedisInstalled(): Promise<RedisBinaries> {
  await ensureAptPackage({ pkgs: PACKAGES, find: () => findBinaries()?.server, afterInstall: () => stopPackagedService('redis-server') });
  const found = findBinaries();
  if (!found) throw new Error(`apt-get installed ${PACKAGES.join(' ')} but ${SERVER} or ${CLI} is not on PATH nor in /usr/bin`);
  return found;
}

/**
 * A free loopback port. With `clusterBus`, port + 10000 (Redis Cluster's bus port) must be free
 * too, so the port is below 55536.
 */
async function freeNodePort(clusterBus = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await freePort();
    if (!clusterBus) return port;
    if (port + 10_000 <= 65_535 && (await portFree(port + 10_000))) return port;
  }
  throw new Error('found no free port pair (port, port + 10000) for a cluster node');
}

// ---- raw RESP, just enough for PING, INFO, CLUSTER INFO and the like -------------------------

type Reply = string | number | null | Reply[] | Error;

/** Parses one RESP2 reply from `buf` at `at`; undefined when incomplete. */
function parseReply(buf: Buffer, at: number): { value: Reply; end: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', at);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new Error(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: Reply[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

/** Sends one command on a fresh connection and returns its reply (errors are returned, not thrown). */
export async function rawCommand(port: number, args: string[], timeoutMs = 2000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${args[0]} from 127.0.0.1:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseReply(buf, 0);
      if (parsed) {
        clearTimeout(timer);
        socket.destroy();
        resolve(parsed.value);
      }
    });
  });
}

/** `INFO`-style text (`key:value` lines) as a map. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

// ---- processes ------------------------------------------------------------------------------

// Every live child and directory, so that a crashing test run still leaves nothing behind.
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export interface StartRedisOptions {
  /** Append-only file on (default off). */
  appendonly?: boolean;
  /** With appendonly: `always`, `everysec` (default) or `no`. */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** RDB save points, e.g. `'1 1'`; default none (`''`), so a stop writes no RDB. */
  save?: string;
  /** Extra `--name value` arguments. */
  args?: string[];
}

export interface RedisServer {
  readonly port: number;
  readonly host: '127.0.0.1';
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly dir: string;
  /** Sends one command over a fresh raw connection. */
  command(args: string[]): Promise<Reply>;
  /** `INFO <section>` as a map. */
  info(section?: string): Promise<Map<string, string>>;
  /** Graceful stop (SIGTERM); the data directory stays. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; the data directory stays. */
  kill(): Promise<void>;
  /** Start again on the same port and data directory (after stop or kill; stops first if running). */
  restart(): Promise<void>;
  /** Kill if running and delete the data directory. Safe to call twice. */
  dispose(): Promise<void>;
  isRunning(): boolean;
  pid(): number | undefined;
  /** Last lines the server printed; for assertion messages. */
  logTail(): string;
}

interface LaunchSpec {
  binaries: RedisBinaries;
  port: number;
  dir: string;
  args: string[];
}

function serverArgs(port: number, dir: string, options: StartRedisOptions): string[] {
  return [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--daemonize', 'no',
    '--save', options.save ?? '',
    '--appendonly', options.appendonly ? 'yes' : 'no',
    '--appendfsync', options.appendfsync ?? 'everysec',
    '--logfile', '',
    '--loglevel', 'warning',
    // The tests' own processes are the only clients; keep the server small.
    '--databases', '1',
    ...(options.args ?? []),
  ];
}

async function launchServer(spec: LaunchSpec): Promise<RedisServer> {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const launch = async (): Promise<void> => {
    const proc = spawn(spec.binaries.server, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    const append = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-8000);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    let exitedEarly = false;
    exited = new Promise<void>((resolve) => {
      const done = () => {
        exitedEarly = true;
        live.delete(proc);
        resolve();
      };
      proc.once('exit', done);
      proc.once('error', (err) => {
        log += `\nspawn error: ${err.message}`;
        done();
      });
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exitedEarly) throw new Error(`${SERVER} on port ${spec.port} exited during start-up:\n${log.slice(-2000)}`);
      try {
        // PING answers -LOADING while an AOF or RDB is being read: not ready yet. A server with
        // a password answers -NOAUTH: it is up (this helper's command() does not log in).
        const reply = await rawCommand(spec.port, ['PING'], 1000);
        if (reply === 'PONG' || (reply instanceof Error && reply.message.startsWith('NOAUTH'))) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`${SERVER} did not answer PING on 127.0.0.1:${spec.port} within ${START_TIMEOUT_MS} ms:\n${log.slice(-2000)}`);
      }
      await sleep(20);
    }
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
      child = undefined;
      return;
    }
    proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
    });
    const outcome = await Promise.race([exited.then(() => 'exited' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      proc.kill('SIGKILL');
      await exited;
    }
    child = undefined;
  };

  await launch();

  const server: RedisServer = {
    port: spec.port,
    host: '127.0.0.1',
    url: `redis://127.0.0.1:${spec.port}`,
    dir: spec.dir,
    command: (args) => rawCommand(spec.port, args),
    async info(section = 'default') {
      const text = await rawCommand(spec.port, ['INFO', section]);
      if (typeof text !== 'string') throw new Error(`INFO ${section}: unexpected reply ${String(text)}`);
      return parseInfo(text);
    },
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    async restart() {
      await terminate('SIGTERM');
      await launch();
    },
    async dispose() {
      await terminate('SIGKILL');
      rmSync(spec.dir, { recursive: true, force: true });
      dirs.delete(spec.dir);
    },
    isRunning: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    pid: () => child?.pid,
    logTail: () => log,
  };
  return server;
}

/** Starts a standalone redis-server on a free loopback port in a new temporary directory. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binaries = await ensureRedisInstalled();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cxone-dedup-redis-'));
  dirs.add(dir);
  const port = await freeNodePort();
  try {
    return await launchServer({ binaries, port, dir, args: serverArgs(port, dir, options) });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
    throw err;
  }
}

export interface RedisCluster {
  /** The masters, in the order their slot ranges were assigned (0-5460, 5461-10922, 10923-16383). */
  readonly nodes: readonly RedisServer[];
  /** `host:port` of every node, the form REDIS_CLUSTER_NODES takes. */
  readonly nodeList: string;
  /** `CLUSTER KEYSLOT key`, asked of the first node. */
  keySlot(key: string): Promise<number>;
  /** The node serving `slot`. */
  nodeForSlot(slot: number): RedisServer;
  /** Kills every node and deletes their directories. Safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * Starts three cluster-enabled masters on loopback (no replicas), joins them with
 * `redis-cli --cluster create`, and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: StartRedisOptions = {}): Promise<RedisCluster> {
  const binaries = await ensureRedisInstalled();
  const nodes: RedisServer[] = [];
  const dispose = async () => {
    await Promise.all(nodes.map((n) => n.dispose()));
  };
  try {
    for (let i = 0; i < 3; i++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cxone-dedup-redis-cluster-'));
      dirs.add(dir);
      const port = await freeNodePort(true);
      const args = serverArgs(port, dir, {
        ...options,
        args: [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', path.join(dir, 'nodes.conf'),
          '--cluster-node-timeout', '2000',
          ...(options.args ?? []),
        ],
      });
      nodes.push(await launchServer({ binaries, port, dir, args }));
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    const created = spawnSync(binaries.cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: CLUSTER_TIMEOUT_MS,
    });
    if (created.error || created.status !== 0) {
      throw new Error(`redis-cli --cluster create failed (${created.error?.message ?? `exit ${created.status}`}):\n${`${created.stdout}${created.stderr}`.slice(-2000)}`);
    }
    const deadline = Date.now() + CLUSTER_TIMEOUT_MS;
    for (;;) {
      const states = await Promise.all(
        nodes.map(async (n) => {
          const text = await n.command(['CLUSTER', 'INFO']).catch(() => '');
          return typeof text === 'string' ? parseInfo(text) : new Map<string, string>();
        }),
      );
      // Every node must see the whole cluster: state ok, three known nodes, every slot assigned.
      if (states.every((s) => s.get('cluster_state') === 'ok' && s.get('cluster_known_nodes') === '3' && s.get('cluster_slots_ok') === '16384')) break;
      if (Date.now() > deadline) throw new Error(`cluster did not reach cluster_state:ok within ${CLUSTER_TIMEOUT_MS} ms`);
      await sleep(50);
    }
    // Which node serves which slots (redis-cli assigns ranges in the order the nodes were given).
    const slotsReply = await nodes[0]!.command(['CLUSTER', 'SLOTS']);
    if (!Array.isArray(slotsReply)) throw new Error(`CLUSTER SLOTS: unexpected reply ${String(slotsReply)}`);
    const ranges = slotsReply.map((r) => {
      const [from, to, master] = r as [number, number, [string, number]];
      const node = nodes.find((n) => n.port === Number(master[1]));
      if (!node) throw new Error(`CLUSTER SLOTS names an unknown port ${master[1]}`);
      return { from, to, node };
    });
    return {
      nodes,
      nodeList: addresses.join(','),
      async keySlot(key: string) {
        const slot = await nodes[0]!.command(['CLUSTER', 'KEYSLOT', key]);
        if (typeof slot !== 'number') throw new Error(`CLUSTER KEYSLOT: unexpected reply ${String(slot)}`);
        return slot;
      },
      nodeForSlot(slot: number) {
        const hit = ranges.find((r) => slot >= r.from && slot <= r.to);
        if (!hit) throw new Error(`no node serves slot ${slot}`);
        return hit.node;
      },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}
