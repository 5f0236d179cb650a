// names are not code (issue 7): whatever passes the name check is a plain identifier in
// strict JavaScript, a legal WGSL identifier, an inert object key and a file name that stays
// inside its folder
import { resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nameProblem, RESERVED_NAMES } from '../src/spec/names.ts';

/** true when `name` works as a binding in strict-mode JavaScript */
function strictIdentifier(name: string): boolean {
  try {
    new Function(`"use strict"; let ${name} = 1; return ${name};`);
    return true;
  } catch {
    return false;
  }
}

const out = resolve('/tmp/convgen-out');

const candidates = fc.oneof(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,70}$/),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(...RESERVED_NAMES.keys(), 'let', 'static', 'yield', 'await', 'eval', 'arguments', 'enum', 'NUL', 'Com1', 'lpt9', 'con', '.', '..', '../a', 'a/b', 'a\\b', 'a.b', 'a b', 'a\u200bb', 'x\u0000', 'Ⅻ', 'é'),
);

describe('safe names', () => {
  it('every accepted name is a strict-JS identifier, inert as a key, and a file name that stays put', () => {
    let accepted = 0;
    fc.assert(
      fc.property(candidates, (name) => {
        if (nameProblem(name) !== null) return;
        accepted++;
        expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/);
        expect(strictIdentifier(name)).toBe(true);
        expect(name in {}).toBe(false);
        expect(name.startsWith('__')).toBe(false);
        expect(JSON.stringify(name)).toBe(`"${name}"`);
        const file = resolve(out, name);
        expect(file.startsWith(out + sep) && file.slice(out.length + 1) === name).toBe(true);
      }),
      { numRuns: 3000, seed: 11 },
    );
    expect(accepted).toBeGreaterThan(500);
  });

  it('rejects every strict-mode reserved word the engine knows', () => {
    const words = ['break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'implements', 'import', 'in', 'instanceof', 'interface', 'let', 'new', 'null', 'package', 'private', 'protected', 'public', 'return', 'static', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'eval', 'arguments'];
    for (const w of words) {
      expect(strictIdentifier(w), w).toBe(false);
      expect(nameProblem(w), w).not.toBeNull();
    }
  });

  it('rejects object internals, WGSL words, Windows devices in any case', () => {
    for (const w of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'fn', 'loop', 'f32', 'vec4', 'array', 'override', 'CON', 'nUl', 'COM1', 'lpt0', '_']) {
      expect(nameProblem(w), w).not.toBeNull();
    }
    for (const w of ['conv1', 'relu_3', 'Fc', 'x', '_x', 'console', 'com10']) expect(nameProblem(w), w).toBeNull();
  });
});
