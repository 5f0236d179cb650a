// hostile model files (issue 7): random mutations of the examples never escape as anything
// but a ConvgenError, and every error message is one line of printable ASCII
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConvgenError } from '../src/errors.ts';
import { planModel } from '../src/plan/plan.ts';
import { parseModel, parseModelText } from '../src/spec/parse.ts';
import { nameProblem } from '../src/spec/names.ts';
import { findSyntaxProblem } from '../src/spec/json.ts';
import { describedModel, mutatedModel, mutatedText, plausibleModel } from './spec-mutations.ts';

interface Tally {
  runs: number;
  planned: number;
  cleanErrors: number;
}

/** parse and plan; a thrown value must be a clean ConvgenError */
function check(run: () => ReturnType<typeof planModel>, tally: Tally): void {
  tally.runs++;
  let plan;
  try {
    plan = run();
  } catch (e) {
    if (!(e instanceof ConvgenError)) throw e;
    // one paragraph, safe to print: no newlines, no control or non-ASCII characters
    expect(e.message).toMatch(/^[\x20-\x7e]+$/);
    expect(e.where.length).toBeGreaterThan(0);
    expect(e.fix.length).toBeGreaterThan(0);
    tally.cleanErrors++;
    return;
  }
  tally.planned++;
  // what passed is safe: names are identifiers, every size a positive safe integer
  for (const l of plan.layers) {
    expect(nameProblem(l.name)).toBeNull();
    for (const d of [...l.inShape, ...l.outShape]) expect(Number.isSafeInteger(d) && d > 0).toBe(true);
  }
  expect(nameProblem(plan.name)).toBeNull();
}

describe('fuzzing parseModel + planModel', () => {
  it('mutated model values: only ConvgenErrors', () => {
    const tally: Tally = { runs: 0, planned: 0, cleanErrors: 0 };
    fc.assert(fc.property(mutatedModel, (m) => check(() => planModel(parseModel(m)), tally)), { numRuns: 1500, seed: 20261125 });
    expect(tally.runs).toBe(1500);
    expect(tally.cleanErrors + tally.planned).toBe(tally.runs);
    // the mutations must mostly hit: a generator that never breaks anything tests nothing
    expect(tally.cleanErrors).toBeGreaterThan(tally.runs * 0.6);
    console.info(`fuzz (values): ${tally.runs} mutated models, ${tally.cleanErrors} clean errors, ${tally.planned} valid plans`);
  });

  it('mutated model text: only ConvgenErrors', () => {
    const tally: Tally = { runs: 0, planned: 0, cleanErrors: 0 };
    fc.assert(
      fc.property(mutatedText, (t) => {
        // the scanner that locates errors agrees with JSON.parse (duplicate keys aside)
        let parses = true;
        try {
          JSON.parse(t.replace(/^\ufeff/, ''));
        } catch {
          parses = false;
        }
        const problem = findSyntaxProblem(t.replace(/^\ufeff/, ''));
        if (!parses) expect(problem).not.toBeNull();
        else if (problem !== null) expect(problem.firstAt).toBeDefined();
        check(() => planModel(parseModelText(t)), tally);
      }),
      { numRuns: 500, seed: 20261125 },
    );
    expect(tally.cleanErrors).toBeGreaterThan(tally.runs * 0.5);
    console.info(`fuzz (text): ${tally.runs} mutated files, ${tally.cleanErrors} clean errors, ${tally.planned} valid plans`);
  });

  it('models drawn from the schema description: the validator accepts them all, the planner plans or explains', () => {
    const tally: Tally = { runs: 0, planned: 0, cleanErrors: 0 };
    fc.assert(
      fc.property(describedModel, (m) => {
        const spec = parseModel(m);
        check(() => planModel(spec), tally);
      }),
      { numRuns: 1000, seed: 20261125 },
    );
    // a generator whose models never plan would not reach the code past the first error
    expect(tally.planned).toBeGreaterThan(20);
    console.info(`fuzz (described): ${tally.runs} random valid-looking models, ${tally.cleanErrors} clean planner errors, ${tally.planned} valid plans`);
  });

  it('plausible random nets: parse, then plan or a clean planner error', () => {
    const tally: Tally = { runs: 0, planned: 0, cleanErrors: 0 };
    fc.assert(fc.property(plausibleModel, (m) => check(() => planModel(parseModel(m)), tally)), { numRuns: 1000, seed: 20261125 });
    expect(tally.planned).toBeGreaterThan(200);
    expect(tally.cleanErrors).toBeGreaterThan(200);
    console.info(`fuzz (plausible): ${tally.runs} random nets, ${tally.cleanErrors} clean planner errors, ${tally.planned} valid plans`);
  });

  it('fresh seeds too (not only the pinned one)', () => {
    const tally: Tally = { runs: 0, planned: 0, cleanErrors: 0 };
    fc.assert(fc.property(mutatedModel, (m) => check(() => planModel(parseModel(m)), tally)), { numRuns: 300 });
  });
});
