"""Reference I3D (Inception-v1 inflated to 3-D, Carreira & Zisserman 2017) in
PyTorch, with the semantics of src/models/i3d.c: TensorFlow "SAME" padding
(odd totals put the extra cell at the end), conv (no bias) + BatchNorm3d
(eps 1e-3, eval) + ReLU units, max pools padded with zeros (their inputs are
ReLU outputs, so this equals TF's ignore-the-padding), AvgPool (2, 7, 7)
stride 1 "VALID", logits = 1x1x1 conv with bias, spatial squeeze, mean over
time. The state_dict uses the names of docs/eval.md ("Conv3d_1a_7x7.conv3d.
weight", "Mixed_3b.b1b.bn.running_var", "logits.conv3d.bias", ...).

Also here, shared by the fixture script and mirrored in tests/test_i3d.c:
- resize_tf1: TF1 tf.image.resize_bilinear (align_corners=False, no
  half-pixel centres) in float32, numpy;
- hash_uniform / test_weights / test_input: deterministic pseudo-random
  weights and clips from a 64-bit hash, so the C test can rebuild the same
  12M weights without a 48 MB fixture:
    key = FNV-1a 64 of the tensor name (UTF-8);
    z = key + (i + 1) * 0x9E3779B97F4A7C15 (mod 2^64), i the element index;
    z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9; z = (z ^ z >> 27) * 0x94D049BB133111EB;
    z ^= z >> 31 (SplitMix64's finaliser);
    s = 2 * (z >> 40) / 2^24 - 1, exactly representable, in [-1, 1);
  values (computed in float64, rounded once to float32):
    *.conv3d.weight   s * sqrt(6 / fan_in)   (fan_in = C_in * kT * kH * kW)
    *.conv3d.bias     0.1 s
    *.bn.weight       1 + 0.25 s
    *.bn.bias         0.1 s
    *.bn.running_mean 0.1 s
    *.bn.running_var  1 + 0.5 s             (in [0.5, 1.5))
    input clips       s  for the name "input", elements in (N, C, T, H, W) order.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-3

# (name, C_in, [b0, b1a, b1b, b2a, b2b, b3b]) from Inception-v1's table 1.
MIXED = [
    ("Mixed_3b", 192, [64, 96, 128, 16, 32, 32]),
    ("Mixed_3c", 256, [128, 128, 192, 32, 96, 64]),
    ("Mixed_4b", 480, [192, 96, 208, 16, 48, 64]),
    ("Mixed_4c", 512, [160, 112, 224, 24, 64, 64]),
    ("Mixed_4d", 512, [128, 128, 256, 24, 64, 64]),
    ("Mixed_4e", 512, [112, 144, 288, 32, 64, 64]),
    ("Mixed_4f", 528, [256, 160, 320, 32, 128, 128]),
    ("Mixed_5b", 832, [256, 160, 320, 32, 128, 128]),
    ("Mixed_5c", 832, [384, 192, 384, 48, 128, 128]),
]


def same_pads(size, kernel, stride):
    """torch F.pad list (last dim first) for TF "SAME" on the trailing dims."""
    pads = []
    for n, k, s in zip(size, kernel, stride):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    flat = []
    for front, back in reversed(pads):
        flat += [front, back]
    return flat


class Unit3D(nn.Module):
    def __init__(self, cin, cout, k=1, s=1, bn=True, relu=True, bias=False):
        super().__init__()
        self.k, self.s, self.relu = (k,) * 3, (s,) * 3, relu
        self.conv3d = nn.Conv3d(cin, cout, self.k, self.s, bias=bias)
        self.bn = nn.BatchNorm3d(cout, eps=BN_EPS) if bn else None

    def forward(self, x):
        x = F.pad(x, same_pads(x.shape[2:], self.k, self.s))
        x = self.conv3d(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


def max_pool_same(x, k, s):
    return F.max_pool3d(F.pad(x, same_pads(x.shape[2:], k, s)), k, s)


class Mixed(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.b0 = Unit3D(cin, c[0])
        self.b1a = Unit3D(cin, c[1])
        self.b1b = Unit3D(c[1], c[2], 3)
        self.b2a = Unit3D(cin, c[3])
        self.b2b = Unit3D(c[3], c[4], 3)
        self.b3b = Unit3D(cin, c[5])

    def forward(self, x):
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                          self.b3b(max_pool_same(x, (3, 3, 3), (1, 1, 1)))], 1)


class I3D(nn.Module):
    def __init__(self, classes=400):
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, 7, 2)
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, 3)
        for name, cin, c in MIXED:
            setattr(self, name, Mixed(cin, c))
        self.logits = Unit3D(1024, classes, bn=False, relu=False, bias=True)

    def forward(self, x, taps=None):
        """x (N, 3, T, 224, 224) in [-1, 1] -> (N, 400); taps (a dict) gets
        the per-channel means after Mixed_3c and Mixed_4f."""
        x = self.Conv3d_1a_7x7(x)
        x = max_pool_same(x, (1, 3, 3), (1, 2, 2))
        x = self.Conv3d_2c_3x3(self.Conv3d_2b_1x1(x))
        x = max_pool_same(x, (1, 3, 3), (1, 2, 2))
        for name, _, _ in MIXED:
            if name == "Mixed_4b":
                x = max_pool_same(x, (3, 3, 3), (2, 2, 2))
            if name == "Mixed_5b":
                x = max_pool_same(x, (2, 2, 2), (2, 2, 2))
            x = getattr(self, name)(x)
            if taps is not None and name in ("Mixed_3c", "Mixed_4f"):
                taps[name] = x.mean(dim=(2, 3, 4))
        x = F.avg_pool3d(x, (2, 7, 7), stride=1)
        x = self.logits(x)
        return x.squeeze(4).squeeze(3).mean(2)


def unit_names():
    """Unit prefixes in network order (as src/models/i3d.c lists them)."""
    names = ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"]
    for name, _, _ in MIXED:
        names += ["%s.%s" % (name, b) for b in ("b0", "b1a", "b1b", "b2a", "b2b", "b3b")]
    return names


def expected_shapes():
    """{name: shape} of every tensor the loader reads, in network order."""
    return {k: tuple(v.shape) for k, v in I3D().state_dict().items() if not k.endswith("num_batches_tracked")}


def conv_macs(T=16, size=224):
    """Multiply-adds of the convolutions for one clip (pools not counted)."""
    total = [0]

    def hook(mod, inp, out):
        total[0] += out.numel() * mod.in_channels * int(np.prod(mod.kernel_size))

    model = I3D()
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv3d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, T, size, size))
    for h in handles:
        h.remove()
    return total[0]


# ---- deterministic test data -------------------------------------------------------

_M64 = (1 << 64) - 1


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & _M64
    return h


def hash_uniform(name, n):
    """n values s in [-1, 1) (float64, each exactly a float32) for name."""
    key = np.uint64(fnv1a64(name))
    i = np.arange(1, n + 1, dtype=np.uint64)
    z = key + i * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) * (2.0 / (1 << 24)) - 1.0


def test_tensor(name, shape):
    s = hash_uniform(name, int(np.prod(shape))).reshape(shape)
    if name.endswith("conv3d.weight"):
        v = s * np.sqrt(6.0 / int(np.prod(shape[1:])))
    elif name.endswith("bn.weight"):
        v = 1.0 + 0.25 * s
    elif name.endswith("bn.running_var"):
        v = 1.0 + 0.5 * s
    elif name.endswith(("conv3d.bias", "bn.bias", "bn.running_mean")):
        v = 0.1 * s
    else:
        raise KeyError("test_tensor: no rule for %r" % name)
    return v.astype(np.float32)


def test_weights():
    """{name: float32 ndarray} for every tensor of expected_shapes()."""
    return {k: test_tensor(k, shape) for k, shape in expected_shapes().items()}


def test_input(shape):
    return hash_uniform("input", int(np.prod(shape))).astype(np.float32).reshape(shape)


def resize_tf1(x, out_h, out_w):
    """TF1 resize_bilinear of x (..., H, W) float32, align_corners=False,
    half_pixel_centers=False: src = dst * (in / out) in float32, the upper
    neighbour clamped; lerp across, then down, in float32."""
    x = np.asarray(x, dtype=np.float32)
    H, W = x.shape[-2:]
    f32 = np.float32
    fy = np.arange(out_h, dtype=np.float32) * (f32(H) / f32(out_h))
    fx = np.arange(out_w, dtype=np.float32) * (f32(W) / f32(out_w))
    y0 = np.floor(fy).astype(np.int64)
    x0 = np.floor(fx).astype(np.int64)
    y1 = np.minimum(y0 + 1, H - 1)
    x1 = np.minimum(x0 + 1, W - 1)
    ly = (fy - y0.astype(np.float32))[:, None]
    lx = (fx - x0.astype(np.float32))[None, :]
    tl, tr = x[..., y0[:, None], x0[None, :]], x[..., y0[:, None], x1[None, :]]
    bl, br = x[..., y1[:, None], x0[None, :]], x[..., y1[:, None], x1[None, :]]
    top = tl + (tr - tl) * lx
    bottom = bl + (br - bl) * lx
    return (top + (bottom - top) * ly).astype(np.float32)


def load_state(model, tensors, dtype=torch.float64):
    """Load {name: ndarray} into model (strict) and convert it to dtype."""
    state = {k: torch.from_numpy(np.asarray(v)) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise KeyError("load_state: missing %s, unexpected %s" % (missing, unexpected))
    return model.to(dtype).eval()
