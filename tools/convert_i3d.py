"""Convert I3D weights into the safetensors file vidgan's FVD reads
(src/models/i3d.c; tensor names in docs/eval.md).

Inputs it understands:
  - a PyTorch state_dict saved with torch.save (.pt/.pth), in the layout of
    the PyTorch port of kinetics-i3d ("Conv3d_1a_7x7.conv3d.weight",
    "Mixed_3b.b1a.bn.running_mean", "logits.conv3d.bias", ...), possibly
    wrapped ({"state_dict": ...}) or prefixed ("module.");
  - a TorchScript module (torch.jit.save), e.g. StyleGAN-V's
    i3d_torchscript.pt: its parameters and buffers are read with
    torch.jit.load(...).state_dict();
  - an .npz of TensorFlow variables (names such as
    "RGB/inception_i3d/Mixed_3b/Branch_1/Conv3d_0b_3x3/conv_3d/w", kernels
    (kT, kH, kW, C_in, C_out)), which is how a TF-Hub SavedModel or a
    kinetics-i3d checkpoint gets here: TensorFlow is not a dependency of
    vidgan, so dump the variables with it first (see docs/eval.md).

Names are mapped in this order: (1) our names, after dropping a common
prefix; (2) TensorFlow names; (3) by position: the 58 five-dimensional
convolution weights in the file's order must have exactly the shapes of
ours in network order, each followed by its BatchNorm (running_mean /
running_var, and weight / bias where present) in the same module. A
BatchNorm without a scale (TensorFlow's I3D has none) gets weight = 1.
Anything that does not fit is refused with the first mismatch named.

Usage: /usr/bin/python3 tools/convert_i3d.py IN OUT.safetensors [--quiet]
"""
import argparse
import os
import sys
from collections import OrderedDict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_i3d import expected_shapes, unit_names  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from common import write_safetensors  # noqa: E402


class ConvertError(Exception):
    pass


BN_FIELDS = ("weight", "bias", "running_mean", "running_var")


def read_source(path):
    """OrderedDict name -> float32 ndarray, and a word for the kind."""
    if not os.path.isfile(path):
        raise ConvertError("no such file")
    if path.endswith(".npz"):
        with np.load(path) as z:
            return OrderedDict((k, np.asarray(z[k])) for k in z.files), "npz"
    import torch
    try:
        mod = torch.jit.load(path, map_location="cpu")
        state, kind = mod.state_dict(), "torchscript"
    except Exception:  # not TorchScript: a pickled state_dict or module
        try:
            obj = torch.load(path, map_location="cpu")
        except Exception as e:
            raise ConvertError("neither TorchScript nor a torch.save file (%s: %s)" % (type(e).__name__, e))
        if isinstance(obj, torch.nn.Module):
            obj = obj.state_dict()
        if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
            obj = obj["state_dict"]
        if not isinstance(obj, dict):
            raise ConvertError("%s: neither TorchScript nor a state_dict (got %s)" % (path, type(obj).__name__))
        state, kind = obj, "state_dict"
    out = OrderedDict()
    for k, v in state.items():
        if k.endswith("num_batches_tracked") or not hasattr(v, "detach"):
            continue
        out[k] = v.detach().cpu().float().numpy()
    return out, kind


def strip_prefix(names, expected):
    """The longest common 'a.b.' prefix whose removal yields our names."""
    for name in names:
        for want in expected:
            if name.endswith(want) and name != want:
                prefix = name[: len(name) - len(want)]
                if prefix.endswith(".") and all(n.startswith(prefix) for n in names):
                    return prefix
    return ""


def map_by_name(src, expected):
    prefix = strip_prefix(list(src), expected)
    names = {k[len(prefix):]: k for k in src}
    missing = [k for k in expected if k not in names]
    if missing and len(missing) < len(expected) / 2:  # our layout, but incomplete
        raise ConvertError("tensor %s is missing (and %d more)" % (missing[0], len(missing) - 1))
    if missing:
        return None
    return OrderedDict((k, (names[k], src[names[k]])) for k in expected)


TF_BRANCH = {"Branch_0/Conv3d_0a_1x1": "b0", "Branch_1/Conv3d_0a_1x1": "b1a", "Branch_1/Conv3d_0b_3x3": "b1b",
             "Branch_2/Conv3d_0a_1x1": "b2a", "Branch_2/Conv3d_0b_3x3": "b2b", "Branch_3/Conv3d_0b_1x1": "b3b"}
TF_FIELD = {"conv_3d/w": "conv3d.weight", "conv_3d/b": "conv3d.bias", "batch_norm/gamma": "bn.weight",
            "batch_norm/beta": "bn.bias", "batch_norm/moving_mean": "bn.running_mean",
            "batch_norm/moving_variance": "bn.running_var"}


