"""Makes the fuzz seed corpus (small real files) with Debian's PyTorch and NumPy: run once, commit the output.
python3 scripts/fuzz/make-corpus.py scripts/fuzz/corpus"""
import collections, io, sys, os
import numpy as np
import torch

out = sys.argv[1]
torch.manual_seed(0)
sd = collections.OrderedDict(
    [
        ("conv.weight", torch.randn(2, 1, 3, 3)),
        ("bn.running_mean", torch.zeros(2)),
        ("bn.num_batches_tracked", torch.tensor(3)),
        ("fc.weight", torch.randn(3, 2).t()),  # non-contiguous
        ("half", torch.randn(4).half()),
        ("bf16", torch.randn(4).bfloat16()),
    ]
)
torch.save(sd, os.path.join(out, "state_dict.pth"))
torch.save(sd, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
torch.save({"epoch": 3, "model_state_dict": sd, "lr": 0.1, "tags": {"a", "b"}, "big": 2**70}, os.path.join(out, "checkpoint.pth"))
np.save(os.path.join(out, "u8.npy"), np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
np.save(os.path.join(out, "f4.npy"), np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4))
np.save(os.path.join(out, "i8.npy"), np.array([3, 1, 2], dtype=np.int64))

import zipfile

# zip64 records and a DEFLATE entry, laid out like torch.save's archive
pkl = io.BytesIO()
torch.save({"w": torch.arange(6, dtype=torch.float32)}, pkl)
with zipfile.ZipFile(pkl) as src, zipfile.ZipFile(os.path.join(out, "zip64-deflate.pth"), "w") as dst:
    for info in src.infolist():
        data = src.read(info.filename)
        with dst.open(zipfile.ZipInfo(info.filename), "w", force_zip64=True) as f:
            f.write(data)
    dst.writestr(zipfile.ZipInfo("archive/extra/deflated.txt"), b"abc" * 400, compress_type=zipfile.ZIP_DEFLATED)
