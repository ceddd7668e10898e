/**
 * onnxruntime's own log messages (graph-optimiser notes such as "UnsqueezeElimination cannot remove node")
 * reach stderr only when asked for (the CLI's --verbose): every session this library creates takes its
 * logSeverityLevel from here. Errors are still raised as exceptions either way.
 */
export type OrtLogSeverity = 0 | 1 | 2 | 3 | 4;

let verbose = false;

/** Show onnxruntime's warnings (true) or only its errors (false, the default). */
export function setOrtVerbose(on: boolean): void {
  verbose = on;
}

/** logSeverityLevel for a new session: 2 (warnings) when verbose, else 3 (errors). */
export const ortLogSeverity = (): OrtLogSeverity => (verbose ? 2 : 3);
