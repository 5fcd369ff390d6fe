/**
 * Loads uWebSockets.js and says which build runs. The package we depend on silently falls
 * back to a slow pure-JS shim when its native binary cannot load (wrong Node ABI, glibc too
 * old, UWS_USE_FALLBACK=1); the daemon refuses to start on it unless told otherwise.
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
}

const require = createRequire(import.meta.url);

export function loadUws(): UwsRuntime {
  const uws = require('uWebSockets.js') as UwsModule;
  // The binary's functions are native; the shim's are ordinary JS functions.
  const native = Function.prototype.toString.call(uws.App).includes('[native code]');
  let version = 'unknown version';
  try {
    version = (require('uWebSockets.js/package.json') as { version: string }).version;
  } catch {
    // Only used for the log line.
  }
  const kind = native ? `native, ABI ${process.versions.modules}` : 'pure-JS fallback shim';
  return { uws, native, description: `uWebSockets.js ${version} (${kind})` };
}
