/**
 * Loads uWebSockets.js and says which build runs. The package we depend on silently falls
 * back to a slow pure-JS shim when its native binary cannot load (no binary for this Node.js
 * ABI, glibc too old, UWS_USE_FALLBACK=1); the daemon refuses to start on it unless told
 * otherwise. The package announces its fallback with bare console lines; we capture them so
 * the daemon's log stays JSON and the reason lands in one structured line.
 */
import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';

export type UwsModule = typeof Uws;

export interface UwsRuntime {
  uws: UwsModule;
  /** True when the C++ binary is loaded, false on the JS shim. */
  native: boolean;
  /** e.g. "uWebSockets.js 20.30.0-unofficial.0 (native, ABI 115)". */
  description: string;
  /** On the shim: why the binary did not load (first line of the package's own message). */
  fallbackReason?: string;
}

const require = createRequire(import.meta.url);

function requireQuietly(id: string): { module: unknown; said: string[] } {
  const said: string[] = [];
  const { warn, log } = console;
  console.warn = console.log = (...args: unknown[]) => {
    said.push(args.map(String).join(' '));
  };
  try {
    return { module: require(id), said };
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

/** The line of the package's fallback message that says why (e.g. the missing binary). */
function reasonFrom(said: string[]): string | undefined {
  const lines = said.flatMap((s) => s.split('\n')).map((l) => l.trim()).filter((l) => l.length > 0);
  const why = lines.find((l) => /^Error\b|Cannot find module|GLIBC|UWS_USE_FALLBACK/.test(l));
  return (why ?? lines[0])?.slice(0, 300);
}

export function loadUws(): UwsRuntime {
  const { module, said } = requireQuietly('uWebSockets.js');
  const uws = module as UwsModule;
  // The binary's functions are native; the shim's are ordinary JS functions.
  const native = Function.prototype.toString.call(uws.App).includes('[native code]');
  let version = 'unknown version';
  try {
    version = (require('uWebSockets.js/package.json') as { version: string }).version;
  } catch {
    // Only used for the log line.
  }
  const kind = native ? `native, ABI ${process.versions.modules}` : `pure-JS fallback shim, Node.js ABI ${process.versions.modules}`;
  const runtime: UwsRuntime = { uws, native, description: `uWebSockets.js ${version} (${kind})` };
  if (!native) {
    const reason = reasonFrom(said);
    if (reason !== undefined) runtime.fallbackReason = reason;
  }
  return runtime;
}
