/**
 * bench/results/latest.json: one file, one section per part (filter, accuracy, e2e, memory).
 * Each part merges its own section in, so parts can be run alone or all together.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineFacts, type MachineFacts } from './machine.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
export const LATEST = path.join(RESULTS_DIR, 'latest.json');

export type SectionName = 'filter' | 'accuracy' | 'e2e' | 'memory';

export interface Section {
  /** When this part finished. */
  date: string;
  quick: boolean;
  /** The machine as this part saw it (load average differs between parts). */
  machine: MachineFacts;
  /** The markdown table(s) as printed. */
  markdown: string;
  data: unknown;
}

export interface LatestResults {
  machine: MachineFacts;
  sections: Partial<Record<SectionName, Section>>;
}

export function readLatest(): LatestResults | null {
  try {
    return JSON.parse(readFileSync(LATEST, 'utf8')) as LatestResults;
  } catch {
    return null;
  }
}

/** Replaces this part's section of latest.json (written atomically) and refreshes the machine facts. */
export function mergeSection(name: SectionName, section: { quick: boolean; markdown: string; data: unknown }): void {
  const machine = machineFacts();
  const current = readLatest();
  const out: LatestResults = { machine, sections: { ...(current?.sections ?? {}) } };
  out.sections[name] = { date: new Date().toISOString(), quick: section.quick, machine, markdown: section.markdown, data: section.data };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const tmp = `${LATEST}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(tmp, LATEST);
}
