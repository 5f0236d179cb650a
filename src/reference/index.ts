// The float64 reference interpreter: the oracle every generated kernel is tested against.
// It reads only plan data and shares no code with the code generator.
//
//   refForward(layer, x, params, mode)               -> { y, cache, state? }
//   refBackward(layer, x, y, dy, params, cache, mode) -> { dx, gradWeight?, gradBias? }
//   createReferenceModel(plan, params, { seed }) -> forward / backward / lossAndGrad, params, grads & buffers by layer name, train() / eval()
//   softmaxCrossEntropy(logits, labels, batch, classes) -> { loss, dLogits }

export type { BackwardResult, ForwardResult, RefCache, RefMode, RefParams, Vec } from './types.ts';
export { refForward, refBackward } from './layer.ts';
export { softmaxCrossEntropy } from './loss.ts';
export { createReferenceLayer, createReferenceModel } from './model.ts';
export type { Layer, ReferenceModel, ReferenceModelOptions, RefBuffers, RefTensors } from './model.ts';
export { dropoutMask } from './norm.ts';
