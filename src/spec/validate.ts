// validate: check an untrusted JSON value against the model description (schema.ts).
// It stops at the first problem and throws a ConvgenError naming the JSON path, what
// is wrong, and what to write instead. It never evaluates or stringifies user input
// beyond a short, escaped excerpt, and it reads only own keys (so "__proto__" or
// "constructor" are just unknown keys).

import { ConvgenError } from '../errors.ts';
import { MODEL_INPUT, nameProblem, suggestName, torchNameProblem } from './names.ts';
import { MAX_F32, type Field, type LayerVariant, type Node } from './schema.ts';

type JsonType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'other';

export function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'boolean':
    case 'number':
    case 'string':
    case 'object':
      return typeof v as JsonType;
    default:
      return 'other';
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return jsonType(v) === 'object';
}

export function hasKey(o: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** a string as a JSON literal, cut short and with every non-printable-ASCII char escaped */
export function quote(s: string, max = 40): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  const lit = JSON.stringify(cut).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return s.length > max ? `${lit.slice(0, -1)}..." (${s.length} characters)` : lit;
}

/** a short, safe rendering of any value for a message */
export function show(v: unknown): string {
  switch (jsonType(v)) {
    case 'null':
      return 'null';
    case 'boolean':
      return String(v);
    case 'number':
      return String(v);
    case 'string':
      return `${quote(v as string)} (a string)`;
    case 'array': {
      const a = v as unknown[];
      return a.length === 0 ? 'an empty list' : `a list of ${a.length} entr${a.length === 1 ? 'y' : 'ies'}`;
    }
    case 'object':
      return 'an object';
    default:
      return v === undefined ? 'undefined' : `a ${typeof v}`;
  }
}

