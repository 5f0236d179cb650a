// npx tsx src/spec/write-schema.ts: regenerate schema/model.schema.json and the key tables
// of docs/model-json.md from schema.ts (test/spec-schema.test.ts fails when either is stale)

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spliceKeyTables } from './docs.ts';
import { jsonSchemaText } from './schema.ts';

const schema = fileURLToPath(new URL('../../schema/model.schema.json', import.meta.url));
writeFileSync(schema, jsonSchemaText());
const docs = fileURLToPath(new URL('../../docs/model-json.md', import.meta.url));
writeFileSync(docs, spliceKeyTables(readFileSync(docs, 'utf8')));
process.stdout.write(`wrote ${schema}\nwrote ${docs}\n`);
