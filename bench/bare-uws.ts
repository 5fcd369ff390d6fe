/**
 * The ceiling for the end-to-end benchmark: a bare uWebSockets.js server on the same runtime as
 * the daemon that reads each POST body with onData and answers 200 with a small JSON, doing
 * nothing else (no signature check, no parsing, no dedup, no metrics).
 *
 *   node --import tsx bench/bare-uws.ts [--port N]     prints {"msg":"listening","port":N} on stdout
 */
import type { HttpResponse } from 'uWebSockets.js';
import { loadUws } from '../src/http/uws.js';
import { numberArg, parseArgs, type ScriptSpec } from './lib/args.js';

const SPEC: ScriptSpec = {
  script: 'bench/bare-uws.ts',
  title: "the end-to-end benchmark's ceiling: a bare uWebSockets.js server that reads each POST body and answers 200",
  about: 'Started by bench/e2e.ts; prints {"msg":"listening","port":N} on stdout; SIGTERM stops it.',
  usage: ['node --import tsx bench/bare-uws.ts [flags]'],
  flags: [{ name: 'port', arg: 'N', default: '0 (any free port)', help: 'port on 127.0.0.1' }],
  duration: 'until stopped (SIGTERM)',
  progress: false,
};
const port = numberArg(parseArgs(SPEC), 'port', 0, 0, 65535);

const { uws, native, description } = loadUws();
if (!native) {
  process.stderr.write(`bare-uws: ${description}: refusing to measure a ceiling on the JS shim\n`);
  process.exit(1);
}

const BODY = '{"status":"ok"}';
const app = uws.App();

app.post('/*', (res: HttpResponse) => {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  let size = 0;
  res.onData((chunk, isLast) => {
    size += chunk.byteLength;
    if (!isLast || aborted) return;
    res.cork(() => {
      res.writeStatus('200 OK');
      res.writeHeader('Content-Type', 'application/json');
      res.end(BODY);
    });
  });
});
app.any('/*', (res) => {
  res.cork(() => res.writeStatus('404 Not Found').end());
});

app.listen('127.0.0.1', port, (socket) => {
  if (!socket) {
    process.stderr.write(`bare-uws: cannot listen on 127.0.0.1:${port}\n`);
    process.exit(1);
  }
  const bound = uws.us_socket_local_port(socket as unknown as Parameters<typeof uws.us_socket_local_port>[0]);
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: bound, runtime: description })}\n`);
  const stop = () => {
    uws.us_listen_socket_close(socket);
    (app as { close?: () => void }).close?.();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
