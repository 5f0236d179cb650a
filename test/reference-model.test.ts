// The model-level reference (seed Layer interface) and the shared case table itself.

import { describe, expect, it } from 'vitest';
import { CASES, caseData, mulberry32, planCase, randomArray } from './cases.ts';
import { createReferenceModel, refBackward, refForward } from '../src/reference/index.ts';
import { LAYER_TYPES } from '../src/spec/types.ts';
import type { LayerPlan } from '../src/plan/types.ts';

describe('the case table', () => {
  const plans = CASES.map((c) => ({ c, plan: planCase(c) }));
  const layers = plans.flatMap(({ plan }) => plan.layers);
  const convs = layers.filter((l): l is LayerPlan & { type: 'conv1d' | 'conv2d' | 'conv_transpose2d' } => 'geometry' in l && 'groups' in l.geometry);

  it('has unique names and unique model names', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    expect(new Set(CASES.map((c) => c.model.name)).size).toBe(CASES.length);
  });

  it('covers every layer kind', () => {
    expect(new Set(layers.map((l) => l.type))).toEqual(new Set(LAYER_TYPES));
  });

  it('covers the corners', () => {
    const some = (what: string, p: (l: (typeof convs)[number]) => boolean): void => expect(convs.some(p), what).toBe(true);
    for (const type of ['conv1d', 'conv2d', 'conv_transpose2d'] as const) {
      const of = (p: (l: (typeof convs)[number]) => boolean) => (l: (typeof convs)[number]) => l.type === type && p(l);
      some(`${type} stride > 1`, of((l) => l.geometry.strideW > 1));
      some(`${type} dilation > 1`, of((l) => l.geometry.dilationW > 1));
      some(`${type} groups`, of((l) => l.geometry.groups > 1));
      some(`${type} depthwise`, of((l) => l.geometry.groups === l.geometry.inC));
      some(`${type} 1-wide kernel`, of((l) => l.geometry.kW === 1));
      some(`${type} no bias`, of((l) => l.biasShape === null));
      some(`${type} stride larger than the kernel`, of((l) => l.geometry.strideW > l.geometry.kW));
      some(`${type} batch 7`, of((l) => l.geometry.batch === 7));
      some(`${type} channels not a multiple of 4`, of((l) => l.geometry.inC % 4 !== 0 && l.geometry.outC % 4 !== 0));
    }
    some('conv2d non-square kernel', (l) => l.type === 'conv2d' && l.geometry.kH !== l.geometry.kW);
    some('conv2d non-square input', (l) => l.type === 'conv2d' && l.geometry.inH !== l.geometry.inW);
    some('conv2d kernel as large as the input', (l) => l.type === 'conv2d' && l.geometry.kH === l.geometry.inH && l.geometry.kW === l.geometry.inW);
    some('conv1d kernel as long as the input', (l) => l.type === 'conv1d' && l.geometry.kW === l.geometry.inW);
    some('conv2d asymmetric padding', (l) => l.type === 'conv2d' && (l.geometry.pad.top !== l.geometry.pad.bottom || l.geometry.pad.left !== l.geometry.pad.right));
    some('conv1d asymmetric padding', (l) => l.type === 'conv1d' && l.geometry.pad.left !== l.geometry.pad.right);
    some('conv_transpose2d output_padding', (l) => l.type === 'conv_transpose2d' && l.geometry.outputPadH > 0 && l.geometry.outputPadH < l.geometry.strideH);
    some('conv_transpose2d output_padding below dilation', (l) => l.type === 'conv_transpose2d' && l.geometry.outputPadH >= l.geometry.strideH);
    expect(CASES.filter((c) => c.input === 'ties').map((c) => c.kinds[0]).sort()).toEqual(['global_maxpool', 'maxpool1d', 'maxpool2d']);
    expect(plans.some(({ plan }) => plan.batch === 1) && plans.some(({ plan }) => plan.batch === 7)).toBe(true);
    expect(plans.filter(({ plan }) => plan.loss !== null).length).toBeGreaterThanOrEqual(3);
  });

  it('caseData is deterministic', () => {
    const a = caseData(CASES[0]);
    const b = caseData(CASES[0]);
    expect(a.x).toEqual(b.x);
    expect(a.params).toEqual(b.params);
    expect(caseData(CASES[0], 2).x).not.toEqual(a.x);
  });
});

