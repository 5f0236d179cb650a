// fast-check arbitraries for hostile model files: random mutations of the valid examples
// (deleted keys, wrong types, extreme numbers, unicode, huge arrays, swapped layer types).
// Shared by the fuzz test and the JSON Schema cross-check.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { LAYER_TYPES } from '../src/spec/types.ts';
import { LAYER_VARIANTS, MODEL, type Field, type Node } from '../src/spec/schema.ts';

export const EXAMPLES = ['seed', 'lenet', 'vgg', 'decoder', 'signal1d', 'seed_branches', 'signal1d_decoder'];
export const exampleText = (name: string): string => readFileSync(new URL(`../examples/${name}.json`, import.meta.url), 'utf8');

type J = unknown;

const KEYS = [...new Set([...MODEL.fields.map((f) => f.key), ...LAYER_VARIANTS.flatMap((v) => v.fields.map((f) => f.key)), 'type', 'forward', 'gradInput', 'gradWeight'])];

/** values that break things: extremes, wrong types, unicode, hostile names, huge lists */
export const nastyValue: fc.Arbitrary<J> = fc.oneof(
  fc.constantFrom<J>(0, -1, 1, 2, 3, 0.5, -0, 1e-300, 2 ** 31 - 1, 2 ** 31, 2 ** 53 + 1, 1e308, Infinity, -Infinity, NaN, null, true, false, '', '3', 'same', 'valid', 'auto', 'direct', 'im2row', 'softmax_cross_entropy', [], {}, [0], [1, 1], [2, 2, 2], [-1, 1], [1.5, 2], ['1', '1']),
  fc.constantFrom<J>('__proto__', 'constructor', 'x"; require("child_process").exec("rm -rf /")', '../../etc/passwd', 'a/b', 'a\\b', 'con', 'class', 'fn', '\u202eevil', 'x\u0000y', '${process.exit()}', '</script>', '*/ throw 1; /*'),
  fc.constantFrom<J>(...LAYER_TYPES),
  fc.integer({ min: -5, max: 40 }),
  fc.double(),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 0, max: 3 }).map((k) => Array.from({ length: [1_000, 10_000, 100_000, 3][k] }, (_, i) => i % 7)),
  fc.integer({ min: 1, max: 2000 }).map((n) => Array.from({ length: n }, () => ({ type: 'relu' }))),
);

/** every path (list of keys/indices) to a value inside `v` */
function paths(v: J, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  // a huge list is one target, not 100,000
  if (Array.isArray(v)) v.slice(0, 50).forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) paths((v as Record<string, J>)[k], [...prefix, k], out);
  return out;
}

type Mutation = (root: J, pick: number, value: J, key: string) => J;

function at(root: J, path: (string | number)[]): { parent: Record<string | number, J>; key: string | number } | null {
  if (path.length === 0) return null;
  let cur = root as Record<string | number, J>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, J>;
  return { parent: cur, key: path[path.length - 1] };
}

const mutations: Mutation[] = [
  // replace a value
  (root, pick, value) => {
    const ps = paths(root);
    const loc = at(root, ps[pick % ps.length]);
    if (!loc) return value;
    loc.parent[loc.key] = value;
    return root;
  },
  // delete a key or a list entry
  (root, pick) => {
    const ps = paths(root).filter((p) => p.length > 0);
    if (ps.length === 0) return root;
    const loc = at(root, ps[pick % ps.length])!;
    if (Array.isArray(loc.parent)) loc.parent.splice(loc.key as number, 1);
    else delete loc.parent[loc.key];
    return root;
  },
  // add a key (a real one, a near miss or junk) to some object
  (root, pick, value, key) => {
    const objs = paths(root).map((p) => (p.length ? at(root, p)!.parent[at(root, p)!.key] : root)).filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v)) as Record<string, J>[];
    if (objs.length === 0) return root;
    Object.defineProperty(objs[pick % objs.length], key, { value, enumerable: true, configurable: true, writable: true });
    return root;
  },
  // change a layer's type, keeping its keys
  (root, pick) => {
    const layers = (root as { layers?: J } | null)?.layers;
    if (!Array.isArray(layers) || layers.length === 0) return root;
    const l = layers[pick % layers.length];
    if (l && typeof l === 'object') (l as Record<string, J>).type = LAYER_TYPES[(pick >> 3) % LAYER_TYPES.length];
    return root;
  },
  // duplicate, move or drop whole layers
  (root, pick) => {
    const layers = (root as { layers?: J } | null)?.layers;
    if (!Array.isArray(layers) || layers.length === 0) return root;
    const i = pick % layers.length;
    const j = (pick >> 4) % layers.length;
    if (pick & 1) layers.splice(j, 0, structuredClone(layers[i]));
    else [layers[i], layers[j]] = [layers[j], layers[i]];
    return root;
  },
];

