// The one flag parser of every command: each command declares its flags as data, and
// this reads argv the same way for all of them (`--flag value` or `--flag=value`, -h /
// --help, the rest are model files). Errors are ConvgenErrors naming the flag.

import { ConvgenError } from '../errors.ts';

export type FlagSpec =
  /** present or not */
  | { readonly kind: 'bool' }
  /** one of a fixed set of words */
  | { readonly kind: 'choice'; readonly values: readonly string[] }
  /** a non-empty word naming `what` (a file, a folder); `example` goes into the fix */
  | { readonly kind: 'path'; readonly what: string; readonly example: string }
  /** a non-negative integer; `min` and `means` (what the error says it must be) where 0 is not allowed */
  | { readonly kind: 'count'; readonly example: number; readonly min?: number; readonly means?: string; readonly fix?: string };

export type Flags<S extends Record<string, FlagSpec>> = {
  readonly [K in keyof S]?: S[K] extends { kind: 'bool' } ? true : S[K] extends { kind: 'count' } ? number : S[K] extends { kind: 'choice'; values: readonly (infer V)[] } ? V : string;
};

export interface ParsedArgs<S extends Record<string, FlagSpec>> {
  readonly files: string[];
  readonly flags: Flags<S>;
}

const shown = (v: string | undefined) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** argv of `convgen <command>`: its model files and flags, or 'help'; `file` is what the command reads, for the error when none is given */
export function parseFlags<S extends Record<string, FlagSpec>>(command: string, args: readonly string[], spec: S, file = 'model.json'): ParsedArgs<S> | 'help' {
  const files: string[] = [];
  const flags: Record<string, string | number | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (name === '-h' || name === '--help') return 'help';
    const s = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!s) {
      if (a.startsWith('-') && a !== '-') throw new ConvgenError(a, 'unknown flag', `see convgen ${command} --help`);
      files.push(a);
      continue;
    }
    if (s.kind === 'bool') {
      if (eq > 0) throw new ConvgenError(name, 'takes no value', `write ${name} alone`);
      flags[name] = true;
      continue;
    }
    const inline = eq > 0 && a.startsWith('--');
    const v = inline ? a.slice(eq + 1) : args[++i];
    // `--out --force` is a forgotten value, not a folder named --force (write --out=--force for that)
    if (!inline && v !== undefined && v.startsWith('--')) throw new ConvgenError(name, `needs a value, got the flag ${v}`, s.kind === 'choice' ? `write ${name} ${s.values[0]}` : `write ${name} ${s.example}`);
    if (s.kind === 'choice') {
      if (v === undefined || !s.values.includes(v)) throw new ConvgenError(name, `must be one of ${s.values.join(', ')}, got ${shown(v)}`, `write ${name} ${s.values[0]}`);
      flags[name] = v;
    } else if (s.kind === 'path') {
      if (!v) throw new ConvgenError(name, `needs ${s.what}`, `write ${name} ${s.example}`);
      flags[name] = v;
    } else {
      const n = Number(v);
      if (v === undefined || v === '' || !/^\d+$/.test(v) || n < (s.min ?? 0)) throw new ConvgenError(name, `must be ${s.means ?? 'a non-negative integer'}, got ${shown(v)}`, s.fix ?? `write ${name} ${s.example}`);
      flags[name] = n;
    }
  }
  if (files.length === 0) throw new ConvgenError('arguments', `no ${file === 'model.json' ? 'model' : file.slice(file.lastIndexOf('.'))} file given`, `run convgen ${command} ${file}`);
  return { files, flags: flags as Flags<S> };
}

/** --limits with a target other than WGSL: every command refuses it the same way */
export function limitsNeedWgsl(): ConvgenError {
  return new ConvgenError('--limits', 'WebGPU limits apply to the WGSL target only', 'add --target wgsl (or all, for build), or drop --limits');
}

/** the conv strategy flag all commands share: `auto` (the default) leaves the choice to the model file and the cost model */
export const STRATEGY_FLAG = { kind: 'choice', values: ['auto', 'direct', 'im2row'] } as const satisfies FlagSpec;
