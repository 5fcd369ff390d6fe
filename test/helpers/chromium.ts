/**
 * Headless Chromium for the status page's tests, driven by playwright-core (which never downloads a
 * browser): Debian's `chromium` package, installed with apt-get when missing (./apt.ts). Every
 * launch gets a fresh temporary profile (playwright's launch() makes and removes it).
 */
import { chromium, type Browser } from 'playwright-core';
import { ensureAptPackage, isExecutable } from './apt.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, offline headless browser in a container. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function ensureChromiumInstalled(): Promise<string> {
  // fonts-liberation is only a Recommends of chromium: without it pages may render in whatever font is left.
  return ensureAptPackage({ pkgs: ['chromium', 'fonts-liberation'], find: () => (isExecutable(CHROMIUM_PATH) ? CHROMIUM_PATH : undefined) });
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = await ensureChromiumInstalled();
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}
