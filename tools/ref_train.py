"""Train the PyTorch reference 3D-DCGAN (tools/ref_dcgan3d.py) on clips from a
vidgan clip cache (`vidgan data prepare SRC -o DIR`: DIR/clips.npy, uint8
(N, T, H, W, C)) with vidgan's default recipe (Adam 2e-4, betas 0.5/0.999,
DCGAN init normal(0, 0.02), BN weights normal(1, 0.02), G weight EMA with
vidgan's warm-up), then
write generated clips as uint8 .npy files that `vidgan eval --fake FILE.npy`
scores. It answers "does the same model and recipe learn in PyTorch?" when a
vidgan run does not, so a long-horizon bug can be told from a recipe problem.

    /usr/bin/python3 tools/ref_train.py --cache DIR --steps 1500 --out OUTDIR

OUTDIR gets live.npy (the trained G, BatchNorm with batch statistics, as
vidgan samples), ema.npy (the EMA generator) and losses.txt."""
import argparse
import copy
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_dcgan3d import Discriminator, Generator, ImageDiscriminator, train_step  # noqa: E402


def dcgan_init(m):
    if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm3d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def to_uint8_nthwc(x):
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1).contiguous().numpy()


def sample(G, n, z_dim, gen, batch=16):
    out = []
    with torch.no_grad():
        for i in range(0, n, batch):
            z = torch.randn(min(batch, n - i), z_dim, generator=gen)
            out.append(to_uint8_nthwc(G(z)))
    return np.concatenate(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--g-base", type=int, default=32)
    ap.add_argument("--d-base", type=int, default=32)
    ap.add_argument("--z-dim", type=int, default=100)
    ap.add_argument("--lr-g", type=float, default=2e-4)
    ap.add_argument("--lr-d", type=float, default=2e-4)
    ap.add_argument("--loss", default="nonsat")
    ap.add_argument("--spectral-norm", action="store_true")
    ap.add_argument("--g-arch", default="deconv", help="deconv or resize (vidgan's --g-arch)")
    ap.add_argument("--image-d", action="store_true", help="MoCoGAN's image discriminator beside D (vidgan's --image-d)")
    ap.add_argument("--two-stream", action="store_true", help="VGAN's two-stream generator (vidgan's --two-stream)")
    ap.add_argument("--motion-dim", type=int, default=0, help="MoCoGAN's motion GRU (vidgan's --motion-dim)")
    ap.add_argument("--mask-l1", type=float, default=0.0, help="VGAN's mask penalty (vidgan's --mask-l1)")
    ap.add_argument("--path-l1", type=float, default=0.0, help="the sprite path's acceleration penalty (vidgan's --path-l1)")
    ap.add_argument("--motion-still", action="store_true", help="no per-frame noise into the GRU (vidgan's --motion-still)")
    ap.add_argument("--sprite", action="store_true", help="one foreground image per clip moved along a path (vidgan's --sprite)")
    ap.add_argument("--label-smooth", type=float, default=0.0, help="vidgan's --label-smooth")
    ap.add_argument("--instance-noise", type=float, default=0.0,
                    help="vidgan's --instance-noise, falling linearly to 0 at --steps (torch's own noise)")
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--n-sample", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    clips = np.load(os.path.join(a.cache, "clips.npy"), mmap_mode="r")  # (N, T, H, W, C)
    N, T, H, W, C = clips.shape
    G = Generator(H, T, C, a.z_dim, a.g_base, a.g_arch, two_stream=a.two_stream, motion_dim=a.motion_dim,
                  sprite=a.sprite, motion_still=a.motion_still)
    D = Discriminator(H, T, C, a.d_base, a.spectral_norm)
    DI = ImageDiscriminator(H, C, a.d_base, a.spectral_norm) if a.image_d else None
    for m in (G, D) + ((DI,) if DI is not None else ()):
        m.apply(dcgan_init)
    ema = copy.deepcopy(G)
    opt_g = torch.optim.Adam(G.parameters(), a.lr_g, (0.5, 0.999))
    opt_d = torch.optim.Adam(list(D.parameters()) + (list(DI.parameters()) if DI is not None else []), a.lr_d, (0.5, 0.999))
    os.makedirs(a.out, exist_ok=True)
    log = open(os.path.join(a.out, "losses.txt"), "w")
    t0 = time.time()
    for step in range(a.steps):
        idx = [(step * a.batch + i) % N for i in range(a.batch)]
        real = torch.from_numpy(np.ascontiguousarray(clips[idx])).float().div(127.5).sub(1)
        real = real.permute(0, 4, 1, 2, 3).contiguous()
        z = torch.randn(a.batch, G.latent_dim())
        std = a.instance_noise * (1 - step / a.steps)
        noise = (lambda call: std * torch.randn_like(real)) if std > 0 else None
        ld, lg = train_step(G, D, opt_g, opt_d, real, z, a.loss, DI, a.label_smooth, noise, a.mask_l1, a.path_l1)
        decay = min(a.ema, (1 + step) / (10 + step))  # vidgan's warm-up (src/train/optim.h)
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), G.parameters()):
                pe.mul_(decay).add_(p, alpha=1 - decay)
            for be, b in zip(ema.buffers(), G.buffers()):
                be.copy_(b)
        print(f"{step + 1} {ld:.5f} {lg:.5f}", file=log, flush=True)
        if (step + 1) % 100 == 0:
            print(f"step {step + 1}: loss_D {ld:.4f} loss_G {lg:.4f} ({time.time() - t0:.0f} s)", flush=True)
    gen = torch.Generator().manual_seed(7)
    np.save(os.path.join(a.out, "live.npy"), sample(G, a.n_sample, G.latent_dim(), gen))
    gen = torch.Generator().manual_seed(7)
    np.save(os.path.join(a.out, "ema.npy"), sample(ema, a.n_sample, G.latent_dim(), gen))
    print(f"wrote {a.out}/live.npy and ema.npy")


if __name__ == "__main__":
    main()
