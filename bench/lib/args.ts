/**
 * Flags of the bench scripts, declared once per script: `--help` prints what the script measures
 * and its flags with their defaults (exit 0); an unknown flag, a missing or bad value is one line
 * on stderr naming it (exit 2). Both happen before the script does any work.
 */

export interface FlagSpec {
  /** Without the leading `--`. */
  name: string;
  /** Value placeholder (`N`, `MS`, `LIST`); absent for a switch such as `--quick`. */
  arg?: string;
  /** The default as shown in --help (may depend on --quick: say so). */
  default?: string;
  help: string;
}

export interface ScriptSpec {
  /** `bench/filter.ts`: names the script in errors. */
  script: string;
  /** One line: what it measures. */
  title: string;
  /** A few lines more about the method, shown under the title. */
  about?: string;
  /** How to run it, one command per line. */
  usage: string[];
  flags: FlagSpec[];
  /** Roughly how long it runs on the reference machine (2 shared vCPUs). */
  duration: string;
  /** False for helpers that print no "part N of M" lines. */
  progress?: boolean;
}

export interface Args {
  readonly spec: ScriptSpec;
  flags: Set<string>;
  values: Map<string, string>;
}

/** Exit status of a usage error (as for most command-line tools; 1 is a failed run). */
export const USAGE_EXIT = 2;

/** One line on stderr naming the problem, then exit 2. */
export function usageError(spec: ScriptSpec, message: string): never {
  process.stderr.write(`${spec.script}: ${message} (see --help)\n`);
  process.exit(USAGE_EXIT);
}

export function helpText(spec: ScriptSpec): string {
  const flags = [...spec.flags, { name: 'help', help: 'print this text and exit' } as FlagSpec];
  const width = Math.max(...flags.map((f) => (f.arg ? `--${f.name} ${f.arg}` : `--${f.name}`).length)) + 2;
  const lines = [`${spec.script}: ${spec.title}`];
  if (spec.about) lines.push('', ...spec.about.trim().split('\n').map((l) => `  ${l}`));
  lines.push('', 'Usage:', ...spec.usage.map((u) => `  ${u}`), '', 'Flags:');
  for (const f of flags) {
    const name = f.arg ? `--${f.name} ${f.arg}` : `--${f.name}`;
    lines.push(`  ${name.padEnd(width)}${f.help}${f.default !== undefined ? ` (default: ${f.default})` : ''}`);
  }
  lines.push('', `Run time: ${spec.duration}.`);
  if (spec.progress !== false) lines.push('Progress goes to stderr: "part N of M (…) — about X left" at the start of each part.');
  lines.push('');
  return lines.join('\n');
}

/**
 * Parses `--flag`, `--name value` and `--name=value` against the script's flags. `--help` (or
 * `-h`) prints the help and exits 0; anything else unexpected exits 2 with one line.
 */
export function parseArgs(spec: ScriptSpec, argv: readonly string[] = process.argv.slice(2)): Args {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(spec));
    process.exit(0);
  }
  const flags = new Set<string>();
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) usageError(spec, `unexpected argument ${JSON.stringify(a.slice(0, 80))}`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const flag = spec.flags.find((f) => f.name === name);
    if (flag === undefined) usageError(spec, `unknown flag --${name.slice(0, 80)}`);
    if (flag.arg === undefined) {
      if (eq !== -1) usageError(spec, `--${name} takes no value`);
      flags.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = a.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) value = argv[++i];
    if (value === undefined || value === '') usageError(spec, `--${name} needs a value (--${name} ${flag.arg})`);
    values.set(name, value);
  }
  return { spec, flags, values };
}

function declared(args: Args, name: string): void {
  if (!args.spec.flags.some((f) => f.name === name)) throw new Error(`${args.spec.script}: flag --${name} is read but not declared`);
}

/** The number given with `--name`, else `fallback`; a bad value is a usage error (exit 2). */
export function numberArg(args: Args, name: string, fallback: number, min = 0, max = Number.POSITIVE_INFINITY): number {
  declared(args, name);
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    usageError(args.spec, `--${name} must be a number ${max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`}, got ${JSON.stringify(raw.slice(0, 80))}`);
  }
  return n;
}

/** The text given with `--name`, else `fallback`; with `choices`, anything else is a usage error. */
export function stringArg(args: Args, name: string, fallback: string, choices?: readonly string[]): string {
  declared(args, name);
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  if (choices && !choices.includes(raw)) usageError(args.spec, `--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(raw.slice(0, 80))}`);
  return raw;
}

/** Whether the switch `--name` was given. */
export function switchArg(args: Args, name: string): boolean {
  declared(args, name);
  return args.flags.has(name);
}
