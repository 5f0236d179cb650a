// A second, independent opinion on the forward semantics: every layer of every case of the
// shared table against TensorFlow.js (CPU backend, float32), built from the plan's geometry
// with tfjs's own ops (add and concat included: tf.addN, tf.concat on the channel axis). Finite differences only tie backward to forward; this ties forward to
// an outside implementation. tfjs has no groups, no dilation with stride, and no asymmetric
// padding in one op, so those are spelled out here: per-group slices, kernels dilated with
// zeros, explicit tf.pad, and conv_transpose as the full (uncropped) output then cropped.

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { CASES, caseInput, mulberry32, planCase, randomArray } from './cases.ts';
import { refForwardInputs } from '../src/reference/index.ts';
import type { ConvGeometry, LayerPlan, PoolGeometry } from '../src/plan/types.ts';
import { inputShapes, numel } from '../src/plan/types.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const toNHWC = (x: Float64Array, n: number, c: number, h: number, w: number): tf.Tensor4D =>
  tf.transpose(tf.tensor4d(Float32Array.from(x), [n, c, h, w]), [0, 2, 3, 1]);
const toNCHW = (t: tf.Tensor4D): Float32Array => tf.transpose(t, [0, 3, 1, 2]).dataSync() as Float32Array;

/**
 * a tfjs filter [kEffH, kEffW, a, b] from PyTorch weight rows: filter[kh*dH][kw*dW][i][j] =
 * at(i, j, kh, kw), zeros between the dilated taps
 */
function dilatedFilter(g: ConvGeometry, a: number, b: number, at: (i: number, j: number, kh: number, kw: number) => number): tf.Tensor4D {
  const kEffH = g.dilationH * (g.kH - 1) + 1;
  const kEffW = g.dilationW * (g.kW - 1) + 1;
  const f = new Float32Array(kEffH * kEffW * a * b);
  for (let kh = 0; kh < g.kH; kh++) {
    for (let kw = 0; kw < g.kW; kw++) {
      for (let i = 0; i < a; i++) {
        for (let j = 0; j < b; j++) f[((kh * g.dilationH * kEffW + kw * g.dilationW) * a + i) * b + j] = at(i, j, kh, kw);
      }
    }
  }
  return tf.tensor4d(f, [kEffH, kEffW, a, b]);
}

function addBias(y: tf.Tensor4D, bias: Float64Array | undefined): tf.Tensor4D {
  return bias ? tf.add(y, tf.tensor1d(Float32Array.from(bias))) : y;
}

function tfConv(g: ConvGeometry, x: Float64Array, w: Float64Array, bias: Float64Array | undefined): Float32Array {
  const cinG = g.inC / g.groups;
  const coutG = g.outC / g.groups;
  const xp = tf.pad(toNHWC(x, g.batch, g.inC, g.inH, g.inW), [[0, 0], [g.pad.top, g.pad.bottom], [g.pad.left, g.pad.right], [0, 0]]);
  const parts: tf.Tensor4D[] = [];
  for (let grp = 0; grp < g.groups; grp++) {
    const xg = tf.slice(xp, [0, 0, 0, grp * cinG], [-1, -1, -1, cinG]);
    // PyTorch weight [Cout, Cin/g, kH, kW] -> tfjs [kH, kW, in, out]
    const f = dilatedFilter(g, cinG, coutG, (ci, co, kh, kw) => w[(((grp * coutG + co) * cinG + ci) * g.kH + kh) * g.kW + kw]);
    parts.push(tf.conv2d(xg, f, [g.strideH, g.strideW], 'valid'));
  }
  return toNCHW(addBias(tf.concat(parts, 3), bias));
}

