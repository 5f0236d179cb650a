// npx tsx src/spec/write-schema.ts: regenerate schema/model.schema.json from schema.ts
// (test/spec-schema.test.ts fails when the committed file is stale)

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jsonSchemaText } from './schema.ts';

const target = fileURLToPath(new URL('../../schema/model.schema.json', import.meta.url));
writeFileSync(target, jsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
