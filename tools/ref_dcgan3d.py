"""PyTorch reference of vidgan's 3D-DCGAN (src/models/dcgan3d.c) and of its
training iteration (src/train/trainer.c), for step-parity fixtures and the
side-by-side benchmarks. Same geometry, same parameter names
(G.net.<i>.weight ...), same order of operations:

    D step: D(real), fake = G(z), D(fake.detach()), loss_D, backward, Adam(D)
    G step: loss_G from D(fake) with the updated D, backward, Adam(G)

Losses: "nonsat" (BCE with logits: softplus), "hinge", "lsgan"."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def geometry(size, frames):
    S = int(math.log2(size // 4))
    t0 = max(1, frames >> S)
    t_doublings = int(math.log2(frames // t0))
    return S, t0, t_doublings


def generator_stream(S, t0, td, z_dim, base, out_channels, arch, flat=False, tanh=True):
    """One generator stream as an nn.Sequential; flat: a 2D stream (temporal
    kernels 1, T = 1), VGAN's background."""
    ch = base << (S - 1)
    layers = [nn.ConvTranspose3d(z_dim, ch, (1 if flat else t0, 4, 4), 1, 0, bias=False), nn.BatchNorm3d(ch), nn.ReLU(True)]
    for s in range(1, S + 1):
        out = out_channels if s == S else ch // 2
        doubles = not flat and s > S - td
        if arch == "resize":
            layers.append(nn.Upsample(scale_factor=(2 if doubles else 1, 2, 2), mode="nearest"))
            layers.append(nn.Conv3d(ch, out, (1, 3, 3) if flat else 3, 1, (0, 1, 1) if flat else 1, bias=False))
        else:
            kt, st = (1, 1) if flat else (4, 2) if doubles else (3, 1)
            layers.append(nn.ConvTranspose3d(ch, out, (kt, 4, 4), (st, 2, 2), (0 if flat else 1, 1, 1), bias=False))
        if s < S:
            layers += [nn.BatchNorm3d(out), nn.ReLU(True)]
        elif tanh:
            layers.append(nn.Tanh())
        ch = out
    return nn.Sequential(*layers)


