// The handlebars templates in templates/: module skeletons that read like the target
// language. Every choice is resolved into named values before a template sees it; code
// blocks come pre-indented from the one Emitter (src/render/emitter.ts).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));
const cache = new Map<string, HandlebarsTemplateDelegate>();

/** render templates/<name>.hbs; values are inserted verbatim (generated code, not HTML) */
export function renderTemplate(name: string, values: object): string {
  let t = cache.get(name);
  if (!t) {
    t = Handlebars.compile(readFileSync(TEMPLATE_DIR + name + '.hbs', 'utf8'), { noEscape: true, strict: true });
    cache.set(name, t);
  }
  return t(values);
}