const keyArb = fc.oneof(fc.constantFrom(...KEYS, '__proto__', 'constructor', 'kernel_size', 'kernal', 'Type', '$schema'), fc.string({ maxLength: 12 }));

/** a model value: an example with 1 to 4 random mutations */
export const mutatedModel: fc.Arbitrary<J> = fc
  .tuple(
    fc.constantFrom(...EXAMPLES),
    fc.array(fc.tuple(fc.nat(mutations.length - 1), fc.nat(), nastyValue, keyArb), { minLength: 1, maxLength: 4 }),
  )
  .map(([name, steps]) => {
    let root: J = JSON.parse(exampleText(name));
    for (const [m, pick, value, key] of steps) root = mutations[m](root, pick, structuredClone(value), key);
    return root;
  });

/** model text: an example's JSON with characters deleted, inserted or replaced */
export const mutatedText: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...EXAMPLES), fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.string({ unit: 'binary', minLength: 0, maxLength: 3 })), { minLength: 1, maxLength: 3 }))
  .map(([name, edits]) => {
    let t = exampleText(name);
    for (const [pos, op, s] of edits) {
      const i = pos % (t.length + 1);
      t = op === 0 ? t.slice(0, i) + t.slice(i + 1) : op === 1 ? t.slice(0, i) + s + t.slice(i) : t.slice(0, i) + s + t.slice(i + s.length);
    }
    return t;
  });

/**
 * a value the description accepts, drawn from the description itself: small sizes mostly,
 * sometimes extreme ones. Optional keys come and go; names and torch names are left to their defaults.
 */
