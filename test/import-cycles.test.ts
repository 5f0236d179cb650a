// src/ has no import cycles, and plan/ does not reach into kernels/ (the planner chooses the
// schedule; the lowering reads it). A cycle makes module order matter and hides which layer
// owns a concept (kernels/cost.ts <-> kernels/conv.ts and plan/ -> kernels/ were found here).

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** every relative import or re-export of a module (type-only ones too: they still tie the modules' concepts) */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;
  for (const m of text.matchAll(re)) out.push(resolve(dirname(file), m[1] ?? m[2]!));
  return out;
}

/** the cycles of a graph, each as the path that closes it (depth-first, one per back edge) */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return cycles;
}

const graph = new Map(sources(SRC).map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))] as const));
const rel = (p: string) => relative(SRC, p);

describe('src/ imports', () => {
  it('finds the imports of a module (the scan itself works)', () => {
    expect(importsOf('/a/b/c.ts', "import type { X } from '../d.ts';\nexport { y } from './e.ts';\nconst m = await import('./f.ts');").map((p) => relative('/a', p))).toEqual(['d.ts', 'b/e.ts', 'b/f.ts']);
    expect(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual([['a', 'b', 'c', 'a']]);
    expect(graph.get(join(SRC, 'cli/main.ts'))!.map(rel)).toContain('cli/plan.ts');
  });

  it('has no cycles', () => {
    expect(findCycles(graph).map((c) => c.map(rel).join(' -> '))).toEqual([]);
  });

  it('keeps the planner out of the lowering: plan/ imports nothing from kernels/', () => {
    const bad = [...graph].flatMap(([f, deps]) => (rel(f).startsWith('plan/') ? deps.filter((d) => rel(d).startsWith('kernels/')).map((d) => `${rel(f)} -> ${rel(d)}`) : []));
    expect(bad).toEqual([]);
  });
});

// the generated modules too: a cycle there (wasm/runtime.ts <-> wasm/threads.ts was one) fails
// to load where an app's bundler or loader runs them as CommonJS (ERR_REQUIRE_CYCLE_MODULE)
describe('generated/ imports', () => {
  const GEN = resolve(import.meta.dirname, '../generated');
  for (const model of readdirSync(GEN)) {
    it(`${model} has no cycles`, () => {
      const files = sources(join(GEN, model));
      expect(files.length).toBeGreaterThan(3);
      const g = new Map(files.map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))] as const));
      expect(findCycles(g).map((c) => c.map((p) => relative(GEN, p)).join(' -> '))).toEqual([]);
    });
  }
});
