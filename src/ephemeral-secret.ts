/**
 * The webhook secret of a daemon started without CXONE_WEBHOOK_SECRET: random for the run, and
 * written to a file only its owner can read (never to the log, where logs end up is not ours to
 * know), so `cxone-dedup send` and `sign` started in the same directory can use it. Removed when
 * the process exits, if it still holds this run's secret.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** In the daemon's working directory, like the outbox's default. */
export const EPHEMERAL_SECRET_FILE = '.cxone-dedup-secret';

export interface EphemeralSecret {
  readonly secret: string;
  /** Absolute path of the file that holds it. */
  readonly file: string;
}

/** Generates a secret and writes it (mode 0600, atomically); throws when the file cannot be written. */
export function createEphemeralSecret(dir: string = process.cwd()): EphemeralSecret {
  const secret = randomBytes(32).toString('hex');
  const file = path.resolve(dir, EPHEMERAL_SECRET_FILE);
  const partial = `${file}.${process.pid}.tmp`;
  try {
    // `wx`: never follow or reuse a file someone else placed there.
    writeFileSync(partial, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(partial, file);
  } catch (err) {
    try {
      unlinkSync(partial);
    } catch {
      // not created
    }
    throw err;
  }
  process.once('exit', () => {
    // Another daemon started here since may have replaced it: leave its secret alone.
    if (readEphemeralSecret(dir) === secret) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  });
  return { secret, file };
}

/** The secret a daemon without CXONE_WEBHOOK_SECRET wrote in `dir`, if any. */
export function readEphemeralSecret(dir: string = process.cwd()): string | undefined {
  try {
    const text = readFileSync(path.resolve(dir, EPHEMERAL_SECRET_FILE), 'utf8').trim();
    return /^[0-9a-f]{64}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}
