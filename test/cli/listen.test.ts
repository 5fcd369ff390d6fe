/** A daemon that cannot listen says why: address in use, not an address of this host, or a host name that does not resolve. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { explainListenFailure } from '../../src/http/listen-error.js';
import { runCli, startDaemon, TEST_SECRET, type RunningDaemon } from '../helpers/daemon.js';

/** TEST-NET-1 (RFC 5737): documentation only, never an address of this host. */
const FOREIGN = '192.0.2.1';
/** RFC 6761: `.invalid` never resolves. */
const NO_SUCH_HOST = 'no-such-host.invalid';

function occupy(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => s.end('still mine\n'));
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

/** Runs `serve` to its exit; returns its one error line's message (there must be exactly one). */
async function startFailure(args: string[]): Promise<string> {
  const r = await runCli(['serve', ...args], { env: { CXONE_WEBHOOK_SECRET: TEST_SECRET, LOG_LEVEL: 'info' } });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
  assert.ok(!lines.some((l) => l.msg === 'listening'), r.stderr);
  const errors = lines.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1, r.stderr);
  return errors[0]!.msg;
}

describe('listen failures, told apart (real sockets on loopback)', () => {
  let holder: net.Server;
  before(async () => {
    holder = await occupy('127.0.0.1');
  });
  after(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('a port another process holds: "address in use"', async () => {
    const port = portOf(holder);
    const msg = await startFailure(['--host', '127.0.0.1', '--port', String(port)]);
    assert.match(msg, new RegExp(`^cannot start: PORT/HOST: cannot listen on 127\\.0\\.0\\.1:${port}: address in use \\(another process is listening on port ${port}`));
    assert.doesNotMatch(msg, /not an address of this host/);
    // The holder is untouched.
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text)).on('error', reject);
    });
    assert.equal(reply, 'still mine\n');
  });

  it('a port another cxone-dedup holds: "address in use" too (no silent sharing)', async () => {
    const first: RunningDaemon = await startDaemon();
    try {
      const msg = await startFailure(['--host', '127.0.0.1', '--port', String(first.port)]);
      assert.match(msg, /: address in use \(/);
      assert.equal((await first.get('/healthz')).status, 200);
    } finally {
      await first.stop();
    }
  });

  it(`an address that is not this host's (${FOREIGN}): "not an address of this host"`, async () => {
    const msg = await startFailure(['--host', FOREIGN, '--port', '0']);
    assert.match(msg, /^cannot start: PORT\/HOST: cannot listen on 192\.0\.2\.1:0: 192\.0\.2\.1 is not an address of this host \(/);
    assert.doesNotMatch(msg, /in use/);
  });

  it('a host name that does not resolve: says so', async () => {
    const msg = await startFailure(['--host', NO_SUCH_HOST, '--port', '0']);
    assert.match(msg, /^cannot start: PORT\/HOST: cannot listen on no-such-host\.invalid:0: the host name "no-such-host\.invalid" does not resolve \(/);
  });

  it('explainListenFailure: each cause its own sentence; IPv6 in brackets; a free address is not blamed', async () => {
    assert.match(await explainListenFailure('127.0.0.1', portOf(holder)), /address in use/);
    assert.match(await explainListenFailure(FOREIGN, 0), /is not an address of this host/);
    assert.match(await explainListenFailure(NO_SUCH_HOST, 0), /does not resolve/);
    const v6 = await occupy('::1');
    try {
      assert.match(await explainListenFailure('::1', portOf(v6)), new RegExp(`^cannot listen on \\[::1\\]:${portOf(v6)}: address in use`));
    } finally {
      await new Promise<void>((resolve) => v6.close(() => resolve()));
    }
    assert.match(await explainListenFailure('127.0.0.1', 0), /a test bind from Node\.js just succeeded/);
  });
});