/** `layers[2]` + `kernel` -> `layers[2].kernel`; odd keys are quoted: `layers[2]["a b"]` */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${quote(key)}]`;
}

/** edit distance counting a swap of two neighbours as one edit (optimal string alignment); short strings only */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** the candidate nearest to `word` when it is close enough to be a likely typo */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length === 0 || word.length > 64) return undefined;
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  if (best === undefined) return undefined;
  if (bestD <= Math.max(1, Math.floor(best.length / 3))) return best;
  // kernel_size -> kernel, scale -> scale_factor
  const prefix = candidates.find((c) => Math.min(c.length, w.length) >= 4 && (w.startsWith(c.toLowerCase()) || c.toLowerCase().startsWith(w)));
  return prefix;
}

function list(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

/** how a node reads in a message: "an integer >= 1", "a list of 2 integers >= 0 [height, width]" */
export function describe(node: Node): string {
  switch (node.kind) {
    case 'integer':
      return `an integer >= ${node.min}`;
    case 'number':
      return node.min === undefined && node.max === undefined ? 'a number' : `a number ${numberRange(node)}`;
    case 'null':
      return `null (${node.doc})`;
    case 'boolean':
      return 'true or false';
    case 'const':
      return JSON.stringify(node.value);
    case 'enum':
      return node.values.length === 1 ? `"${node.values[0]}"` : `one of ${list(node.values)}`;
    case 'name':
      return 'a name (ASCII letters, digits and _, not starting with a digit)';
    case 'layerName':
      return `a name (ASCII letters, digits and _, not starting with a digit; not "${MODEL_INPUT}")`;
    case 'torchName':
      return 'a PyTorch module path ("features.0")';
    case 'string':
      return 'a string';
    case 'list': {
      const n = node.minItems === node.maxItems ? `${node.minItems}` : `${node.minItems} to ${node.maxItems}`;
      const one = node.maxItems === 1;
      const item = node.items.kind === 'integer' ? `integer${one ? '' : 's'} >= ${node.items.min}` : node.items.kind === 'layer' ? `layer object${one ? '' : 's'}` : `entr${one ? 'y' : 'ies'}`;
      return `a list of ${n} ${item}${node.labels ? ` ${node.labels}` : ''}`;
    }
    case 'oneOf':
      return node.options.map(describe).join(', or ');
    case 'object':
      return `an object with keys ${list(node.fields.map((f) => f.key))}`;
    case 'layer':
      return 'a layer object';
  }
}

/** `in [0, 1]`, `in (0, 1]`: the interval a number node allows */
function numberRange(node: Extract<Node, { kind: 'number' }>): string {
  return `in ${node.exclusiveMin ? '(' : '['}${node.min ?? -MAX_F32}, ${node.max ?? MAX_F32}${node.exclusiveMax ? ')' : ']'}`;
}

function accepts(node: Node, t: JsonType): boolean {
  switch (node.kind) {
    case 'integer':
    case 'number':
      return t === 'number';
    case 'null':
      return t === 'null';
    case 'boolean':
      return t === 'boolean';
    case 'const':
      return t === typeof node.value;
    case 'enum':
    case 'name':
    case 'layerName':
    case 'torchName':
    case 'string':
      return t === 'string';
    case 'list':
      return t === 'array';
    case 'oneOf':
      return node.options.some((o) => accepts(o, t));
    case 'object':
    case 'layer':
      return t === 'object';
  }
}

/** the root of the document has the empty path; messages call it "(top level)" */
function at(path: string): string {
  return path || '(top level)';
}

function typeError(path: string, node: Node, v: unknown): ConvgenError {
  let fix = `write ${describe(node)}`;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) && accepts(node, 'number')) fix = `write ${v.trim()} without quotes`;
  else if ((v === 'true' || v === 'false') && accepts(node, 'boolean')) fix = `write ${v} without quotes`;
  const note = node.kind === 'oneOf' && node.note ? ` (${node.note})` : '';
  return new ConvgenError(at(path), `must be ${describe(node)}, got ${show(v)}${note}`, fix);
}

function checkInteger(path: string, node: Extract<Node, { kind: 'integer' }>, v: number): void {
  // JSON turns 1e400 into Infinity; NaN only reaches here from API callers
  if (Number.isNaN(v)) throw new ConvgenError(path, `must be ${describe(node)}, got NaN`, `write ${describe(node)}`);
  if (v === -Infinity) throw new ConvgenError(path, `must be at least ${node.min}, got ${v}`, `use ${node.min} or more`);
  if (v > node.max) {
    throw new ConvgenError(path, `is ${v}, more than the limit of ${node.max} (2^31 - 1: buffers are indexed with 32-bit integers)`, 'use a smaller value');
  }
  if (!Number.isInteger(v)) {
    const near = [Math.floor(v), Math.ceil(v)].filter((x) => x >= node.min);
    throw new ConvgenError(path, `must be a whole number, got ${v}`, `use ${near.join(' or ')}`);
  }
  if (v < node.min) {
    throw new ConvgenError(path, `must be at least ${node.min}, got ${v}`, `use ${node.min} or more`);
  }
}

/** a float32 constant of a kernel: finite, not so large that float32 rounds it to infinity, and in the node's range if it has one */
function checkNumber(path: string, node: Extract<Node, { kind: 'number' }>, v: number): void {
  // JSON turns 1e400 into Infinity; NaN only reaches here from API callers (a range refuses it too)
  if (node.min !== undefined || node.max !== undefined) {
    const min = node.min ?? -MAX_F32;
    const max = node.max ?? MAX_F32;
    const below = node.exclusiveMin ? !(v > min) : !(v >= min);
    const above = node.exclusiveMax ? !(v < max) : !(v <= max);
    if (below || above) throw new ConvgenError(path, `must be a number ${numberRange(node)}, got ${v}`, `use a number ${numberRange(node)}`);
  }
  if (Number.isNaN(v)) throw new ConvgenError(path, 'must be a number, got NaN', 'write a finite number');
  if (!(Math.abs(v) <= MAX_F32)) {
    throw new ConvgenError(path, `is ${v}, outside the float32 range (at most ${MAX_F32} in size: the kernels compute in float32)`, 'use a smaller value');
  }
}

function checkName(path: string, v: string): void {
  const problem = nameProblem(v);
  if (problem !== null) {
    throw new ConvgenError(
      path,
      `${quote(v)} is not a safe name: it ${problem} (names become identifiers and file names in the generated code)`,
      `use ASCII letters, digits and _, not starting with a digit, for example "${suggestName(v, 'layer_1')}"`,
    );
  }
}

/** check `v` against `node`; throws the first problem as a ConvgenError */
export function validate(v: unknown, node: Node, path: string): void {
  const t = jsonType(v);
  if (node.kind === 'oneOf') {
    const option = node.options.find((o) => accepts(o, t));
    if (!option) throw typeError(path, node, v);
    return validate(v, option, path);
  }
  if (!accepts(node, t)) throw typeError(path, node, v);
  switch (node.kind) {
    case 'integer':
      return checkInteger(path, node, v as number);
    case 'number':
      return checkNumber(path, node, v as number);
    case 'const':
      if (v !== node.value) throw new ConvgenError(path, `is ${JSON.stringify(v)}, but ${node.why}`, `set it to ${JSON.stringify(node.value)} or remove it`);
      return;
    case 'enum': {
      const s = v as string;
      if (!node.values.includes(s)) {
        const near = nearest(s, node.values);
        throw new ConvgenError(path, `must be ${describe(node)}, got ${quote(s)}`, near ? `did you mean "${near}"?` : `use ${describe(node)}`);
      }
      return;
    }
    case 'name':
      return checkName(path, v as string);
    case 'layerName':
      checkName(path, v as string);
      if (v === MODEL_INPUT) {
        throw new ConvgenError(path, `"${MODEL_INPUT}" is reserved: in a layer's "inputs" it names the model's input`, `give the layer another name, for example "${MODEL_INPUT}_1"`);
      }
      return;
    case 'torchName': {
      const problem = torchNameProblem(v as string);
      if (problem !== null) {
        throw new ConvgenError(path, `${quote(v as string)} is not a PyTorch module path: it ${problem}`, 'write the module path as a PyTorch state_dict key starts, without the tensor name, for example "features.0" for features.0.weight');
      }
      return;
    }
    case 'list': {
      const a = v as unknown[];
      if (a.length < node.minItems || a.length > node.maxItems) {
        const want = node.minItems === node.maxItems ? `${node.minItems}` : a.length < node.minItems ? `at least ${node.minItems}` : `at most ${node.maxItems}`;
        throw new ConvgenError(path, `has ${a.length} entr${a.length === 1 ? 'y' : 'ies'}, but must have ${want}${node.labels ? ` ${node.labels}` : ''}`, node.countFix ?? `write ${describe(node)}`);
      }
      for (let i = 0; i < a.length; i++) validate(a[i], node.items, childPath(path, i));
      return;
    }
    case 'object':
      return validateFields(v as Record<string, unknown>, node.fields, path, node.what);
    case 'layer':
      return validateLayer(v as Record<string, unknown>, node.variants, path);
    case 'boolean':
    case 'string':
    case 'null':
      return;
  }
}

/** "a conv2d layer", "an avgpool2d layer" */
function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function validateFields(o: Record<string, unknown>, fields: readonly Field[], path: string, what: string, extraKeys: readonly string[] = [], elsewhere: (key: string) => string[] = () => []): void {
  const known = [...extraKeys, ...fields.map((f) => f.key)];
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    // a key of another layer kind (output_padding on a conv2d) is a mix-up, not a typo
    const owners = near ? [] : elsewhere(key);
    const belongs = owners.length ? ` ("${key}" belongs to ${owners.length > 3 ? `${owners.slice(0, 3).join(', ')}, ...` : owners.join(', ')})` : '';
    throw new ConvgenError(
      childPath(path, key),
      `unknown key ${quote(key)} in ${what}`,
      near ? `did you mean "${near}"? (${what} takes ${list(known)})` : `remove it${belongs}; ${what} takes ${list(known)}`,
    );
  }
  for (const f of fields) {
    if (f.required && !hasKey(o, f.key)) {
      throw new ConvgenError(at(path), `${what} needs "${f.key}" (${f.doc})`, `add "${f.key}": ${describe(f.node)}`);
    }
  }
  for (const f of fields) {
    if (hasKey(o, f.key)) validate(o[f.key], f.node, childPath(path, f.key));
  }
}

function validateLayer(o: Record<string, unknown>, variants: readonly LayerVariant[], path: string): void {
  const types = variants.map((v) => v.type);
  if (!hasKey(o, 'type')) {
    throw new ConvgenError(path, 'a layer needs a "type"', `add "type": one of ${list(types)}`);
  }
  const type = o.type;
  if (typeof type !== 'string') {
    throw new ConvgenError(childPath(path, 'type'), `must be a string naming the layer kind, got ${show(type)}`, `use one of ${list(types)}`);
  }
  const variant = variants.find((v) => v.type === type);
  if (!variant) {
    const near = nearest(type, types);
    throw new ConvgenError(
      childPath(path, 'type'),
      `unknown layer type ${quote(type)}`,
      `${near ? `did you mean "${near}"? ` : ''}the layer types are ${list(types)}`,
    );
  }
  const elsewhere = (key: string) => variants.filter((v) => v !== variant && v.fields.some((f) => f.key === key)).map((v) => v.type);
  validateFields(o, variant.fields, path, `${article(type)} layer`, ['type'], elsewhere);
}
