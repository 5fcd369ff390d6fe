/**
 * Where Redis is and how to reach it, from the settings REDIS_URL, REDIS_CLUSTER_NODES,
 * REDIS_PASSWORD, REDIS_KEY_PREFIX and REDIS_TIMEOUT_MS. Every parser throws an Error whose
 * message completes "<SETTING> …" and never contains a password.
 */

/** One server address with what is needed to log in. */
export interface RedisEndpoint {
  host: string;
  port: number;
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
  /** Standalone only (Cluster has database 0 alone). */
  database: number;
}

export type RedisTarget =
  | { kind: 'standalone'; endpoint: RedisEndpoint }
  | { kind: 'cluster'; nodes: RedisEndpoint[] };

export const DEFAULT_REDIS_PORT = 6379;
export const DEFAULT_KEY_PREFIX = 'cxone-dedup:';
export const MAX_CLUSTER_NODES = 64;

function fail(message: string): never {
  throw new Error(message);
}

function parsePort(raw: string): number {
  if (!/^\d{1,5}$/.test(raw)) fail(`has a bad port ${JSON.stringify(raw.slice(0, 10))}; use 1-65535`);
  const port = Number(raw);
  if (port < 1 || port > 65535) fail(`has a bad port ${port}; use 1-65535`);
  return port;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])$/;

function parseHost(raw: string): string {
  if (raw.length === 0) fail('has no host');
  if (raw.length > 255 || !HOST.test(raw)) fail(`has a bad host ${JSON.stringify(raw.slice(0, 60))}`);
  // URL keeps IPv6 brackets; sockets want the bare address.
  return raw.startsWith('[') ? raw.slice(1, -1) : raw;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return fail(`has a badly percent-encoded ${what}`);
  }
}

/**
 * `redis://[[user][:password]@]host[:port][/db]` or `rediss://…` (TLS). User and password are
 * percent-decoded. No query string or fragment: nothing in them would be honoured.
 */
export function parseRedisUrl(raw: string): RedisEndpoint {
  const s = raw.trim();
  if (s.length === 0) fail('must not be empty');
  if (s.length > 4096) fail('must be at most 4096 characters');
  const scheme = /^(rediss?):\/\//i.exec(s);
  if (!scheme) fail('must start with redis:// or rediss://');
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return fail('is not a valid URL (percent-encode special characters in the user and password)');
  }
  if (url.search !== '' || url.hash !== '') fail('must not have a query string or fragment');
  const path = url.pathname;
  let database = 0;
  if (path !== '' && path !== '/') {
    const m = /^\/(\d{1,5})$/.exec(path);
    if (!m) fail('must end with /<database number> or nothing after the port');
    database = Number(m[1]);
    if (database > 16_383) fail('has a database number above 16383');
  }
  return {
    host: parseHost(url.hostname),
    port: url.port === '' ? DEFAULT_REDIS_PORT : parsePort(url.port),
    tls: scheme[1]!.toLowerCase() === 'rediss',
    username: url.username === '' ? undefined : decode(url.username, 'user name'),
    password: url.password === '' ? undefined : decode(url.password, 'password'),
    database,
  };
}

/**
 * A comma-separated list of Cluster nodes to discover the topology from: `host:port`
 * (`[v6addr]:port`), or `redis://[user@]host:port` / `rediss://[user@]host:port` for a user name
 * or TLS (the same scheme and user for every entry). The password goes in REDIS_PASSWORD only,
 * so this list is never a secret.
 */
export function parseClusterNodes(raw: string): RedisEndpoint[] {
  const parts = raw.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) fail('must name at least one host:port');
  if (parts.length > MAX_CLUSTER_NODES) fail(`names more than ${MAX_CLUSTER_NODES} nodes; a few are enough to discover the cluster`);
  const nodes: RedisEndpoint[] = [];
  for (const part of parts) {
    let node: RedisEndpoint;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(part)) {
      node = parseRedisUrl(part);
      if (node.password !== undefined) fail('must not carry a password; set REDIS_PASSWORD');
      if (node.database !== 0) fail('must not name a database: Redis Cluster has only database 0');
    } else {
      const m = /^(\[[^\]]*\]|[^:[\]]+):(\d+)$/.exec(part);
      if (!m) fail(`entry ${JSON.stringify(part.slice(0, 60))} is not host:port`);
      node = { host: parseHost(m[1]!), port: parsePort(m[2]!), tls: false, username: undefined, password: undefined, database: 0 };
    }
    const first = nodes[0];
    if (first !== undefined && (first.tls !== node.tls || first.username !== node.username)) {
      fail('entries must all use the same scheme and user');
    }
    if (nodes.some((n) => n.host === node.host && n.port === node.port)) fail(`names ${node.host}:${node.port} twice`);
    nodes.push(node);
  }
  return nodes;
}

/** REDIS_KEY_PREFIX: printable, no whitespace and no braces (a brace would change the hash tag of every key). */
export function parseKeyPrefix(raw: string): string {
  if (raw.length > 128) fail('must be at most 128 characters');
  if (!/^[\x21-\x7e]*$/.test(raw)) fail('may contain only printable ASCII without spaces');
  if (/[{}]/.test(raw)) fail('must not contain { or }: keys carry their own hash tag');
  return raw;
}

/**
 * The target from the two mutually exclusive settings and the optional separate password.
 * Throws (naming the settings) when both or neither are given, or the password is given twice.
 */
export function resolveTarget(url: string | undefined, clusterNodes: readonly string[] | string | undefined, password: string | undefined): RedisTarget {
  if (url !== undefined && clusterNodes !== undefined) fail('REDIS_URL and REDIS_CLUSTER_NODES are both set; set one (REDIS_URL for one server, REDIS_CLUSTER_NODES for Redis Cluster)');
  if (url !== undefined) {
    const endpoint = parseRedisUrl(url);
    if (password !== undefined) {
      if (endpoint.password !== undefined) fail('REDIS_URL carries a password and REDIS_PASSWORD is set too; set it in one place');
      endpoint.password = password;
    }
    return { kind: 'standalone', endpoint };
  }
  if (clusterNodes !== undefined) {
    const nodes = parseClusterNodes(typeof clusterNodes === 'string' ? clusterNodes : clusterNodes.join(','));
    for (const n of nodes) n.password = password;
    return { kind: 'cluster', nodes };
  }
  return fail('neither REDIS_URL nor REDIS_CLUSTER_NODES is set');
}

/** `redis://host:port` without credentials, for logs. */
export function describeTarget(target: RedisTarget): string {
  const one = (e: RedisEndpoint) => `${e.tls ? 'rediss' : 'redis'}://${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
  return target.kind === 'standalone' ? `${one(target.endpoint)}${target.endpoint.database ? `/${target.endpoint.database}` : ''}` : `cluster(${target.nodes.map(one).join(',')})`;
}
