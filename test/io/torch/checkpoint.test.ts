import { expect } from "chai";
import { existsSync, readFileSync, statSync } from "node:fs";
import { UserError } from "../../../src/errors.js";
import { readSafetensors } from "../../../src/io/safetensors.js";
import { halfToFloat32, type Tensor } from "../../../src/io/tensor-data.js";
import { readTorchFile } from "../../../src/io/torch/checkpoint.js";
import { op, pickle, storedZip, tensorOps } from "./build-files.js";

const DIR = "test/fixtures/pytorch";
const sameBytes = (a: Tensor, b: Tensor) =>
  a.dtype === b.dtype &&
  Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(
    Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
  );

function expectStateDict(value: unknown, ref: Map<string, Tensor>): void {
  expect(value).to.be.instanceOf(Map);
  const sd = value as Map<string, Tensor>;
  expect([...sd.keys()].sort()).to.deep.equal([...ref.keys()].sort());
  for (const [k, t] of ref) {
    expect(sd.get(k)!.dims, k).to.deep.equal(t.dims);
    expect(sameBytes(sd.get(k)!, t), k).to.equal(true);
  }
}

describe("io/torch: torch.save files", () => {
  for (const m of ["resnet18w8_fmnist", "resnet18w8_tvstem"]) {
    it(`${m}.state_dict.pth (zip) holds exactly the weights of ${m}.weights.safetensors`, () => {
      expectStateDict(
        readTorchFile(`${DIR}/${m}.state_dict.pth`),
        readSafetensors(`${DIR}/${m}.weights.safetensors`).tensors,
      );
    });
  }
  const ref = () => readSafetensors(`${DIR}/resnet18w8_fmnist.weights.safetensors`).tensors;

  it("reads the legacy (pre-1.6) format", () =>
    expectStateDict(readTorchFile(`${DIR}/resnet18w8_fmnist.legacy.pth`), ref()));

  it("reads a training checkpoint dict with plain data and the optimizer state", () => {
    const ck = readTorchFile(`${DIR}/resnet18w8_fmnist.checkpoint.pth`) as Map<string, unknown>;
    expect([...ck.keys()]).to.deep.equal(["epoch", "model_state_dict", "optimizer_state_dict", "config", "best_acc"]);
    expect(ck.get("epoch")).to.equal(7);
    expect(ck.get("best_acc")).to.equal(91.25);
    const config = ck.get("config") as Map<string, unknown>;
    expect(config.get("tags")).to.deep.equal(["fmnist", "demo"]);
    expect(config.get("lr")).to.equal(0.1);
    expectStateDict(ck.get("model_state_dict"), ref());
    const opt = ck.get("optimizer_state_dict") as Map<string, Map<number, Map<string, Tensor>>>;
    expect(opt.get("state")!.size).to.equal(62);
    const buffers = [...opt.get("state")!.values()].map((s) => s.get("momentum_buffer")!);
    expect(buffers.every((b) => b.dtype === "float32" && b.data.length === b.dims.reduce((x, y) => x * y, 1))).to.equal(
      true,
    );
  });

  it("keeps float16 tensors as half bits, within half precision of the float32 weights", () => {
    const sd = readTorchFile(`${DIR}/resnet18w8_fmnist.fp16.pth`) as Map<string, Tensor>;
    for (const [k, w] of ref()) {
      const h = sd.get(k)!;
      if (w.dtype !== "float32") {
        expect(sameBytes(h, w), k).to.equal(true);
        continue;
      }
      expect(h.dtype, k).to.equal("float16");
      const hf = halfToFloat32(h.data as Uint16Array);
      const wf = w.data as Float32Array;
      // round-to-nearest half: relative error <= 2^-11 for normal values, absolute <= 2^-25 below 2^-14
      let worst = -Infinity;
      for (let i = 0; i < wf.length; i++)
        worst = Math.max(worst, Math.abs(hf[i]! - wf[i]!) - Math.max(Math.abs(wf[i]!) * 2 ** -11, 2 ** -25));
      expect(worst, k).to.be.at.most(0);
    }
  });

  it("refuses malicious.pth, naming the global, without running it", () => {
    const marker = "/tmp/pwned";
    const before = existsSync(marker) ? statSync(marker).mtimeMs : undefined;
    expect(() => readTorchFile(`${DIR}/malicious.pth`)).to.throw(
      UserError,
      /malicious\.pth: refuses to load: .*global 'posix\.system'.*nothing was executed/,
    );
    expect(existsSync(marker) ? statSync(marker).mtimeMs : undefined).to.equal(before);
  });

  describe("hand-built archives", () => {
    const storage = new Uint8Array(Float32Array.of(0, 1, 2, 3, 4, 5).buffer);
    const archive = (pkl: Uint8Array, data: Record<string, Uint8Array> = { "a/data/0": storage }) =>
      storedZip({ "a/data.pkl": pkl, "a/byteorder": new TextEncoder().encode("little"), ...data });
    const dictOf = (...tensors: [string, number[]][]) =>
      pickle(op.emptyDict, op.mark, ...tensors.flatMap(([name, t]) => [op.str(name), t]), op.setitems);

    it("gathers strided (transposed) and offset views of a storage", () => {
      const sd = readTorchFile(
        archive(dictOf(["t", tensorOps("0", 6, 0, [3, 2], [1, 3])], ["o", tensorOps("0", 6, 1, [2], [2])])),
      ) as Map<string, Tensor>;
      expect(Array.from(sd.get("t")!.data as Float32Array)).to.deep.equal([0, 3, 1, 4, 2, 5]);
      expect(sd.get("t")!.dims).to.deep.equal([3, 2]);
      expect(Array.from(sd.get("o")!.data as Float32Array)).to.deep.equal([1, 3]);
    });

    it("accepts the _metadata state PyTorch attaches to a state_dict (BUILD on an OrderedDict)", () => {
      const pkl = pickle(
        op.global("collections", "OrderedDict"),
        op.emptyTuple,
        op.reduce,
        op.mark,
        op.str("w"),
        tensorOps("0", 6, 0, [6], [1]),
        op.setitems,
        op.emptyDict,
        op.str("_metadata"),
        op.emptyDict,
        op.setitem,
        0x62,
      );
      const sd = readTorchFile(archive(pkl)) as Map<string, Tensor>;
      expect([...sd.keys()]).to.deep.equal(["w"]);
      expect(Array.from(sd.get("w")!.data as Float32Array)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    });

    it("refuses a tensor that reaches past its storage", () => {
      expect(() => readTorchFile(archive(dictOf(["t", tensorOps("0", 6, 4, [4], [1])])), { name: "x.pth" })).to.throw(
        UserError,
        /x\.pth: tensor reaches element 7 of storage '0', which holds 6/,
      );
    });

    for (const [how, pkl] of [
      ["GLOBAL", pickle(op.global("builtins", "eval"), op.str("1+1"), op.tuple, op.reduce)],
      [
        "STACK_GLOBAL",
        pickle(op.str("os"), op.str("system"), op.stackGlobal, op.mark, op.str("true"), op.tuple, op.reduce),
      ],
      ["INST", pickle(op.mark, op.str("true"), op.inst("subprocess", "Popen"))],
    ] as const) {
      it(`refuses a disallowed global reached through ${how}`, () => {
        expect(() => readTorchFile(archive(pkl), { name: "evil.pth" })).to.throw(
          UserError,
          /evil\.pth: refuses to load: .*global '(builtins\.eval|os\.system|subprocess\.Popen)'/,
        );
      });
    }

    it("refuses truncated and foreign files", () => {
      const zip = readFileSync(`${DIR}/resnet18w8_fmnist.state_dict.pth`);
      expect(() => readTorchFile(zip.subarray(0, zip.length - 3000), { name: "cut.pth" })).to.throw(
        UserError,
        /cut\.pth: .*truncated/,
      );
      const legacy = readFileSync(`${DIR}/resnet18w8_fmnist.legacy.pth`);
      expect(() => readTorchFile(legacy.subarray(0, legacy.length - 100), { name: "cut.pth" })).to.throw(
        UserError,
        /cut\.pth: .*(truncated|ends)/,
      );
      expect(() => readTorchFile(legacy.subarray(0, 5000), { name: "cut.pth" })).to.throw(
        UserError,
        /cut\.pth: .*(truncated|ends early)/,
      );
      expect(() => readTorchFile(new TextEncoder().encode("hello"), { name: "t.pth" })).to.throw(
        UserError,
        /t\.pth: is not a torch\.save file/,
      );
      expect(() => readTorchFile(storedZip({ "x/readme": new Uint8Array(1) }), { name: "z.pth" })).to.throw(
        UserError,
        /z\.pth: .*no data\.pkl/,
      );
    });
  });
});
