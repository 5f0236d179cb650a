// The float64 reference interpreter: the oracle every generated kernel is tested against.
// It reads only plan data and shares no code with the code generator.
//
//   refForward(layer, x, params)               -> { y, cache }
//   refBackward(layer, x, y, dy, params, cache) -> { dx, gradWeight?, gradBias? }
//   createReferenceModel(plan, params)          -> forward / backward / lossAndGrad, params & grads by layer name
//   refForwardInputs / refBackwardInputs                -> the same for any number of inputs (add, concat)
//   softmaxCrossEntropy(logits, labels, batch, classes) -> { loss, dLogits }
//   mseLoss(output, target), bceWithLogits(logits, target) -> { loss, dOutput }
//   refSgdStep / refAdamStep(p, grad, state, options)     PyTorch's optimizer steps, in place

export type { BackwardInputsResult, BackwardResult, ForwardResult, RefCache, RefParams, Vec } from './types.ts';
export { refForward, refBackward, refForwardInputs, refBackwardInputs } from './layer.ts';
export { bceWithLogits, mseLoss, softmaxCrossEntropy } from './loss.ts';
export { newRefAdamState, refAdamStep, refSgdStep } from './optim.ts';
export type { RefAdamOptions, RefAdamState, RefSgdOptions, RefSgdState } from './optim.ts';
export { createReferenceLayer, createReferenceModel } from './model.ts';
export type { Layer, ReferenceModel, RefTensors } from './model.ts';
