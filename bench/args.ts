// The benchmark scripts' flags (bench/run.ts, bench/gpu.ts): --quick, --only A,B (repeatable),
// --out DIR, --help, and any on/off switches a script adds (`--no-compiler`).

export interface BenchArgs {
  quick: boolean;
  only: string[] | null;
  out: string | null;
  /** the switches given, by name (`no-compiler`) */
  switches: Set<string>;
}

/** parses argv for `script`, whose configs are `ids`; throws on anything else */
export function parseBenchArgs(argv: string[], script: string, ids: readonly string[], usage: string, switches: readonly string[] = []): BenchArgs {
  const a: BenchArgs = { quick: false, only: null, out: null, switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${script}: ${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') a.quick = true;
    else if (switches.includes(arg.replace(/^--/, ''))) a.switches.add(arg.replace(/^--/, ''));
    else if (arg.startsWith('--only')) {
      const wanted = value().toUpperCase().split(',').map((s) => s.trim()).filter(Boolean);
      const bad = wanted.filter((id) => !ids.includes(id));
      if (bad.length) throw new Error(`${script}: unknown config ${bad.join(', ')} (configs: ${ids.join(', ')})`);
      a.only = [...(a.only ?? []), ...wanted];
    } else if (arg.startsWith('--out')) a.out = value();
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(usage + '\n');
      process.exit(0);
    } else throw new Error(`${script}: unknown argument ${arg} (see --help)`);
  }
  return a;
}
