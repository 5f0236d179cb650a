// The float64 reference interpreter: the oracle every generated kernel is tested against.
// It reads only plan data and shares no code with the code generator.
//
//   refForward(layer, x, params)               -> { y, cache }
//   refBackward(layer, x, y, dy, params, cache) -> { dx, gradWeight?, gradBias? }
//   createReferenceModel(plan, params)          -> forward / backward / lossAndGrad, params & grads by layer name
//   refForwardInputs / refBackwardInputs                -> the same for any number of inputs (add, concat)
//   softmaxCrossEntropy(logits, labels, batch, classes) -> { loss, dLogits }

export type { BackwardInputsResult, BackwardResult, ForwardResult, RefCache, RefParams, Vec } from './types.ts';
export { refForward, refBackward, refForwardInputs, refBackwardInputs } from './layer.ts';
export { softmaxCrossEntropy } from './loss.ts';
export { createReferenceLayer, createReferenceModel } from './model.ts';
export type { Layer, ReferenceModel, RefTensors } from './model.ts';
