/**
 * The nodes the autograd engine appends for a small graph, for tests of which form a rule emits (the numbers
 * themselves are checkGradient's job).
 */
import { appendBackward } from "../../src/autograd/engine.js";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { newGraph, type GraphProto, type NodeProto } from "../../src/onnx/proto.js";

/** `build` makes the forward graph and returns its scalar loss; `backward` holds the nodes appended for `wrt`. */
export function backwardOf(
  build: (g: GraphBuilder) => string,
  wrt: string[],
  opset = 17,
): { graph: GraphProto; backward: NodeProto[] } {
  const graph = newGraph({ name: "g" });
  const loss = build(new GraphBuilder(graph));
  const forward = graph.node.length;
  appendBackward(graph, { loss, wrt, opset });
  return { graph, backward: graph.node.slice(forward) };
}

/** The dims of the initializer named `name`, undefined when it is not one. */
export const initializerDims = (graph: GraphProto, name: string): number[] | undefined =>
  graph.initializer.find((t) => t.name === name)?.dims.map(Number);
