// The generated parts of docs/model-json.md: the key tables, from the same description as
// the validator and the JSON Schema (schema.ts), and an example plan table. write-schema.ts
// splices them between their markers; a test holds the committed document to them.

import { describe } from './validate.ts';
import { LAYER_VARIANTS, MODEL, type Field } from './schema.ts';

const begin = (block: string) => `<!-- BEGIN GENERATED ${block} (npx tsx src/spec/write-schema.ts) -->`;
const end = (block: string) => `<!-- END GENERATED ${block} -->`;

function escape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

function defaultCell(f: Field): string {
  if (f.required) return 'required';
  if (f.default !== undefined) return `\`${JSON.stringify(f.default)}\``;
  return f.defaultDoc ?? 'absent';
}

function table(fields: readonly Field[], withType: boolean): string[] {
  return [
    '| key | value | default | meaning |',
    '|-----|-------|---------|---------|',
    ...(withType ? ['| `type` | the layer kind | required | |'] : []),
    ...fields.map((f) => `| \`${f.key}\` | ${escape(describe(f.node))} | ${escape(defaultCell(f))} | ${escape(f.doc)} |`),
  ];
}

/** the key tables of the model and of every layer kind, Markdown */
export function keyTables(): string {
  const out = ['### Model keys', '', ...table(MODEL.fields, false)];
  for (const v of LAYER_VARIANTS) {
    out.push('', `### \`${v.type}\``, '', `${v.doc[0].toUpperCase()}${v.doc.slice(1)}.`, '', ...table(v.fields, true));
  }
  return out.join('\n');
}

/** `content` wrapped in the markers of `block` */
export function generatedBlock(block: string, content: string): string {
  return `${begin(block)}\n\n${content.trimEnd()}\n\n${end(block)}`;
}

/** `doc` with the block named `block` replaced by `content` */
export function spliceBlock(doc: string, block: string, content: string): string {
  const a = doc.indexOf(begin(block));
  const b = doc.indexOf(end(block));
  if (a < 0 || b < a) throw new Error(`docs/model-json.md has no markers for the generated ${block}`);
  return doc.slice(0, a) + generatedBlock(block, content) + doc.slice(b + end(block).length);
}
