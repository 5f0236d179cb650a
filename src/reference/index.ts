// The float64 reference interpreter: the oracle every generated kernel is tested against.
// It reads only plan data and shares no code with the code generator.
//
//   refForward(layer, x, params, mode)               -> { y, cache, state? }
//   refBackward(layer, x, y, dy, params, cache, mode) -> { dx, gradWeight?, gradBias? }
//   createReferenceModel(plan, params, { seed }) -> forward / backward / lossAndGrad, params, grads & buffers by layer name, train() / eval()
//   refForwardInputs / refBackwardInputs                -> the same for any number of inputs (add, concat)
//   softmaxCrossEntropy(logits, labels, batch, classes) -> { loss, dLogits }
//   softmaxRows(logits, batch, classes)               -> torch.softmax(logits, dim=1) (model.json's output_softmax)
//   mseLoss(output, target), bceWithLogits(logits, target) -> { loss, dOutput }
//   refSgdStep / refAdamStep(p, grad, state, options)     PyTorch's optimizer steps, in place

export type { BackwardInputsResult, BackwardResult, ForwardResult, RefCache, RefMode, RefParams, Vec } from './types.ts';
export { refForward, refBackward, refForwardInputs, refBackwardInputs } from './layer.ts';
export { bceWithLogits, mseLoss, softmaxCrossEntropy, softmaxRows } from './loss.ts';
export { newRefAdamState, refAdamStep, refSgdStep } from './optim.ts';
export type { RefAdamOptions, RefAdamState, RefSgdOptions, RefSgdState } from './optim.ts';
export { createReferenceLayer, createReferenceModel } from './model.ts';
export type { Layer, ReferenceModel, ReferenceModelOptions, RefBuffers, RefTensors } from './model.ts';
export { dropoutMask } from './norm.ts';
