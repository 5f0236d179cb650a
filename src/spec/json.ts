// JSON text -> value, with errors that say where (line and column) and what was expected.
// JSON.parse does the parsing; when it fails, a small scanner finds the first offending
// character, because Node's messages do not always carry a position.

import { ConvgenError } from '../errors.ts';
import { quote } from './validate.ts';

const MAX_DEPTH = 512;

interface SyntaxProblem {
  offset: number;
  /** what the grammar wanted at `offset` */
  expected: string;
  /** a duplicate key: the offset of its first occurrence */
  firstAt?: number;
}

/** line and column (both 1-based) of a character offset */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** the first syntax problem in `text`, or null when it is valid JSON */
export function findSyntaxProblem(text: string): SyntaxProblem | null {
  let i = 0;
  const fail = (expected: string): never => {
    throw { offset: i, expected } satisfies SyntaxProblem;
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (word: string): void => {
    for (const c of word) {
      if (text[i] !== c) fail(`"${word}"`);
      i++;
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('a closing " for the string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('no raw control characters or line breaks inside a string (write \\n)');
      if (c === 0x5c) {
        i++;
        const e = text[i];
        if (e === 'u') {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail('4 hex digits after \\u');
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail('a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
      } else i++;
    }
  };
  const number = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (/[1-9]/.test(text[i] ?? '')) while (/[0-9]/.test(text[i] ?? '')) i++;
    else fail('a digit');
    if (text[i] === '.') {
      i++;
      if (!/[0-9]/.test(text[i] ?? '')) fail('a digit after the decimal point');
      while (/[0-9]/.test(text[i] ?? '')) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!/[0-9]/.test(text[i] ?? '')) fail('a digit in the exponent');
      while (/[0-9]/.test(text[i] ?? '')) i++;
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail(`at most ${MAX_DEPTH} levels of nesting`);
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      // JSON.parse keeps the last of two equal keys; a model file must not say two things
      const keys = new Map<string, number>();
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? 'another key after the comma (JSON allows no trailing comma)' : 'a key in double quotes');
        const start = i;
        string();
        const key = JSON.parse(text.slice(start, i)) as string;
        const first = keys.get(key);
        if (first !== undefined) throw { offset: start, expected: key, firstAt: first } satisfies SyntaxProblem;
        keys.set(key, start);
        ws();
        if (text[i] !== ':') fail('":" after the key');
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') return void i++;
        fail('"," or "}"');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        ws();
        if (text[i] === ']') fail('another value after the comma (JSON allows no trailing comma)');
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') return void i++;
        fail('"," or "]"');
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || /[0-9]/.test(c ?? '')) return number();
    fail(c === "'" ? 'a value (JSON strings use double quotes)' : 'a value');
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail('the end of the file after the top-level value');
    return null;
  } catch (e) {
    if (typeof e === 'object' && e !== null && 'offset' in e) return e as SyntaxProblem;
    throw e;
  }
}

/** parse JSON text; a syntax error becomes a ConvgenError at `line L, column C` */
export function parseJsonText(text: string): unknown {
  // editors on Windows may save a byte order mark; it is not part of the JSON
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // the scanner runs first: it also finds duplicate keys, which JSON.parse accepts silently
  const p = findSyntaxProblem(body);
  if (p === null) return JSON.parse(body);
  const { line, column } = lineColumn(body, p.offset);
  const where = `line ${line}, column ${column}`;
  if (p.firstAt !== undefined) {
    const first = lineColumn(body, p.firstAt);
    throw new ConvgenError(where, `duplicate key ${quote(p.expected)} (first at line ${first.line}, column ${first.column}); JSON would silently keep only the last`, 'remove one of them');
  }
  const found = p.offset < body.length ? `found ${quote(body[p.offset])}` : 'found the end of the file';
  throw new ConvgenError(where, `invalid JSON: expected ${p.expected}, ${found}`, 'fix the JSON syntax there (a model file is plain JSON: no comments, no trailing commas, double-quoted keys)');
}
