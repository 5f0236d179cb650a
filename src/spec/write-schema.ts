// npx tsx src/spec/write-schema.ts: regenerate schema/model.schema.json and the generated
// parts of docs/model-json.md (key tables, example plan) from the sources they describe;
// test/spec-schema.test.ts fails when any of them is stale.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { keyTables, spliceBlock } from './docs.ts';
import { jsonSchemaText } from './schema.ts';
import { loadModelFile } from './parse.ts';
import { planModel } from '../plan/plan.ts';
import { formatPlanTable } from '../plan/table.ts';

const file = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));

/** the example plan shown in the docs: `convgen plan examples/lenet.json` */
export function planExampleBlock(): string {
  const table = formatPlanTable(planModel(loadModelFile(file('examples/lenet.json'))));
  return ['```', '$ npx convgen plan examples/lenet.json', table.trimEnd(), '```'].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(file('schema/model.schema.json'), jsonSchemaText());
  let doc = readFileSync(file('docs/model-json.md'), 'utf8');
  doc = spliceBlock(doc, 'KEY TABLES', keyTables());
  doc = spliceBlock(doc, 'PLAN EXAMPLE', planExampleBlock());
  writeFileSync(file('docs/model-json.md'), doc);
  process.stdout.write('wrote schema/model.schema.json and docs/model-json.md\n');
}
