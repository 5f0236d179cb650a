// The reference optimizers (SGD with momentum, dampening and Nesterov; Adam and AdamW with
// AMSGrad) and losses (mse, bce_with_logits) against PyTorch 1.13 in float64: the fixture
// test/fixtures/torch/optim.json was written once by optim.py (torch's own SGD / Adam /
// AdamW steps on a fixed gradient sequence, its losses and their autograd gradients). The
// loss gradients are also checked against central finite differences of the reference loss.

import { describe, expect, it } from 'vitest';
import { bceWithLogits, mseLoss, newRefAdamState, refAdamStep, refSgdStep, type RefSgdState } from '../src/reference/index.ts';
import { mulberry32 } from './cases.ts';
import { TORCH, caseTitle } from './helpers/torch-optim.ts';

/** |got - want| <= 1e-12 * max(1, |want|), elementwise; names the worst element */
function expectF64(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    if (!(e <= worst)) [worst, at] = [e, i];
  }
  expect(worst, `${what}: element ${at}: ${got[at]} vs ${want[at]}`).toBeLessThanOrEqual(1e-12);
}

describe('reference optimizers vs torch.optim (float64, 5 steps)', () => {
  for (const c of TORCH.optimizers) {
    it(caseTitle(c), () => {
      const p = Float64Array.from(c.p0);
      const sgd: RefSgdState = { buf: null };
      const adam = newRefAdamState(p.length);
      c.grads.forEach((g, s) => {
        if (c.optimizer === 'sgd') refSgdStep(p, g, sgd, { lr: c.lrs[s], ...c.options });
        else refAdamStep(p, g, adam, { lr: c.lrs[s], ...c.options }, c.optimizer === 'adamw');
        expectF64(p, c.params[s], `after step ${s + 1}`);
      });
    });
  }
  it('covers every option', () => {
    const seen = new Set(TORCH.optimizers.flatMap((c) => Object.keys(c.options).map((k) => `${c.optimizer}.${k}`)));
    for (const k of ['sgd.momentum', 'sgd.dampening', 'sgd.nesterov', 'sgd.weightDecay', 'adam.beta1', 'adam.beta2', 'adam.eps', 'adam.weightDecay', 'adam.amsgrad', 'adamw.weightDecay', 'adamw.amsgrad', 'adamw.eps']) {
      expect(seen.has(k), k).toBe(true);
    }
  });
  it('AdamW defaults to weight decay 1e-2, Adam to 0', () => {
    const run = (decoupled: boolean, wd?: number) => {
      const p = Float64Array.from([1, -2]);
      refAdamStep(p, [0.5, 0.25], newRefAdamState(2), wd === undefined ? { lr: 0.1 } : { lr: 0.1, weightDecay: wd }, decoupled);
      return p;
    };
    expect(run(true)).toEqual(run(true, 1e-2));
    expect(run(false)).toEqual(run(false, 0));
  });
  it('refuses Nesterov without momentum or with dampening, as torch.optim.SGD', () => {
    expect(() => refSgdStep(new Float64Array(1), [1], { buf: null }, { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => refSgdStep(new Float64Array(1), [1], { buf: null }, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(/Nesterov/);
  });
});

const LOSSES = { mse: mseLoss, bce_with_logits: bceWithLogits };

describe('reference losses vs torch.nn.functional (float64)', () => {
  for (const c of TORCH.losses) {
    it(`${c.loss} on [${c.shape}]: value and gradient`, () => {
      const r = LOSSES[c.loss](c.input, c.target);
      expectF64([r.loss], [c.value], 'loss');
      expectF64(r.dOutput, c.grad, 'gradient');
    });
  }
  it('bce_with_logits stays finite and exact at logits of +-1e4', () => {
    const r = bceWithLogits([1e4, -1e4, 1e4, -1e4], [1, 0, 0, 1]);
    // the wrong-side samples cost |x| nats each; the right-side ones exp(-1e4) ~ 0
    expect(r.loss).toBe((1e4 + 1e4) / 4);
    expect(Array.from(r.dOutput)).toEqual([0, 0, 0.25, -0.25]);
  });
});

describe('loss gradients vs central finite differences (float64)', () => {
  const H = 1e-6;
  for (const [name, fn] of Object.entries(LOSSES)) {
    it(`${name}: every element, random inputs and targets`, () => {
      const rng = mulberry32(name.length);
      const n = 30;
      const x = Float64Array.from({ length: n }, () => 8 * rng() - 4);
      const t = Float64Array.from({ length: n }, () => (name === 'mse' ? 4 * rng() - 2 : rng()));
      const g = fn(x, t).dOutput;
      for (let i = 0; i < n; i++) {
        const keep = x[i];
        x[i] = keep + H;
        const up = fn(x, t).loss;
        x[i] = keep - H;
        const down = fn(x, t).loss;
        x[i] = keep;
        const fd = (up - down) / (2 * H);
        expect(Math.abs(fd - g[i]), `${name} element ${i}: fd ${fd} vs ${g[i]}`).toBeLessThan(1e-8);
      }
    });
  }
});
