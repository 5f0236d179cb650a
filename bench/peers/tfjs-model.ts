// A planned model as tfjs ops, for config F: the same layers, parameters and loss, trained
// with tf.variableGrads (tf.grads over the variables) and plain SGD. Activations run in NHWC
// (tfjs's layout); the NCHW input is transposed in the step, as an NCHW user would, and
// flatten transposes back to NCHW first so the linear layers see PyTorch's feature order.
// Conv weights live as HWIO variables (a tfjs user trains them in that layout).

import * as tf from '@tensorflow/tfjs-core';
import { require as tsxRequire } from 'tsx/cjs/api';
import type { LayerPlan, ModelPlan } from '../../src/plan/types.ts';

export interface TfStep {
  /** forward + loss + backward + SGD, one mini-batch */
  readonly step: () => void;
  /** loss and gradients on the current parameters, PyTorch layouts, without updating */
  readonly lossAndGrads: () => { loss: number; grads: Record<string, { weight?: Float32Array; bias?: Float32Array }> };
  readonly dispose: () => void;
}

// tfjs-core's node bundle registers no gradients (the full tfjs package does); tf.grads
// needs them. Their ESM source uses extensionless imports node cannot load, so it is
// required through tsx's transform (under tsx and under vitest alike); the registry it
// fills is global, shared with the bundle.
tsxRequire('@tensorflow/tfjs-core/dist/register_all_gradients.js', import.meta.url);

type T = tf.Tensor;
const HWIO = [2, 3, 1, 0];
const OIHW = [3, 2, 0, 1];

function layerOp(l: LayerPlan, vars: Map<string, tf.Variable>): (h: T) => T {
  const v = (kind: string) => {
    const t = vars.get(`${l.name}.${kind}`);
    if (!t) throw new Error(`bench: no tfjs variable ${l.name}.${kind}`);
    return t;
  };
  switch (l.type) {
    case 'conv2d': {
      const g = l.geometry;
      if (g.groups !== 1) throw new Error('bench: the tfjs model handles groups = 1 only');
      const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [g.pad.top, g.pad.bottom], [g.pad.left, g.pad.right], [0, 0]];
      return (h) => {
        const y = tf.conv2d(h as tf.Tensor4D, v('weight') as tf.Tensor4D, [g.strideH, g.strideW], pads, 'NHWC', [g.dilationH, g.dilationW]);
        return l.biasShape ? tf.add(y, v('bias')) : y;
      };
    }
    case 'relu':
      return (h) => tf.relu(h);
    case 'maxpool2d':
    case 'avgpool2d': {
      const g = l.geometry;
      if (g.padH !== 0 || g.padW !== 0) throw new Error('bench: the tfjs model handles unpadded pools only');
      const pool = l.type === 'maxpool2d' ? tf.maxPool : tf.avgPool;
      return (h) => pool(h as tf.Tensor4D, [g.kH, g.kW], [g.strideH, g.strideW], 'valid');
    }
    case 'flatten':
      // NHWC -> NCHW first: PyTorch flattens channels-major
      return (h) => tf.reshape(h.rank === 4 ? tf.transpose(h, [0, 3, 1, 2]) : h, [h.shape[0], -1]);
    case 'linear':
      return (h) => {
        const y = tf.matMul(h as tf.Tensor2D, v('weight') as tf.Tensor2D, false, true);
        return l.biasShape ? tf.add(y, v('bias')) : y;
      };
    default:
      throw new Error(`bench: the tfjs model has no ${l.type}`);
  }
}

/**
 * params: PyTorch layouts by layer name (float32). The caller picks the backend first; the
 * variables live on it.
 */
export function tfTrainingStep(
  plan: ModelPlan,
  params: Record<string, { weight?: Float32Array; bias?: Float32Array }>,
  x: Float32Array,
  labels: Int32Array,
  lr: number,
  /** variable names are global to the tfjs engine: one prefix per live model */
  prefix: string,
): TfStep {
  if (plan.loss !== 'softmax_cross_entropy') throw new Error('bench: the tfjs model needs a softmax cross-entropy loss');
  const vars = new Map<string, tf.Variable>();
  const inits: T[] = [];
  for (const l of plan.layers) {
    const p = params[l.name];
    if (l.weightShape && p?.weight) {
      const w = tf.tensor(p.weight, [...l.weightShape]);
      const init = l.type === 'conv2d' ? tf.transpose(w, HWIO) : w;
      inits.push(w, init);
      vars.set(`${l.name}.weight`, tf.variable(init, true, `${prefix}/${l.name}.weight`));
    }
    if (l.biasShape && p?.bias) {
      const b = tf.tensor(p.bias, [...l.biasShape]);
      inits.push(b);
      vars.set(`${l.name}.bias`, tf.variable(b, true, `${prefix}/${l.name}.bias`));
    }
  }
  const ops = plan.layers.map((l) => layerOp(l, vars));
  const xT = tf.tensor(x, [...plan.inShape]);
  const classes = plan.outShape[plan.outShape.length - 1];
  const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
  const list = [...vars.values()];
  const loss = () =>
    tf.tidy(() => {
      let h: T = plan.inShape.length === 4 ? tf.transpose(xT, [0, 2, 3, 1]) : xT;
      for (const op of ops) h = op(h);
      // mean over the batch of -sum(onehot * log_softmax)
      return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(h)), -1))) as tf.Scalar;
    });
  const step = () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(loss, list);
      for (const v of list) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
    });
  const lossAndGrads = () => {
    const { value, grads } = tf.variableGrads(loss, list);
    const out: Record<string, { weight?: Float32Array; bias?: Float32Array }> = {};
    for (const l of plan.layers) {
      const gw = grads[`${prefix}/${l.name}.weight`];
      const gb = grads[`${prefix}/${l.name}.bias`];
      if (!gw && !gb) continue;
      out[l.name] = {};
      if (gw) out[l.name].weight = tf.tidy(() => (l.type === 'conv2d' ? tf.transpose(gw, OIHW) : gw).dataSync() as Float32Array);
      if (gb) out[l.name].bias = gb.dataSync() as Float32Array;
    }
    const lossValue = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    return { loss: lossValue, grads: out };
  };
  return { step, lossAndGrads, dispose: () => tf.dispose([xT, oneHot, ...list, ...inits]) };
}
