/**
 * The loopback downstream of bench:e2e's `http-sink` variant: a uWebSockets.js server (the
 * cheapest HTTP server this project has, so it takes as little as possible from the core it
 * shares with the load generator) that reads each POSTed delivery and answers 200 with an empty
 * body. It counts what it received: GET /count → {"requests":N,"bytes":B}.
 *
 *   node --import tsx bench/lib/downstream.ts [--port N]     prints {"msg":"listening","port":N} on stdout
 */
import type { HttpResponse } from 'uWebSockets.js';
import { loadUws } from '../../src/http/uws.js';
import { numberArg, parseArgs, type ScriptSpec } from './args.js';

const SPEC: ScriptSpec = {
  script: 'bench/lib/downstream.ts',
  title: "bench:e2e's loopback downstream: reads each POSTed delivery, answers 200, counts them (GET /count)",
  about: 'Started by bench/e2e.ts for the http-sink variant; prints {"msg":"listening","port":N} on stdout; SIGTERM stops it.',
  usage: ['node --import tsx bench/lib/downstream.ts [flags]'],
  flags: [{ name: 'port', arg: 'N', default: '0 (any free port)', help: 'port on 127.0.0.1' }],
  duration: 'until stopped (SIGTERM)',
  progress: false,
};
const port = numberArg(parseArgs(SPEC), 'port', 0, 0, 65535);

const { uws, native, description } = loadUws();
if (!native) {
  // The JS shim would cost the generator's core several times more per delivery.
  process.stderr.write(`downstream: ${description}: refusing to run on the JS shim\n`);
  process.exit(1);
}

let requests = 0;
let bytes = 0;
const app = uws.App();

app.post('/*', (res: HttpResponse) => {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((chunk, isLast) => {
    bytes += chunk.byteLength;
    if (!isLast || aborted) return;
    requests++;
    res.cork(() => {
      res.writeStatus('200 OK').end();
    });
  });
});
app.get('/count', (res) => {
  res.cork(() => {
    res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(JSON.stringify({ requests, bytes }));
  });
});
app.any('/*', (res) => {
  res.cork(() => res.writeStatus('404 Not Found').end());
});

app.listen('127.0.0.1', port, (socket) => {
  if (!socket) {
    process.stderr.write(`downstream: cannot listen on 127.0.0.1:${port}\n`);
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
