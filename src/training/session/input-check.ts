/**
 * Checks user tensors against the graph inputs they feed (dtype, rank, fixed dims, and symbolic dims such
 * as the batch size agreeing across inputs) and reports every problem at once.
 */
import { UserError } from "../../errors.js";
import { valueInfoDims, valueInfoElemType, type GraphProto } from "../../onnx/proto.js";
import { dtypeFromOnnx, numel, type DType, type Tensor } from "../../onnx/tensor.js";

export interface InputSpec {
  /** Graph input name. */
  name: string;
  /** What the user calls it ("batch", "targets"). */
  role: string;
  dtype: DType | undefined;
  dims: (number | string | null)[] | undefined;
}

export function inputSpec(graph: GraphProto, name: string, role: string): InputSpec {
  const vi = graph.input.find((v) => v.name === name);
  if (!vi) throw new Error(`graph has no input '${name}' (${role})`);
  const elem = valueInfoElemType(vi);
  return { name, role, dtype: elem === undefined ? undefined : dtypeFromOnnx(elem), dims: valueInfoDims(vi) };
}

const show = (dims: readonly (number | string | null)[]) => `[${dims.map((d) => d ?? "?").join(",")}]`;

/** Throws a UserError naming every mismatch between `given` tensors and their specs. */
export function checkInputs(given: { spec: InputSpec; tensor: Tensor | undefined }[], where: string): void {
  const problems: string[] = [];
  const symbols = new Map<string, { value: number; role: string }>();
  for (const { spec, tensor } of given) {
    const label = `${spec.role} ('${spec.name}')`;
    if (!tensor) {
      problems.push(`${label} is missing`);
      continue;
    }
    if (spec.dtype && tensor.dtype !== spec.dtype) problems.push(`${label} is ${tensor.dtype}, expected ${spec.dtype}`);
    if (tensor.data.length !== numel(tensor.dims))
      problems.push(
        `${label} holds ${tensor.data.length} values but its dims [${tensor.dims}] need ${numel(tensor.dims)}`,
      );
    if (!spec.dims) continue;
    const expected = `${label} has dims [${tensor.dims}], expected ${show(spec.dims)}`;
    if (tensor.dims.length !== spec.dims.length) {
      problems.push(expected);
      continue;
    }
    spec.dims.forEach((d, i) => {
      const got = tensor.dims[i]!;
      if (typeof d === "number" && d !== got) problems.push(`${expected} (axis ${i})`);
      if (typeof d === "string") {
        const seen = symbols.get(d);
        if (seen && seen.value !== got)
          problems.push(`${label} has ${d}=${got} on axis ${i} but ${seen.role} has ${d}=${seen.value}`);
        else if (!seen) symbols.set(d, { value: got, role: spec.role });
      }
      if (got < 1) problems.push(`${label} has an empty axis ${i}`);
    });
  }
  if (problems.length) throw new UserError(problems.join("; "), where);
}
