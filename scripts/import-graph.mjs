#!/usr/bin/env node
// Prints the import arrows between top-level parts of src/ (a folder, or a root file such as daemon.ts)
// and to the workspace package @cxone-dedup/bloom (native/), one "from → to (n imports)" line each, so
// a reviewer can see whether every arrow points down.
// Not a test: `node scripts/import-graph.mjs`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...files(full));
    else if (name.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** The top-level part of src/ a file belongs to: its first folder, or the file's own name at the root. */
function part(file) {
  const [first, ...rest] = path.relative(src, file).split(path.sep);
  return rest.length > 0 ? `${first}/` : first;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+|@cxone-dedup\/bloom[^'"]*)['"]/g;
const PACKAGE = '@cxone-dedup/bloom';
const arrows = new Map();
for (const file of files(src)) {
  const text = readFileSync(file, 'utf8');
  for (const [, spec] of text.matchAll(SPECIFIER)) {
    const from = part(file);
    const to = spec.startsWith(PACKAGE) ? PACKAGE : part(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    if (from === to) continue;
    const key = `${from} → ${to}`;
    arrows.set(key, (arrows.get(key) ?? 0) + 1);
  }
}
for (const [key, n] of [...arrows].sort(([a], [b]) => a.localeCompare(b))) console.log(`${key} (${n})`);

// Every arrow should point one way: report any cycle between parts.
const next = new Map();
for (const key of arrows.keys()) {
  const [from, to] = key.split(' → ');
  (next.get(from) ?? next.set(from, []).get(from)).push(to);
}
const cycles = [];
const state = new Map(); // 1: on the current path, 2: done
const visit = (part, path) => {
  state.set(part, 1);
  for (const to of next.get(part) ?? []) {
    if (state.get(to) === 1) cycles.push([...path.slice(path.indexOf(to)), part, to].join(' → '));
    else if (!state.has(to)) visit(to, [...path, part]);
  }
  state.set(part, 2);
};
for (const part of next.keys()) if (!state.has(part)) visit(part, []);
console.log(cycles.length === 0 ? `\nno cycles among ${next.size} parts` : `\ncycles:\n${cycles.join('\n')}`);
