// schema/model.schema.json is generated from src/spec/schema.ts, the same description the
// validator interprets; these tests hold the committed file to it, and check that the JSON
// Schema and the validator accept and reject the same documents.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConvgenError } from '../src/errors.ts';
import { parseModel } from '../src/spec/parse.ts';
import { generatedBlock, keyTables } from '../src/spec/docs.ts';
import { planExampleBlock } from '../src/spec/write-schema.ts';
import { jsonSchemaText, LAYER_VARIANTS, MODEL, toJsonSchema } from '../src/spec/schema.ts';
import { LAYER_TYPES } from '../src/spec/types.ts';
import { validate } from '../src/spec/validate.ts';
import { EXAMPLES, exampleText, mutatedModel } from './spec-mutations.ts';

const committed = readFileSync(new URL('../schema/model.schema.json', import.meta.url), 'utf8');

type S = Record<string, any>;

/**
 * a small evaluator for the draft-07 keywords the generated schema uses, so the test does
 * not trust the generator's own reading of it
 */
function conforms(v: unknown, s: S, root: S): boolean {
  if (s.$ref) return conforms(v, root.definitions[s.$ref.replace('#/definitions/', '')], root);
  const isObj = v !== null && typeof v === 'object' && !Array.isArray(v);
  if (s.type) {
    const ok = { integer: typeof v === 'number' && Number.isInteger(v), number: typeof v === 'number', string: typeof v === 'string', boolean: typeof v === 'boolean', array: Array.isArray(v), object: isObj }[s.type as string];
    if (ok === undefined) throw new Error(`evaluator: type ${s.type}`);
    if (!ok) return false;
  }
  if ('const' in s && v !== s.const) return false;
  if (s.enum && !s.enum.includes(v)) return false;
  if (typeof v === 'number' && ((s.minimum !== undefined && v < s.minimum) || (s.maximum !== undefined && v > s.maximum))) return false;
  if (typeof v === 'string' && s.pattern && !new RegExp(s.pattern, 'u').test(v)) return false;
  if (Array.isArray(v)) {
    if ((s.minItems !== undefined && v.length < s.minItems) || (s.maxItems !== undefined && v.length > s.maxItems)) return false;
    if (s.items && !v.every((x) => conforms(x, s.items, root))) return false;
  }
  if (isObj) {
    const o = v as Record<string, unknown>;
    const own = (k: string) => Object.prototype.hasOwnProperty.call(o, k);
    if (s.required && !s.required.every(own)) return false;
    if (s.properties) for (const k of Object.keys(s.properties)) if (own(k) && !conforms(o[k], s.properties[k], root)) return false;
    if (s.additionalProperties === false && !Object.keys(o).every((k) => s.properties && Object.prototype.hasOwnProperty.call(s.properties, k))) return false;
  }
  if (s.allOf && !s.allOf.every((x: S) => conforms(v, x, root))) return false;
  if (s.anyOf && !s.anyOf.some((x: S) => conforms(v, x, root))) return false;
  if (s.oneOf && s.oneOf.filter((x: S) => conforms(v, x, root)).length !== 1) return false;
  if (s.not && conforms(v, s.not, root)) return false;
  if (s.if && conforms(v, s.if, root) && s.then && !conforms(v, s.then, root)) return false;
  return true;
}

const schema = toJsonSchema() as S;

function validatorAccepts(v: unknown): boolean {
  try {
    validate(v, MODEL, '');
    return true;
  } catch (e) {
    if (e instanceof ConvgenError) return false;
    throw e;
  }
}

describe('schema/model.schema.json', () => {
  it('is the generated text (run `npx tsx src/spec/write-schema.ts` after changing src/spec/schema.ts)', () => {
    expect(committed).toBe(jsonSchemaText());
  });

  it('docs/model-json.md holds the generated key tables and plan example', () => {
    const doc = readFileSync(new URL('../docs/model-json.md', import.meta.url), 'utf8');
    expect(doc).toContain(generatedBlock('KEY TABLES', keyTables()));
    expect(doc).toContain(generatedBlock('PLAN EXAMPLE', planExampleBlock()));
  });

  it('lists every layer type with exactly the validator\'s keys', () => {
    expect(schema.definitions.layer.properties.type.enum).toEqual([...LAYER_TYPES]);
    for (const v of LAYER_VARIANTS) {
      expect(Object.keys(schema.definitions[v.type].properties).sort()).toEqual(['type', ...v.fields.map((f) => f.key)].sort());
    }
  });

  it('accepts every example, as the validator does', () => {
    for (const name of EXAMPLES) {
      const json = JSON.parse(exampleText(name));
      expect(conforms(json, schema, schema), name).toBe(true);
      expect(parseModel(json).name).toBe(json.name);
    }
  });

  it('rejects hostile names and unknown keys, as the validator does', () => {
    const ok = { name: 'm', batch: 1, input: [1, 4, 4], layers: [{ type: 'relu' }] };
    for (const bad of [
      { ...ok, name: '__proto__' }, { ...ok, name: 'class' }, { ...ok, name: 'CoN' }, { ...ok, name: '../x' }, { ...ok, name: 'a'.repeat(65) },
      { ...ok, layers: [{ type: 'relu', kernel: 2 }] }, { ...ok, layers: [{ type: 'conv_transpose2d', out_channels: 1, kernel: 1, padding: 'same' }] },
      { ...ok, layers: [{ type: 'upsample_bilinear2d', scale_factor: 2, align_corners: true }] },
    ]) {
      expect(conforms(bad, schema, schema)).toBe(false);
      expect(validatorAccepts(bad)).toBe(false);
    }
    expect(conforms(ok, schema, schema)).toBe(true);
  });

  it('torch_name: the schema\'s pattern accepts exactly the module paths the validator accepts', () => {
    const good = ['features.0', 'classifier.2', 'layer1.0.conv1', 'fc', '0', 'a_b.C9', 'weights', 'bias_1', 'x'.repeat(200)];
    const bad = ['', '.a', 'a.', 'a..b', 'a b', 'a/b', 'features.0.weight', 'fc.bias', 'weight', 'bias', 'caf\u00e9', 'x'.repeat(201), 'a-b'];
    for (const [name, want] of [...good.map((n) => [n, true] as const), ...bad.map((n) => [n, false] as const)]) {
      const m = { name: 'm', batch: 1, input: [1, 4], layers: [{ type: 'linear', out_features: 2, torch_name: name }] };
      expect(conforms(m, schema, schema), name).toBe(want);
      expect(validatorAccepts(m), name).toBe(want);
    }
  });

  it('agrees with the validator on 600 mutated examples', () => {
    let rejected = 0;
    fc.assert(
      fc.property(mutatedModel, (m) => {
        // JSON has no NaN or Infinity: compare on what a file can hold
        const json = JSON.parse(JSON.stringify(m) ?? 'null');
        const a = validatorAccepts(json);
        expect(conforms(json, schema, schema)).toBe(a);
        if (!a) rejected++;
      }),
      { numRuns: 600, seed: 7 },
    );
    expect(rejected).toBeGreaterThan(300);
  });
});
