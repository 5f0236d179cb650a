// The key tables of docs/model-json.md, generated from the same description as the
// validator and the JSON Schema (schema.ts); write-schema.ts splices them between the
// markers and a test holds the committed document to them.

import { describe } from './validate.ts';
import { LAYER_VARIANTS, MODEL, type Field } from './schema.ts';

export const BEGIN = '<!-- BEGIN GENERATED KEY TABLES (npx tsx src/spec/write-schema.ts) -->';
export const END = '<!-- END GENERATED KEY TABLES -->';

function escape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

function defaultCell(f: Field): string {
  if (f.required) return 'required';
  if (f.default !== undefined) return `\`${JSON.stringify(f.default)}\``;
  return f.defaultDoc ?? 'absent';
}

function table(fields: readonly Field[], withType: boolean): string[] {
  const rows = [
    '| key | value | default | meaning |',
    '|-----|-------|---------|---------|',
    ...(withType ? ['| `type` | the layer kind | required | |'] : []),
    ...fields.map((f) => `| \`${f.key}\` | ${escape(describe(f.node))} | ${escape(defaultCell(f))} | ${escape(f.doc)} |`),
  ];
  return rows;
}

/** the generated block, markers included */
export function keyTables(): string {
  const out = [BEGIN, '', '### Model keys', '', ...table(MODEL.fields, false)];
  for (const v of LAYER_VARIANTS) {
    out.push('', `### \`${v.type}\``, '', `${v.doc[0].toUpperCase()}${v.doc.slice(1)}.`, '', ...table(v.fields, true));
  }
  out.push('', END);
  return out.join('\n');
}

/** `doc` with its generated block replaced by the current one */
export function spliceKeyTables(doc: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error('docs/model-json.md has no generated-block markers');
  return doc.slice(0, a) + keyTables() + doc.slice(b + END.length);
}