class Background(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net


class Generator(nn.Module):
    """arch "deconv": ConvTranspose3d stages (DCGAN); "resize": nearest
    Upsample + Conv3d kernel 3 per stage (vidgan's --g-arch resize).
    two_stream: VGAN's generator (vidgan's --two-stream): the 3D stream ends
    in channels + 1 outputs (foreground = tanh of the first channels, mask =
    sigmoid of the last), a 2D stream "bg" makes one background image per
    clip, video = bg + mask * (fg - bg).
    motion_dim M > 0: MoCoGAN's generator (vidgan's --motion-dim): z is
    [z_C (z_dim) | h_0 (M) | e_1 .. e_T (M each)], h_t = GRUCell(e_t, h_{t-1})
    ("motion"), and "net" is a 2D generator (temporal kernels 1) run on
    [z_C | h_t] for every frame; the background stream reads z_C.
    sprite (needs two_stream and motion_dim; vidgan's --sprite): "net" is a
    2D generator on z_C alone that draws one foreground image and mask per
    clip, and frame t shows it translated by p_t pixels with grid_sample
    (bilinear, zeros outside), p_0 = (size / 2) path_start(h_0), p_t =
    p_{t-1} + (size / 2) path_step(h_t).
    motion_still (vidgan's --motion-still): the GRU's inputs are 0 and z is
    [z_C | h_0]."""

    def __init__(self, size=32, frames=16, channels=3, z_dim=100, base=64, arch="deconv", two_stream=False, motion_dim=0,
                 sprite=False, motion_still=False):
        super().__init__()
        assert not sprite or (two_stream and motion_dim > 0)
        S, t0, td = geometry(size, frames)
        self.net = generator_stream(S, t0, td, z_dim + (0 if sprite else motion_dim), base,
                                    channels + (1 if two_stream else 0), arch, flat=motion_dim > 0, tanh=not two_stream)
        if two_stream:
            self.bg = Background(generator_stream(S, t0, td, z_dim, base, channels, arch, flat=True))
        if motion_dim:
            self.motion = nn.GRUCell(motion_dim, motion_dim)
        if sprite:
            self.path_start, self.path_step = nn.Linear(motion_dim, 2), nn.Linear(motion_dim, 2)
        self.z_dim, self.channels, self.two_stream = z_dim, channels, two_stream
        self.motion_dim, self.frames, self.sprite, self.size = motion_dim, frames, sprite, size
        self.motion_still = motion_still

    def latent_dim(self):
        return self.z_dim + (1 if self.motion_still else self.frames + 1) * self.motion_dim

    def forward(self, z, with_mask=False):
        """The video; with_mask: (video, mask) (mask None with one stream)."""
        n, Zc, M = z.shape[0], self.z_dim, self.motion_dim
        z5 = z[:, :Zc].reshape(n, Zc, 1, 1, 1)
        if self.sprite:
            h = self.net(z5)  # (N, C + 1, 1, H, W): one image and mask per clip
            sprite = torch.cat([torch.tanh(h[:, :self.channels]), torch.sigmoid(h[:, self.channels:])], 1)
            self.last_path = self.path(z)  # (N, 2, T), for the path penalty
            moved = translate(sprite[:, :, 0], self.last_path)
            fg, mask = moved[:, :self.channels], moved[:, self.channels:]
            bg = self.bg.net(z5)
            video = bg + mask * (fg - bg)
            return (video, mask) if with_mask else video
        if M:
            motion = torch.stack(self.motion_states(z)[1:], 2)  # (N, M, T)
            x = torch.cat([z[:, :Zc, None].expand(n, Zc, self.frames), motion], 1)
            h = self.net(x.reshape(n, Zc + M, self.frames, 1, 1))
        else:
            h = self.net(z5)
        if not self.two_stream:
            return (h, None) if with_mask else h
        fg, mask = torch.tanh(h[:, :self.channels]), torch.sigmoid(h[:, self.channels:])
        bg = self.bg.net(z5)
        video = bg + mask * (fg - bg)
        return (video, mask) if with_mask else video


    def motion_states(self, z):
        Zc, M = self.z_dim, self.motion_dim
        hs = [z[:, Zc:Zc + M]]
        for t in range(self.frames):
            e = torch.zeros_like(hs[0]) if self.motion_still else z[:, Zc + M * (t + 1):Zc + M * (t + 2)]
            hs.append(self.motion(e, hs[-1]))
        return hs

    def path(self, z):
        """The sprite's offsets in pixels, (N, 2, T): x then y."""
        hs = self.motion_states(z)
        p = self.path_start(hs[0])[:, :, None]  # (N, 2, 1)
        if self.frames > 1:
            steps = self.path_step(torch.stack(hs[1:self.frames], 2).transpose(1, 2)).transpose(1, 2)  # (N, 2, T - 1)
            p = torch.cat([p, p + torch.cumsum(steps, 2)], 2)
        return p * (0.5 * self.size)


def translate(img, path):
    """img (N, K, H, W) moved by path (N, 2, T) pixels -> (N, K, T, H, W):
    output pixel (x, y) of frame t samples img at (x - p_x, y - p_y),
    bilinear, zeros outside (grid_sample, align_corners=True)."""
    N, K, H, W = img.shape
    T = path.shape[2]
    xs = torch.arange(W, dtype=img.dtype).reshape(1, 1, 1, W)
    ys = torch.arange(H, dtype=img.dtype).reshape(1, 1, H, 1)
    gx = ((xs - path[:, 0, :, None, None]) * (2.0 / (W - 1)) - 1).expand(N, T, H, W)
    gy = ((ys - path[:, 1, :, None, None]) * (2.0 / (H - 1)) - 1).expand(N, T, H, W)
    grid = torch.stack([gx, gy], -1).reshape(N * T, H, W, 2)
    src = img[:, None].expand(N, T, K, H, W).reshape(N * T, K, H, W)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out.reshape(N, T, K, H, W).transpose(1, 2)


class Discriminator(nn.Module):
    """With spectral_norm every conv is wrapped in torch.nn.utils.spectral_norm
    and there is no BatchNorm (vidgan's --spectral-norm)."""

    def __init__(self, size=32, frames=16, channels=3, base=64, spectral_norm=False):
        super().__init__()
        S, t0, td = geometry(size, frames)
        sn = nn.utils.spectral_norm if spectral_norm else (lambda m: m)
        layers, ch = [], channels
        for s in range(S):
            out = base << s
            halves = s < td
            kt, st = (4, 2) if halves else (3, 1)
            layers.append(sn(nn.Conv3d(ch, out, (kt, 4, 4), (st, 2, 2), (1, 1, 1), bias=False)))
            if s > 0 and not spectral_norm:
                layers.append(nn.BatchNorm3d(out))
            layers.append(nn.LeakyReLU(0.2, True))
            ch = out
        layers.append(sn(nn.Conv3d(ch, 1, (t0, 4, 4), 1, 0, bias=False)))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).view(x.shape[0])