describe('createReferenceModel', () => {
  const c = CASES.find((k) => k.name.startsWith('tiny_lenet'))!;

  it('runs the layer list: model.forward = the layers chained with refForward', () => {
    const { plan, x, params } = caseData(c);
    const model = createReferenceModel(plan, params);
    let a: Float64Array = x;
    for (const l of plan.layers) a = refForward(l, a, params[l.name] ?? {}).y;
    expect(model.forward(x)).toEqual(a);
  });

  it('keys params and grads by layer name, in PyTorch layouts', () => {
    const { plan, params } = caseData(c);
    const model = createReferenceModel(plan, params);
    expect(Object.keys(model.params).sort()).toEqual(['conv2d0', 'conv2d3', 'linear7']);
    expect(Object.keys(model.grads).sort()).toEqual(['conv2d0', 'conv2d3', 'linear7']);
    expect(model.params.conv2d3.weight!.length).toBe(4 * 3 * 3 * 3);
    expect(model.grads.linear7.bias!.length).toBe(3);
  });

  it('overwrites grads on every backward (no accumulation)', () => {
    const { plan, x, params, labels } = caseData(c);
    const model = createReferenceModel(plan, params);
    model.lossAndGrad(x, labels!);
    const once = model.grads.conv2d0.weight!.slice();
    model.lossAndGrad(x, labels!);
    expect(model.grads.conv2d0.weight).toEqual(once);
    expect(once.some((v) => v !== 0)).toBe(true);
  });

  it('the layer backward returns dL/dinput and fills the layer grads', () => {
    const { plan, x, params, dy } = caseData(c);
    const model = createReferenceModel(plan, params);
    model.forward(x);
    const dx = model.backward(Float64Array.from(dy));
    expect(dx.length).toBe(x.length);
    expect(dx.some((v) => v !== 0)).toBe(true);
  });

  it('rejects missing or mis-sized parameters and backward before forward', () => {
    const { plan, params } = caseData(c);
    expect(() => createReferenceModel(plan, { ...params, conv2d0: undefined as never })).toThrow(/no params for layer "conv2d0"/);
    const bad = createReferenceModel(plan, { ...params, conv2d0: { weight: new Float64Array(5), bias: params.conv2d0.bias } });
    expect(() => bad.forward(new Float64Array(3 * 64))).toThrow(/weight has 5 elements, expected 27/);
    const fresh = createReferenceModel(plan, params);
    expect(() => fresh.backward(new Float64Array(9))).toThrow(/before forward/);
  });
});

describe('refForward / refBackward', () => {
  it('accept float32 buffers (what generated kernels hand over) and agree with float64', () => {
    const c = CASES[0];
    const { plan, x, params, dy } = caseData(c);
    const l = plan.layers[0];
    const x32 = Float32Array.from(x);
    const w32 = Float32Array.from(params[l.name].weight!);
    const b32 = Float32Array.from(params[l.name].bias!);
    const p64 = { weight: Float64Array.from(w32), bias: Float64Array.from(b32) };
    expect(refForward(l, x32, { weight: w32, bias: b32 }).y).toEqual(refForward(l, Float64Array.from(x32), p64).y);
    expect(refBackward(l, x32, null, dy, { weight: w32, bias: b32 }).gradWeight).toEqual(refBackward(l, Float64Array.from(x32), null, dy, p64).gradWeight);
  });

  it('rejects an input of the wrong size', () => {
    const l = planCase(CASES[0]).layers[0];
    expect(() => refForward(l, randomArray(3, mulberry32(1)))).toThrow(/input has 3 elements/);
  });
});
