/** Tiny `--flag` / `--name=value` / `--name value` parser for the bench scripts. */

export interface Args {
  flags: Set<string>;
  values: Map<string, string>;
}

export function parseArgs(argv: readonly string[] = process.argv.slice(2)): Args {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf('=');
    if (eq !== -1) values.set(a.slice(2, eq), a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) values.set(a.slice(2), argv[++i]!);
    else flags.add(a.slice(2));
  }
  return { flags, values };
}

export function numberArg(args: Args, name: string, fallback: number, min = 0): number {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function stringArg(args: Args, name: string, fallback: string): string {
  return args.values.get(name) ?? fallback;
}
