/**
 * The ceiling for the end-to-end benchmark: a bare uWebSockets.js server on the same runtime as
 * the daemon that reads each POST body with onData and answers 200 with a small JSON, doing
 * nothing else (no signature check, no parsing, no dedup, no metrics).
 *
 *   node --import tsx bench/bare-uws.ts [--port N]     prints {"msg":"listening","port":N} on stdout
 */
import type { HttpResponse } from 'uWebSockets.js';
import { loadUws } from '../src/http/uws.js';
import { numberArg, parseArgs } from './lib/args.js';

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

const port = numberArg(parseArgs(), 'port', 0);
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