def tf_to_ours(name):
    """'.../inception_i3d/Mixed_3b/Branch_1/Conv3d_0b_3x3/conv_3d/w' -> 'Mixed_3b.b1b.conv3d.weight'."""
    parts = name.split(":")[0].split("/")
    for i, p in enumerate(parts):
        if p.startswith(("Conv3d_", "Mixed_", "Logits")):
            parts = parts[i:]
            break
    else:
        return None
    field = TF_FIELD.get("/".join(parts[-2:]))
    if field is None:
        return None
    unit = parts[:-2]
    if unit and unit[0] == "Logits":
        return "logits." + field
    if len(unit) == 1 and unit[0].startswith("Conv3d_"):
        return "%s.%s" % (unit[0], field)
    if len(unit) == 3 and unit[0].startswith("Mixed_") and "/".join(unit[1:]) in TF_BRANCH:
        return "%s.%s.%s" % (unit[0], TF_BRANCH["/".join(unit[1:])], field)
    return None


def map_tf(src, expected):
    mapped = {}
    for k, v in src.items():
        ours = tf_to_ours(k)
        if ours is None:
            continue
        if ours.endswith("conv3d.weight") and v.ndim == 5:
            v = np.ascontiguousarray(v.transpose(4, 3, 0, 1, 2))  # (kT, kH, kW, Cin, Cout) -> torch
        mapped[ours] = (k, v)
    if not mapped:
        return None
    return fill_bn_scale(mapped, expected)


def fill_bn_scale(mapped, expected):
    for k, shape in expected.items():
        if k.endswith("bn.weight") and k not in mapped and k.replace("bn.weight", "bn.running_mean") in mapped:
            mapped[k] = ("(absent: BatchNorm without scale, 1)", np.ones(shape, np.float32))
    missing = [k for k in expected if k not in mapped]
    if missing:
        raise ConvertError("no tensor maps to %s (and %d more)" % (missing[0], len(missing) - 1))
    return OrderedDict((k, mapped[k]) for k in expected)


def map_by_position(src, expected):
    convs = [k for k, v in src.items() if v.ndim == 5]
    want = [k for k in expected if k.endswith("conv3d.weight")]
    if len(convs) != len(want):
        raise ConvertError("by position: the file has %d five-dimensional (convolution) weights, I3D has %d"
                           % (len(convs), len(want)))
    mapped = {}
    for have, ours in zip(convs, want):
        if tuple(src[have].shape) != expected[ours]:
            raise ConvertError("by position: %s has shape %s where %s needs %s"
                               % (have, tuple(src[have].shape), ours, expected[ours]))
        mapped[ours] = (have, src[have])
    # the BatchNorm (or, for the logits, the bias) of each unit: the 1-D
    # tensors after its conv weight, up to the next conv weight
    order = list(src)
    for have, ours in zip(convs, want):
        unit = ours[: -len("conv3d.weight")]
        has_bn = unit + "bn.running_mean" in expected
        i = order.index(have) + 1
        while i < len(order) and src[order[i]].ndim != 5:
            g = order[i]
            i += 1
            last = g.replace("/", ".").split(".")[-1]
            if last in ("running_mean", "moving_mean"):
                field = "bn.running_mean"
            elif last in ("running_var", "moving_variance"):
                field = "bn.running_var"
            elif last in ("weight", "gamma", "scale"):
                field = "bn.weight"
            elif last in ("bias", "beta", "offset", "b"):
                field = "bn.bias" if has_bn else "conv3d.bias"
            else:
                raise ConvertError("by position: cannot tell what %s %s is" % (g, tuple(src[g].shape)))
            if unit + field in mapped:
                raise ConvertError("by position: both %s and %s look like %s%s"
                                   % (mapped[unit + field][0], g, unit, field))
            mapped[unit + field] = (g, src[g])
    # tensors before the first conv could belong to nothing: refuse leftovers
    used = {v[0] for v in mapped.values()}
    left = [k for k in src if k not in used]
    if left:
        raise ConvertError("by position: %d tensors left unmapped, first %s %s"
                           % (len(left), left[0], tuple(src[left[0]].shape)))
    return fill_bn_scale(mapped, expected)


def convert(path, out, quiet=False):
    src, kind = read_source(path)
    expected = expected_shapes()
    how = "names"
    mapped = map_by_name(src, expected)
    if mapped is None:
        mapped = map_tf(src, expected)
        how = "TensorFlow names"
    if mapped is None:
        mapped = map_by_position(src, expected)
        how = "position"
    tensors = OrderedDict()
    for k, (have, v) in mapped.items():
        if tuple(v.shape) != expected[k]:
            raise ConvertError("%s (from %s) has shape %s, expected %s" % (k, have, tuple(v.shape), expected[k]))
        if not np.all(np.isfinite(v)):
            raise ConvertError("%s (from %s) has non-finite values" % (k, have))
        tensors[k] = np.ascontiguousarray(v, dtype=np.float32)
        if not quiet:
            print("  %-32s <- %s %s" % (k, have, tuple(v.shape)))
    write_safetensors(out, tensors, {"format": "vidgan-i3d", "source": os.path.basename(path),
                                     "source_kind": kind, "mapped_by": how})
    if not quiet:
        print("%s: %s, mapped by %s: %d tensors (%d units + logits) -> %s"
              % (path, kind, how, len(tensors), len(unit_names()), out))
    return tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="state_dict .pt, TorchScript .pt, or .npz of TensorFlow variables")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--quiet", action="store_true", help="print only errors")
    a = ap.parse_args()
    try:
        convert(a.input, a.output, a.quiet)
    except ConvertError as e:
        sys.exit("convert_i3d: %s: %s" % (a.input, e))


if __name__ == "__main__":
    main()
