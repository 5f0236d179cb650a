// one flag parser for every command (src/cli/flags.ts): `plan --strategy auto` was refused
// while build and check accepted it; the three hand-written parsers disagreed on messages
import { describe, expect, it } from 'vitest';
import { parseFlags, STRATEGY_FLAG } from '../src/cli/flags.ts';
import { planCommand } from '../src/cli/plan.ts';
import { buildCommand } from '../src/cli/build.ts';
import { checkCommand } from '../src/cli/check.ts';
import { runCaptured } from './helpers/cli.ts';

const SPEC = {
  '--json': { kind: 'bool' },
  '--strategy': STRATEGY_FLAG,
  '--out': { kind: 'path', what: 'a folder', example: 'generated' },
  '--seed': { kind: 'count', example: 1 },
} as const;

describe('parseFlags', () => {
  it('reads --flag value, --flag=value, booleans and files in any order', () => {
    expect(parseFlags('x', ['a.json', '--strategy', 'im2row', '--json', '--out=o', 'b.json', '--seed', '3'], SPEC)).toEqual({
      files: ['a.json', 'b.json'],
      flags: { '--strategy': 'im2row', '--json': true, '--out': 'o', '--seed': 3 },
    });
    expect(parseFlags('x', ['a.json', '-h'], SPEC)).toBe('help');
  });

  it('names the flag, the problem and the fix', () => {
    const err = (args: string[]) => () => parseFlags('x', args, SPEC);
    expect(err(['a.json', '--strategy', 'fast'])).toThrow('--strategy: must be one of auto, direct, im2row, got "fast"; write --strategy auto');
    expect(err(['a.json', '--strategy'])).toThrow('--strategy: must be one of auto, direct, im2row, got nothing');
    expect(err(['a.json', '--out'])).toThrow('--out: needs a folder; write --out generated');
    expect(err(['a.json', '--seed', '-1'])).toThrow('--seed: must be a non-negative integer, got "-1"; write --seed 1');
    expect(err(['a.json', '--json=yes'])).toThrow('--json: takes no value');
    expect(err(['a.json', '--jsn'])).toThrow('--jsn: unknown flag; see convgen x --help');
    expect(err(['--json'])).toThrow('arguments: no model file given; run convgen x model.json');
  });
});

describe('every command', () => {
  it('takes --strategy auto|direct|im2row and refuses anything else the same way', async () => {
    for (const s of ['auto', 'direct', 'im2row']) {
      expect((await runCaptured(planCommand, ['examples/seed.json', '--strategy', s])).code).toBe(0);
      expect((await runCaptured(buildCommand, ['examples/seed.json', '--strategy', s, '--dump', 'plan'])).code).toBe(0);
    }
    const auto = await runCaptured(planCommand, ['examples/lenet.json', '--strategy=auto']);
    expect(auto.out).toBe((await runCaptured(planCommand, ['examples/lenet.json'])).out);
    for (const command of [planCommand, buildCommand, checkCommand]) {
      await expect(command(['examples/seed.json', '--strategy', 'fast'])).rejects.toThrow('--strategy: must be one of auto, direct, im2row, got "fast"');
    }
  });
});
