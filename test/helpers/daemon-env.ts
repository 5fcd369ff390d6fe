/**
 * Which environment variables configure the daemon, so the test and bench launchers can start it
 * from a clean slate: nothing from the developer's shell (a stray DELIVERY_URL, REDIS_URL or
 * WEBHOOK_FAST_PATH) changes what runs or what is measured.
 */
import { SETTINGS } from '../../src/config.js';

const SETTING_NAMES = new Set(SETTINGS.map((s) => s.env));
/** Read besides the settings: the addon's (CXONE_DEDUP_NATIVE_PATH, …) and uWS's (UWS_USE_FALLBACK). */
const OTHER_DAEMON_VARIABLES = /^(CXONE_|UWS_)/;

export function isDaemonVariable(name: string): boolean {
  return SETTING_NAMES.has(name) || OTHER_DAEMON_VARIABLES.test(name);
}

/** `env` without any daemon variable. */
export function withoutDaemonVariables(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isDaemonVariable(k)) out[k] = v;
  return out;
}
