// `--name value` / `--flag` command-line parsing for the example apps, with typed defaults.

export type Defaults = Record<string, number | string | boolean>;

/** parses argv against `defaults` (their types say how to read each value); exits on a bad flag */
export function parseArgs<T extends Defaults>(argv: string[], defaults: T, usage: string): T {
  const out: Defaults = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const key = a.startsWith('--') ? a.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) : '';
    if (a === '--help' || a === '-h') {
      process.stdout.write(usage + '\n');
      process.exit(0);
    }
    if (!key || !(key in defaults)) {
      process.stderr.write(`unknown argument "${a}"\n${usage}\n`);
      process.exit(2);
    }
    const d = defaults[key];
    if (typeof d === 'boolean') {
      out[key] = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) {
      process.stderr.write(`${a} needs a value\n${usage}\n`);
      process.exit(2);
    }
    if (typeof d === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) {
        process.stderr.write(`${a} needs a number, got "${v}"\n`);
        process.exit(2);
      }
      out[key] = n;
    } else {
      out[key] = v;
    }
  }
  return out as T;
}