function tfConvTranspose(layer: LayerPlan & { type: 'conv_transpose1d' | 'conv_transpose2d' }, x: Float64Array, w: Float64Array, bias: Float64Array | undefined): Float32Array {
  const g = layer.geometry;
  const cinG = g.inC / g.groups;
  const coutG = g.outC / g.groups;
  const kEffH = g.dilationH * (g.kH - 1) + 1;
  const kEffW = g.dilationW * (g.kW - 1) + 1;
  // the full output before PyTorch crops `padding` from each side and adds output_padding
  const fullH = (g.inH - 1) * g.strideH + kEffH;
  const fullW = (g.inW - 1) * g.strideW + kEffW;
  const xh = toNHWC(x, g.batch, g.inC, g.inH, g.inW);
  const parts: tf.Tensor4D[] = [];
  for (let grp = 0; grp < g.groups; grp++) {
    const xg = tf.slice(xh, [0, 0, 0, grp * cinG], [-1, -1, -1, cinG]);
    // PyTorch weight [Cin, Cout/g, kH, kW] -> tfjs transpose filter [kH, kW, out, in]
    const f = dilatedFilter(g, coutG, cinG, (co, ci, kh, kw) => w[(((grp * cinG + ci) * coutG + co) * g.kH + kh) * g.kW + kw]);
    parts.push(tf.conv2dTranspose(xg, f, [g.batch, fullH, fullW, coutG], [g.strideH, g.strideW], 'valid'));
  }
  const full = tf.pad(tf.concat(parts, 3), [[0, 0], [0, g.outputPadH], [0, g.outputPadW], [0, 0]]);
  const y = tf.slice(full, [0, g.pad.top, g.pad.left, 0], [-1, g.outH, g.outW, -1]);
  return toNCHW(addBias(y, bias));
}

function tfPool(layer: LayerPlan & { geometry: PoolGeometry; countIncludePad: boolean }, x: Float64Array): Float32Array {
  const g = layer.geometry;
  const xh = toNHWC(x, g.batch, g.channels, g.inH, g.inW);
  const pads: [number, number][] = [[0, 0], [g.padH, g.padH], [g.padW, g.padW], [0, 0]];
  const win: [number, number] = [g.kH, g.kW];
  const step: [number, number] = [g.strideH, g.strideW];
  switch (layer.type) {
    case 'maxpool1d':
    case 'maxpool2d':
      return toNCHW(tf.maxPool(tf.pad(xh, pads, -Infinity), win, step, 'valid'));
    case 'global_maxpool':
      return toNCHW(tf.max(xh, [1, 2], true) as tf.Tensor4D);
    case 'global_avgpool':
      return toNCHW(tf.mean(xh, [1, 2], true) as tf.Tensor4D);
    default: {
      const mean = tf.avgPool(tf.pad(xh, pads), win, step, 'valid');
      if (layer.countIncludePad) return toNCHW(mean);
      // mean over real cells = (sum over the window) / (real cells in the window)
      const share = tf.avgPool(tf.pad(tf.onesLike(xh), pads), win, step, 'valid');
      return toNCHW(tf.div(mean, share));
    }
  }
}

/** the activations from tfjs's ops; elu for any alpha, silu and gelu spelled out (tfjs has no such ops) */
function tfActivation(layer: LayerPlan, x: tf.Tensor1D): tf.Tensor {
  switch (layer.type) {
    case 'relu':
      return tf.relu(x);
    case 'leaky_relu':
      return tf.leakyRelu(x, layer.negativeSlope);
    case 'relu6':
      return tf.relu6(x);
    case 'elu':
      // tf.elu is alpha = 1: alpha * elu(x) on the negative side
      return tf.where(tf.greater(x, 0), x, tf.mul(tf.elu(x), layer.alpha));
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'gelu': {
      if (layer.approximate === 'none') return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
      const u = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(u)));
    }
    default:
      throw new Error(`not an activation: ${layer.type}`);
  }
}

