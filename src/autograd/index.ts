/** Public surface of the autodiff engine. */
export { appendBackward, type BackwardOptions } from "./engine.js";
export { NON_DIFFERENTIABLE, RULES } from "./registry.js";
export type { GradContext, GradRule, NonDifferentiable } from "./rule.js";
export { staticDims } from "./emit.js";
export { kernelShape, resolveWindow, type Window } from "./rules/window.js";
