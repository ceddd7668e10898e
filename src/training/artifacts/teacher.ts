/**
 * The frozen original model inside the train step: a copy of the inference graph (eval mode, so
 * BatchNormalization uses its running statistics and Dropout is the identity) whose initializers and values
 * are renamed under `teacher/`, fed the same batch input as the student in the same run. Its initializers
 * stay initializers of the train step: they are constants, no gradient reaches them, no state updates them.
 */
import { UserError } from "../../errors.js";
import type { GraphBuilder } from "../../onnx/builder.js";
import { AttrType, newNode, type GraphProto } from "../../onnx/proto.js";

const TEACHER_PREFIX = "teacher/";

export interface TeacherOptions {
  /** The original inference graph; it is consumed (its nodes and initializers move into the train step). */
  source: GraphProto;
  /** The batch input shared with the student (not renamed). */
  input: string;
  /** The source graph's logits output. */
  output: string;
  file: string;
}

/** Appends the teacher to the train-step graph; returns its logits and source name -> teacher name. */
export function embedTeacher(b: GraphBuilder, opts: TeacherOptions): { logits: string; renamed: Map<string, string> } {
  const nested = opts.source.node.filter((n) =>
    n.attribute.some((a) => a.type === AttrType.GRAPH || a.type === AttrType.GRAPHS),
  );
  if (nested.length) {
    throw new UserError(
      `the teacher copy does not support control-flow nodes (${nested.map((n) => `'${n.name}' (${n.opType})`).join(", ")})`,
      opts.file,
    );
  }
  const renamed = new Map<string, string>();
  const rename = (name: string) => {
    let r = renamed.get(name);
    if (r === undefined) renamed.set(name, (r = b.unique(`${TEACHER_PREFIX}${name}`)));
    return r;
  };
  for (const t of opts.source.initializer) {
    t.name = rename(t.name);
    b.graph.initializer.push(t);
  }
  for (const n of opts.source.node) {
    b.graph.node.push(
      newNode({
        ...n,
        name: rename(n.name || n.output[0] || n.opType),
        input: n.input.map((i) => (i === "" || i === opts.input ? i : rename(i))),
        output: n.output.map((o) => (o === "" ? o : rename(o))),
      }),
    );
  }
  const logits = renamed.get(opts.output);
  if (!logits) throw new UserError(`no node produces the output '${opts.output}'`, opts.file);
  return { logits, renamed };
}
