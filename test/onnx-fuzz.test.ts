// Fuzz: truncated and byte-mutated ONNX files get a ConvgenError (a clean message, exit 2 in
// the CLI) or import cleanly, never another exception. fast-check with a fixed seed and a
// bounded number of runs, over every PyTorch fixture.

import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import fc from 'fast-check';
import { ConvgenError } from '../src/errors.ts';
import { importOnnx } from '../src/onnx/index.ts';

const FIXTURES = ['lenet_view', 'lenet_view_dynamic', 'resnet_small_bn', 'resnet_small_fused', 'unet_tiny', 'mobilenet_tiny', 'conv1d_net', 'gelu_dropout', 'bn_train', 'zeropad_conv'];
const files = FIXTURES.map((f) => new Uint8Array(readFileSync(new URL(`./fixtures/onnx/${f}/model.onnx`, import.meta.url))));

/** import the bytes; the outcome is "ok" or "error", and anything but a ConvgenError fails the property */
function outcome(bytes: Uint8Array): 'ok' | 'error' {
  try {
    importOnnx(bytes, { batch: 2 });
    return 'ok';
  } catch (err) {
    if (err instanceof ConvgenError) return 'error';
    throw new Error(`not a ConvgenError: ${String(err)}`, { cause: err });
  }
}

it('a truncated file is a ConvgenError, never another exception', () => {
  let errors = 0;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: FIXTURES.length - 1 }), fc.double({ min: 0, max: 1, noNaN: true }), (f, at) => {
      const whole = files[f]!;
      const cut = Math.min(whole.length - 1, Math.floor(at * whole.length));
      if (outcome(whole.subarray(0, cut)) === 'error') errors++;
    }),
    { seed: 1414, numRuns: 300 },
  );
  // almost every cut leaves a file that is not an importable model
  expect(errors).toBeGreaterThan(250);
});

it('a file with mutated bytes is a ConvgenError or a model, never another exception', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: FIXTURES.length - 1 }),
      fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      (f, edits) => {
        const bytes = Uint8Array.from(files[f]!);
        // the protobuf structure lives in the first bytes and between the raw tensors: aim half the edits there
        for (const [i, [at, value]] of edits.entries()) bytes[Math.floor((i % 2 === 0 ? at * Math.min(600, bytes.length) : at * bytes.length)) % bytes.length] = value;
        outcome(bytes);
      },
    ),
    { seed: 1415, numRuns: 400 },
  );
});

it('random bytes and empty input are ConvgenErrors', () => {
  expect(outcome(new Uint8Array(0))).toBe('error');
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (b) => {
      outcome(b);
    }),
    { seed: 1416, numRuns: 300 },
  );
});