export function arbitraryFor(node: Node): fc.Arbitrary<J> {
  switch (node.kind) {
    case 'integer':
      return fc.oneof({ weight: 12, arbitrary: fc.integer({ min: node.min, max: node.min + 6 }) }, { weight: 1, arbitrary: fc.constantFrom(node.max, 2 ** 16, 2 ** 20 + 1) });
    case 'number': {
      // no range: any float32 value, mostly small; with one, the ends themselves where they are allowed, else values just inside
      if (node.min === undefined || node.max === undefined) {
        return fc.oneof({ weight: 8, arbitrary: fc.double({ min: -2, max: 2, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(0, -0, 3.4e38, -3.4e38, 1e-45) });
      }
      const lo = node.exclusiveMin ? node.min + (node.max - node.min) / 1024 : node.min;
      const hi = node.exclusiveMax ? node.max - (node.max - node.min) / 1024 : node.max;
      return fc.oneof(fc.constantFrom(lo, hi), fc.double({ min: lo, max: hi, noNaN: true }));
    }
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'const':
      return fc.constant(node.value);
    case 'enum':
      return fc.constantFrom(...node.values);
    case 'name':
    case 'layerName':
      return fc.constantFrom('a', 'Net_2', 'conv_x');
    case 'torchName':
      return fc.constantFrom('features.0', 'classifier.2', 'layer1.0.conv1', 'fc');
    case 'string':
      return fc.string();
    case 'list':
      return fc.array(arbitraryFor(node.items), { minLength: node.minItems, maxLength: Math.min(node.maxItems, node.minItems + 7) });
    case 'oneOf':
      return fc.oneof(...node.options.map(arbitraryFor));
    case 'object':
      return objectFor(node.fields);
    case 'layer':
      // names and torch names must be unique across layers, and inputs must name layers above:
      // leave them to their defaults (a chain), and leave out add and concat, which need inputs
      return fc.oneof(
        ...node.variants
          .filter((v) => v.type !== 'add' && v.type !== 'concat')
          .map((v) => objectFor(v.fields.filter((f) => f.key !== 'name' && f.key !== 'torch_name' && f.key !== 'inputs')).map((o) => ({ type: v.type, ...(o as object) }))),
      );
  }
}

function objectFor(fields: readonly Field[]): fc.Arbitrary<J> {
  const record: Record<string, fc.Arbitrary<J>> = {};
  for (const f of fields) record[f.key] = arbitraryFor(f.node);
  return fc.record(record, { requiredKeys: fields.filter((f) => f.required).map((f) => f.key) });
}

/** a model the validator must accept, whose shapes may or may not work out */
export const describedModel: fc.Arbitrary<J> = objectFor(MODEL.fields);

const small = (min: number, max: number) => fc.integer({ min, max });
const pairOrInt = (min: number, max: number) => fc.oneof(small(min, max), fc.tuple(small(min, max), small(min, max)));
const layer2d: fc.Arbitrary<J> = fc.oneof(
  fc.record({ type: fc.constant('conv2d'), out_channels: small(1, 6), kernel: pairOrInt(1, 5), stride: pairOrInt(1, 3), padding: fc.oneof(pairOrInt(0, 2), fc.constantFrom('same', 'valid')), dilation: pairOrInt(1, 2), groups: small(1, 3), bias: fc.boolean(), strategy: fc.constantFrom('auto', 'direct', 'im2row') }, { requiredKeys: ['type', 'out_channels', 'kernel'] }),
  fc.record({ type: fc.constant('conv_transpose2d'), out_channels: small(1, 6), kernel: pairOrInt(1, 4), stride: pairOrInt(1, 3), padding: pairOrInt(0, 2), output_padding: pairOrInt(0, 2), dilation: pairOrInt(1, 2), groups: small(1, 2) }, { requiredKeys: ['type', 'out_channels', 'kernel'] }),
  fc.record({ type: fc.constantFrom('maxpool2d', 'avgpool2d'), kernel: pairOrInt(1, 3), stride: pairOrInt(1, 3), padding: pairOrInt(0, 1) }, { requiredKeys: ['type', 'kernel'] }),
  fc.record({ type: fc.constant('upsample_bilinear2d'), scale_factor: pairOrInt(1, 3) }),
  fc.record({ type: fc.constantFrom('relu', 'global_maxpool', 'global_avgpool') }),
);
const layer1d: fc.Arbitrary<J> = fc.oneof(
  fc.record({ type: fc.constant('conv1d'), out_channels: small(1, 6), kernel: small(1, 7), stride: small(1, 3), padding: fc.oneof(small(0, 3), fc.constantFrom('same', 'valid')), dilation: small(1, 3), groups: small(1, 3) }, { requiredKeys: ['type', 'out_channels', 'kernel'] }),
  fc.record({ type: fc.constant('maxpool1d'), kernel: small(1, 4), stride: small(1, 3), padding: small(0, 2) }, { requiredKeys: ['type', 'kernel'] }),
  fc.record({ type: fc.constantFrom('relu', 'global_avgpool') }),
);
const head: fc.Arbitrary<J[]> = fc.oneof(
  fc.constant<J[]>([]),
  fc.tuple(small(2, 10), fc.boolean()).map(([n, bias]): J[] => [{ type: 'flatten' }, { type: 'linear', out_features: n, bias }]),
);

/** a plausible random net (mostly small, well-typed stacks), so the planner's later checks are reached */
export const plausibleModel: fc.Arbitrary<J> = fc.oneof(
  fc.tuple(small(1, 4), small(1, 24), small(1, 24), fc.array(layer2d, { minLength: 1, maxLength: 6 }), head, fc.boolean()).map(([c, h, w, layers, tail, loss]) => ({
    name: 'fuzz2d', batch: 2, input: [c, h, w], layers: [...layers, ...tail], ...(loss ? { loss: 'softmax_cross_entropy' } : {}),
  })),
  fc.tuple(small(1, 4), small(1, 64), fc.array(layer1d, { minLength: 1, maxLength: 6 }), head, fc.boolean()).map(([c, l, layers, tail, loss]) => ({
    name: 'fuzz1d', batch: 3, input: [c, l], layers: [...layers, ...tail], ...(loss ? { loss: 'softmax_cross_entropy' } : {}),
  })),
);
