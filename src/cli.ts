#!/usr/bin/env node
/** `cxone-dedup`: the daemon (`serve`, the default) and the developer tools. */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, settingsHelp } from './config.js';
import { runSend, runSign, runSubscribe, type ToolIO } from './cli-tools.js';
import { Daemon, StartupError } from './daemon.js';
import { createLogger, type Logger } from './log.js';
import { ThreadedDaemon } from './workers/threaded-daemon.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const USAGE = `cxone-dedup ${VERSION} — deduplicating receiver for NICE CXone Data Action webhooks

Usage:
  cxone-dedup [serve] [options]     run the daemon (every option also reads its environment variable)
  cxone-dedup subscribe             register the webhook with CXone from the CXONE_* variables, then exit
  cxone-dedup sign [--secret S] [--timestamp T] < body.json
                                    print the X-NICE-Signature of the body on stdin
  cxone-dedup send --url U [--secret S] [--file events.ndjson | --interaction-id ID ...]
                                    post signed events to a running daemon, print the responses
  cxone-dedup <command> --help      details of one command
  cxone-dedup --help | --version

Options (flag, environment variable):
${settingsHelp()}
`;

// Replaced by the configured logger once the configuration is read.
let processLog: Logger = createLogger();

function fatal(log: Logger, message: string): never {
  log.error(message);
  process.exit(1);
}

async function serve(argv: string[]): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      const n = err.problems.length;
      // One log line; its message has one line per problem (`jq -r .msg` shows them as lines).
      fatal(createLogger(), `${n === 1 ? 'invalid configuration: ' : `invalid configuration, ${n} problems:\n`}${err.message}`);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel });
  processLog = log;
  let daemon: Daemon | ThreadedDaemon;
  try {
    // A worker that ends unexpectedly has the daemon stop itself: then exit 1, for the supervisor.
    daemon = config.workers > 1 ? await ThreadedDaemon.start(config, log, {}, () => process.exit(1)) : await Daemon.start(config, log);
  } catch (err) {
    if (err instanceof StartupError) fatal(log, `cannot start: ${err.message}`);
    throw err;
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn('second signal: exiting now', { signal });
      // Worker threads first close their listen sockets (uWS aborts the process otherwise).
      if (daemon instanceof ThreadedDaemon) void daemon.halt().finally(() => process.exit(1));
      else process.exit(1);
      return;
    }
    daemon.stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (command === undefined || command.startsWith('--')) return serve(process.argv.slice(2));
  if (command === 'serve') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(USAGE);
      return;
    }
    return serve(rest);
  }
  const tools: Record<string, (argv: string[], io: ToolIO) => Promise<number>> = { subscribe: runSubscribe, sign: runSign, send: runSend };
  const tool = tools[command];
  if (tool !== undefined) {
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort(new Error('interrupted')));
    process.once('SIGTERM', () => abort.abort(new Error('terminated')));
    const io: ToolIO = {
      stdin: process.stdin,
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      env: process.env,
      signal: abort.signal,
    };
    process.exitCode = await tool(rest, io);
    return;
  }
  process.stderr.write(`unknown command ${JSON.stringify(command.slice(0, 40))}\n\n${USAGE}`);
  process.exit(2);
}

// Last line of defence: log and keep serving rather than die on a stray exception.
process.on('uncaughtException', (err) => {
  processLog.error('uncaught exception', { err });
});
process.on('unhandledRejection', (err) => {
  processLog.error('unhandled rejection', { err });
});

main().catch((err: unknown) => {
  createLogger().error('fatal', { err });
  process.exit(1);
});
