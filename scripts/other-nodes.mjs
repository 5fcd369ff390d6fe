// Official Node.js binaries of other majors, from the npm registry (`node-<platform>-<arch>`),
// downloaded once into .tmp/node/ for the multi-version test run (scripts/test.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/** The other Node.js releases the suite runs on, pinned so a run is reproducible. */
export const OTHER_NODES = ['22.23.5', '24.22.3'];

function sh(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
  return r.stdout.trim();
}

/** Path of the `node` binary of `version`, downloading it first when it is not cached. */
export function nodeBinary(root, version) {
  const dir = path.join(root, '.tmp', 'node', version);
  const bin = path.join(dir, 'package', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (existsSync(bin)) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pkg = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}@${version}`;
  console.log(`── downloading Node.js ${version} (${pkg}) from the npm registry`);
  sh('npm', ['pack', pkg, '--silent', '--pack-destination', dir], dir);
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (tgz === undefined) throw new Error(`npm pack ${pkg} produced no tarball`);
  sh('tar', ['xzf', tgz], dir);
  rmSync(path.join(dir, tgz));
  const got = sh(bin, ['--version'], dir);
  if (got !== `v${version}`) throw new Error(`${bin} says ${got}, expected v${version}`);
  return bin;
}
