/** Public surface of the autodiff engine. */
export { appendBackward, checkDifferentiable, type BackwardOptions } from "./engine.js";
export { axesAsInput, NON_DIFFERENTIABLE, OPS, RULES, type OpSpec } from "./ops.js";
export type { GradContext, GradRule, NonDifferentiable } from "./rule.js";
export { spreadPerChannel, staticDims } from "./emit.js";
export { kernelShape, padsEndRead, resolveWindow, tapMatrix, type Window } from "./rules/window.js";
export { im2colKernel } from "./rules/conv.js";
export { batchFolded, foldConv, type FoldAttrs } from "./rules/batch-fold.js";