class ImageDiscriminator(nn.Module):
    """MoCoGAN's image discriminator D_I as vidgan builds it (--image-d): the
    2D DCGAN discriminator on every frame, written as Conv3d with temporal
    kernel 1; one logit per frame, (N * T) clip-major."""

    def __init__(self, size=32, channels=3, base=64, spectral_norm=False):
        super().__init__()
        S = int(math.log2(size // 4))
        sn = nn.utils.spectral_norm if spectral_norm else (lambda m: m)
        layers, ch = [], channels
        for s in range(S):
            out = base << s
            layers.append(sn(nn.Conv3d(ch, out, (1, 4, 4), (1, 2, 2), (0, 1, 1), bias=False)))
            if s > 0 and not spectral_norm:
                layers.append(nn.BatchNorm3d(out))
            layers.append(nn.LeakyReLU(0.2, True))
            ch = out
        layers.append(sn(nn.Conv3d(ch, 1, (1, 4, 4), 1, 0, bias=False)))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).reshape(-1)


def loss_d(kind, real, fake, smooth=0.0):
    """smooth: one-sided label smoothing, real clips' target 1 - smooth."""
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - (1 - smooth)) ** 2).mean() + 0.5 * (fake ** 2).mean()
    if smooth:
        return F.binary_cross_entropy_with_logits(real, torch.full_like(real, 1 - smooth)) + F.softplus(fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def loss_g(kind, fake):
    if kind == "hinge":
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    return F.softplus(-fake).mean()


def train_step(G, D, opt_g, opt_d, real, z, kind="nonsat", DI=None, smooth=0.0, noise=None, mask_l1=0.0, path_l1=0.0):
    """One iteration as vidgan's trainer (d_steps = 1); returns (loss_D, loss_G).
    With an image discriminator DI (its parameters in opt_d), its losses are
    added to the video discriminator's (MoCoGAN). smooth: one-sided label
    smoothing. noise(call): instance noise (a tensor shaped like the clips,
    or None) added to D's real clips (call 0), to the fake clips of D's
    step (1) and of G's step (2). mask_l1: VGAN's penalty, G's loss gains
    mask_l1 * mean(mask) of the two-stream generator. path_l1: G's loss gains
    path_l1 * mean |second difference| of the sprite's path (pixels)."""
    def noisy(x, call):
        n = noise(call) if noise else None
        return x if n is None else x + n
    opt_d.zero_grad(set_to_none=False)
    real = noisy(real, 0)
    real_logits = D(real)
    fake, mask = G(z, with_mask=True)
    fake_d = noisy(fake.detach(), 1)
    ld = loss_d(kind, real_logits, D(fake_d), smooth)
    if DI is not None:
        ld = ld + loss_d(kind, DI(real), DI(fake_d), smooth)
    ld.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=False)
    fake = noisy(fake, 2)
    lg = loss_g(kind, D(fake))
    if DI is not None:
        lg = lg + loss_g(kind, DI(fake))
    if mask_l1:
        lg = lg + mask_l1 * mask.mean()
    if path_l1:
        p = G.last_path
        lg = lg + path_l1 * (p[:, :, 2:] - 2 * p[:, :, 1:-1] + p[:, :, :-2]).abs().mean()
    lg.backward()
    opt_g.step()
    return ld.item(), lg.item()


def state_dict_flat(G, D, DI=None):
    """vidgan's names: "G.<name>" / "D.<name>" (/ "DI.<name>"), without num_batches_tracked."""
    out = {}
    for prefix, m in (("G.", G), ("D.", D)) + ((("DI.", DI),) if DI is not None else ()):
        for k, v in m.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[prefix + k] = v
    return out