function tfForward(layer: LayerPlan, xs: readonly Float64Array[], weight?: Float64Array, bias?: Float64Array): Float32Array {
  const x = xs[0];
  return tf.tidy(() => {
    switch (layer.type) {
      case 'add':
        return tf.addN(xs.map((v) => tf.tensor1d(Float32Array.from(v)))).dataSync() as Float32Array;
      case 'concat': {
        // [N, C_k, rest] joined on axis 1, as torch.cat(dim=1)
        const rest = numel(layer.outShape.slice(2));
        const parts = xs.map((v, k) => tf.tensor3d(Float32Array.from(v), [layer.outShape[0], layer.inShapes[k][1], rest]));
        return tf.concat(parts, 1).dataSync() as Float32Array;
      }
      case 'conv1d':
      case 'conv2d':
        return tfConv(layer.geometry, x, weight!, bias);
      case 'conv_transpose1d':
      case 'conv_transpose2d':
        return tfConvTranspose(layer, x, weight!, bias);
      case 'maxpool1d':
      case 'maxpool2d':
      case 'avgpool1d':
      case 'avgpool2d':
      case 'global_maxpool':
      case 'global_avgpool':
        return tfPool(layer, x);
      case 'linear': {
        const y = tf.matMul(tf.tensor2d(Float32Array.from(x), [layer.batch, layer.inFeatures]), tf.tensor2d(Float32Array.from(weight!), [layer.outFeatures, layer.inFeatures]), false, true);
        return (bias ? tf.add(y, tf.tensor1d(Float32Array.from(bias))) : y).dataSync() as Float32Array;
      }
      case 'upsample_bilinear2d': {
        const xh = toNHWC(x, layer.batch, layer.channels, layer.inH, layer.inW);
        // align_corners = false is TF's half-pixel-centers sampling
        return toNCHW(tf.image.resizeBilinear(xh, [layer.inH * layer.scaleH, layer.inW * layer.scaleW], false, true));
      }
      case 'upsample_nearest2d': {
        const xh = toNHWC(x, layer.batch, layer.channels, layer.inH, layer.inW);
        // align_corners = false, half_pixel_centers = false: source floor(dst * in / out), PyTorch's "nearest"
        return toNCHW(tf.image.resizeNearestNeighbor(xh, [layer.inH * layer.scaleH, layer.inW * layer.scaleW], false, false));
      }
      case 'zero_pad1d':
      case 'zero_pad2d': {
        // [C, L] is planned as H = 1 with no top or bottom
        const { top, bottom, left, right } = layer.pad;
        const xt = tf.tensor4d(Float32Array.from(x), [layer.batch, layer.channels, layer.inH, layer.inW]);
        return tf.pad(xt, [[0, 0], [0, 0], [top, bottom], [left, right]]).dataSync() as Float32Array;
      }
      case 'relu':
      case 'leaky_relu':
      case 'relu6':
      case 'elu':
      case 'gelu':
      case 'silu':
      case 'sigmoid':
      case 'tanh':
        return tfActivation(layer, tf.tensor1d(Float32Array.from(x))).dataSync() as Float32Array;
      case 'flatten':
        return Float32Array.from(x);
      case 'batchnorm1d':
      case 'batchnorm2d': {
        // training mode: the batch's mean and biased variance per channel
        const shape: [number, number, number] = [layer.batch, layer.channels, layer.spatial];
        const xt = tf.tensor3d(Float32Array.from(x), shape);
        const { mean, variance } = tf.moments(xt, [0, 2], true);
        const xhat = tf.mul(tf.sub(xt, mean), tf.rsqrt(tf.add(variance, layer.eps)));
        if (!weight || !bias) return xhat.dataSync() as Float32Array;
        const perChannel = (v: Float64Array) => tf.reshape(tf.tensor1d(Float32Array.from(v)), [1, layer.channels, 1]);
        return tf.add(tf.mul(xhat, perChannel(weight)), perChannel(bias)).dataSync() as Float32Array;
      }
      case 'dropout':
        // compared in eval mode (the identity): tfjs knows nothing of convgen's mask stream
        return Float32Array.from(x);
    }
  });
}

describe('reference forward = TensorFlow.js forward (float32), every layer of every case', () => {
  CASES.forEach((c, ci) => {
    it(c.name, () => {
      const plan = planCase(c);
      const rng = mulberry32(4242 + ci);
      plan.layers.forEach((layer, li) => {
        // the first layer sees the case's own input ('ties' cases: small integers); float32-representable
        // values, so both sides start from the same numbers
        const xs = inputShapes(layer).map((s) => Float64Array.from(Float32Array.from(li === 0 ? caseInput(c, plan, rng) : randomArray(numel(s), rng))));
        const weight = layer.weightShape ? Float64Array.from(Float32Array.from(randomArray(numel(layer.weightShape), rng))) : undefined;
        const bias = layer.biasShape ? Float64Array.from(Float32Array.from(randomArray(numel(layer.biasShape), rng))) : undefined;
        const want = tfForward(layer, xs, weight, bias);
        const running = layer.type === 'batchnorm1d' || layer.type === 'batchnorm2d' ? { runningMean: new Float64Array(layer.channels), runningVar: new Float64Array(layer.channels).fill(1) } : {};
        const { y } = refForwardInputs(layer, xs, { weight, bias, ...running }, { training: layer.type !== 'dropout' });
        expect(y.length, `${layer.name} output size`).toBe(want.length);
        for (let i = 0; i < y.length; i++) {
          if (Math.abs(y[i] - want[i]) > 1e-5 * (1 + Math.abs(want[i]))) {
            expect.fail(`${layer.name}: y[${i}] = ${y[i]}, tfjs ${want[i]}`);
          }
        }
      });
    });
  });
});
