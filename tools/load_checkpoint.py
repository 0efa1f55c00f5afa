"""Load a vidgan checkpoint into PyTorch: the reference 3D-DCGAN modules of
tools/ref_dcgan3d.py (G, D with its image discriminator D.DI if any, and the EMA generator) and torch.optim.Adam, with
nothing but json, struct and numpy to read the file (the `safetensors`
package is not needed). Exits non-zero if anything does not fit.

    /usr/bin/python3 tools/load_checkpoint.py run/ckpt-00001000.safetensors [--sample out.npy]

The format is described in docs/checkpoints.md."""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_dcgan3d import Discriminator, Generator, ImageDiscriminator  # noqa: E402

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    """(tensors as numpy arrays by name, metadata dict) of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    data = memoryview(blob)[8 + n :]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: tensor {name}: offsets {begin}..{end} outside the data")
        dtype = np.dtype(DTYPES[info["dtype"]]).newbyteorder("<")
        arr = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"])
        tensors[name] = arr.copy()
    return tensors, meta


def state_dict(tensors, prefix, step):
    """The module state_dict under `prefix`, with BatchNorm's num_batches_tracked
    (vidgan keeps no such counter: it only matters with momentum=None)."""
    sd = {k[len(prefix) :]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith(prefix)}
    for k in list(sd):
        if k.endswith(".running_mean"):
            sd[k[: -len("running_mean")] + "num_batches_tracked"] = torch.tensor(step, dtype=torch.long)
    return sd


def adam_for(module, tensors, who, meta, cfg):
    """torch.optim.Adam over module's parameters with the checkpoint's moments."""
    lr = cfg["lr_g"] if who == "G" else cfg["lr_d"]
    opt = torch.optim.Adam(module.parameters(), lr=lr, betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"])
    steps = int(meta["adam_step_g" if who == "G" else "adam_step_d"])
    state = {}
    for i, (name, _) in enumerate(module.named_parameters()):
        state[i] = {
            "step": torch.tensor(float(steps)),
            "exp_avg": torch.from_numpy(tensors[f"optim.{who}.exp_avg.{name}"]),
            "exp_avg_sq": torch.from_numpy(tensors[f"optim.{who}.exp_avg_sq.{name}"]),
        }
    sd = opt.state_dict()
    sd["state"] = state
    opt.load_state_dict(sd)
    return opt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--sample", help="write 4 clips of the EMA (else live) generator to this .npy")
    args = ap.parse_args()

    tensors, meta = read_safetensors(args.checkpoint)
    if meta.get("format") != "vidgan-checkpoint":
        sys.exit(f"{args.checkpoint}: not a vidgan checkpoint")
    if meta.get("format_version") != "1" or meta.get("model") != "dcgan3d":
        sys.exit(f"{args.checkpoint}: unsupported format_version/model {meta.get('format_version')}/{meta.get('model')}")
    mc = json.loads(meta["model_config"])
    tc = json.loads(meta["train_config"])
    if mc.get("spectral_norm"):
        sys.exit(f"{args.checkpoint}: tools/ref_dcgan3d.py has no spectral-norm discriminator")
    step = int(meta["step"])

    def make_g():
        return Generator(mc["size"], mc["frames"], mc["channels"], mc["z_dim"], mc["g_base"], mc.get("g_arch", "deconv"),
                         two_stream=bool(mc.get("two_stream")), motion_dim=int(mc.get("motion_dim", 0)),
                         sprite=bool(mc.get("sprite")), motion_still=bool(mc.get("motion_still")))

    G, D = make_g(), Discriminator(mc["size"], mc["frames"], mc["channels"], mc["d_base"])
    if mc.get("image_d"):  # vidgan keeps the image discriminator in D's set: "D.DI.net.<i>"
        D.DI = ImageDiscriminator(mc["size"], mc["channels"], mc["d_base"])
    G.load_state_dict(state_dict(tensors, "G.", step), strict=True)
    D.load_state_dict(state_dict(tensors, "D.", step), strict=True)
    loaded = ["G", "D"]
    G_ema = None
    if any(k.startswith("G_ema.") for k in tensors):
        G_ema = make_g()
        G_ema.load_state_dict(state_dict(tensors, "G_ema.", step), strict=True)
        loaded.append("G_ema")
    adam_for(G, tensors, "G", meta, tc)
    adam_for(D, tensors, "D", meta, tc)
    loaded.append("Adam(G), Adam(D)")

    # every tensor of the file has been used, and all of them are finite
    used = {k for k in tensors if k.split(".")[0] in ("G", "D", "G_ema", "optim")}
    if used != set(tensors):
        sys.exit(f"{args.checkpoint}: unexpected tensors {sorted(set(tensors) - used)[:5]}")
    bad = [k for k, v in tensors.items() if not np.isfinite(v).all()]
    if bad:
        sys.exit(f"{args.checkpoint}: non-finite values in {bad[:5]}")

    gen = (G_ema or G).eval()
    with torch.no_grad():
        z = torch.randn(4, G.latent_dim(), generator=torch.Generator().manual_seed(0))
        video = gen(z)
        logits = D.eval()(video)
    want = (4, mc["channels"], mc["frames"], mc["size"], mc["size"])
    if tuple(video.shape) != want or logits.shape != (4,):
        sys.exit(f"{args.checkpoint}: forward gave {tuple(video.shape)}, {tuple(logits.shape)}")
    if args.sample:
        np.save(args.sample, video.numpy())
    print(f"{args.checkpoint}: step {step}, loaded {', '.join(loaded)} (strict); "
          f"sample {tuple(video.shape)} in [{video.min():.3f}, {video.max():.3f}]")


if __name__ == "__main__":
    main()
