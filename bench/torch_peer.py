#!/usr/bin/env python3
"""PyTorch peer of pstyle's generator for the bench (section 3 of bench/REPORT.md).

Rebuilds ps_gen_heads_forward (src/gen/gen.c) and ps_gen_compose_forward (src/gen/compose.c)
from the weights pstyle exports and runs them on the same inputs with the same thread count. The
bench drives it run by run, alternating with its own runs so that both see the same machine
load: each line "run" on stdin runs once and prints the seconds its network and its composition
took; "end" writes the output
(3,H,W float32) and exits.
Semantics followed: leaky ReLU 0.2; bilinear resampling with align_corners=False; attention
heads are column slices of Q/K/V, softmax scaled by 1/sqrt(E/heads); FiLM y = x*(1+s)+b; the
texture decoder's noise channel is the position hash of gen.c; the color grid adds a grid-wide
term from the pooled color tokens; heads are bounded by b*tanh(x/b) (dS, dT: b = 1; grid: b = 2);
the color grid is sliced trilinearly at (x, y, luma of the photo) with border clamping.

Usage: torch_peer.py WEIGHTS INPUTS OUTPUT THREADS
"""
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_arrays(path):
    """The bench's exchange format: b"PSB1", then (u32 name length, name, u32 ndim, u32 dims...,
    float32 data) records."""
    data = open(path, "rb").read()
    assert data[:4] == b"PSB1", f"{path}: not a bench exchange file"
    pos, out = 4, {}
    while pos < len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        name = data[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        (nd,) = struct.unpack_from("<I", data, pos)
        dims = struct.unpack_from(f"<{nd}I", data, pos + 4)
        pos += 4 + 4 * nd
        count = int(np.prod(dims))
        out[name] = torch.from_numpy(
            np.frombuffer(data, dtype="<f4", count=count, offset=pos).reshape(dims).copy())
        pos += 4 * count
    return out


def noise_map(h, w):
    """gen.c's noise: a hash of the pixel index, uniform in [-1, 1], float32 exactly."""
    x = np.arange(h * w, dtype=np.uint64)
    m = np.uint64(0xFFFFFFFF)
    x = (x * np.uint64(2654435761) + np.uint64(0x9E3779B9)) & m
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x2C1B3C6D)) & m
    x ^= x >> np.uint64(12)
    x = (x * np.uint64(0x297A2D39)) & m
    x ^= x >> np.uint64(15)
    v = (x >> np.uint64(8)).astype(np.float32) * np.float32(2.0 / 16777216.0) - np.float32(1.0)
    return torch.from_numpy(v.reshape(1, 1, h, w))


def bound(x, b):
    """b * tanh(x / b), as gen.c bounds its heads."""
    return b * torch.tanh(x / b)


class Generator:
    def __init__(self, arrays):
        cfg = [int(v) for v in arrays["cfg"].tolist()]
        self.tok, self.dim, self.c1, self.c2, self.c3, self.heads, self.bins, self.grid_div = cfg
        self.tokens = arrays["tokens"]
        self.p = {k[4:]: v for k, v in arrays.items() if k.startswith("gen.")}
        self.noise = {}

    def conv(self, x, name, stride=1, pad=1):
        w = self.p[name + ".w"]
        b = self.p[name + ".b"].reshape(-1)
        return F.conv2d(x, w, b, stride=stride, padding=pad)

    def lin(self, name):
        return self.p[name].reshape(self.p[name].shape[2], self.p[name].shape[3])

    def attention(self, q, kv, k):
        """q (Tq, c3), kv (T, D) -> (Tq, c3)."""
        wq, wk, wv, wo = (self.lin(f"attn{k}.{n}") for n in "qkvo")
        Q, K, V = q @ wq, kv @ wk, kv @ wv
        e = Q.shape[1]
        dh = e // self.heads
        Q = Q.reshape(-1, self.heads, dh).transpose(0, 1)          # (heads, Tq, dh)
        K = K.reshape(-1, self.heads, dh).transpose(0, 1)          # (heads, T, dh)
        V = V.reshape(-1, self.heads, dh).transpose(0, 1)
        P = torch.softmax(Q @ K.transpose(1, 2) / math.sqrt(dh), dim=-1)
        O = (P @ V).transpose(0, 1).reshape(-1, e)
        return O @ wo

    def heads_forward(self, x):
        lr = lambda t: F.leaky_relu(t, 0.2)
        _, _, h, w = x.shape
        e1 = lr(self.conv(x, "e1"))
        e2 = lr(self.conv(e1, "e2", 2))
        e3 = lr(self.conv(e2, "e3", 2))
        e3 = e3 + lr(self.conv(e3, "mid"))
        c3 = e3.shape[1]
        q = e3.reshape(c3, -1).t()                                  # (h/4*w/4, c3)
        h3, pooled = [], []
        for k in range(3):
            tk = self.tokens[k * self.tok:(k + 1) * self.tok]
            a = self.attention(q, tk, k)
            h3.append(e3 + a.t().reshape(1, c3, h // 4, w // 4))
            pooled.append(tk.mean(0, keepdim=True))                 # (1, D)
        hc = lr(self.conv(h3[0], "color"))
        hc = F.avg_pool2d(hc, self.grid_div // 4)
        glob = pooled[0] @ self.lin("grid.global")                 # grid-wide coefficients
        grid = bound(self.conv(hc, "grid", 1, 0) + glob.reshape(1, -1, 1, 1), 2.0)
        outs = []
        for k, grp in ((0, 1), (1, 2)):
            u = F.interpolate(h3[grp], size=(h // 2, w // 2), mode="bilinear", align_corners=False)
            d2 = lr(self.conv(torch.cat([u, e2], 1), f"dec{k}.d2"))
            fs = pooled[grp] @ self.lin(f"dec{k}.film_s")
            fb = pooled[grp] @ self.lin(f"dec{k}.film_b")
            d2 = d2 * (1 + fs.reshape(1, -1, 1, 1)) + fb.reshape(1, -1, 1, 1)
            u1 = torch.cat([F.interpolate(d2, size=(h, w), mode="bilinear", align_corners=False),
                            e1], 1)
            if k == 0:
                if (h, w) not in self.noise:
                    self.noise[(h, w)] = noise_map(h, w)
                u1 = torch.cat([u1, self.noise[(h, w)]], 1)
            d1 = lr(self.conv(u1, f"dec{k}.d1"))
            outs.append(bound(self.conv(d1, f"dec{k}.out"), 1.0))
        return outs[1], outs[0], grid                               # dS, dT, grid

    def compose(self, full, ds, dt, grid, wgt=(1.0, 1.0, 1.0)):
        _, _, H, W = full.shape
        up = lambda t: F.interpolate(t, size=(H, W), mode="bilinear", align_corners=False)
        z = full + wgt[2] * up(ds) + wgt[1] * up(dt)
        luma = (0.299 * full[:, 0] + 0.587 * full[:, 1] + 0.114 * full[:, 2]).clamp(0, 1)
        gh, gw = grid.shape[2], grid.shape[3]
        g5 = grid.reshape(1, 12, self.bins, gh, gw)
        xs = (2 * torch.arange(W, dtype=torch.float32) + 1) / W - 1
        ys = (2 * torch.arange(H, dtype=torch.float32) + 1) / H - 1
        samp = torch.stack([xs.reshape(1, W).expand(H, W), ys.reshape(H, 1).expand(H, W),
                            2 * luma[0] - 1], -1).reshape(1, 1, H, W, 3)
        A = F.grid_sample(g5, samp, mode="bilinear", padding_mode="border",
                          align_corners=False).reshape(12, H, W)
        out = []
        for ch in range(3):
            a = A[4 * ch:4 * ch + 4]
            out.append(z[0, ch] + wgt[0] * (a[0] * z[0, 0] + a[1] * z[0, 1] + a[2] * z[0, 2]
                                            + a[3]))
        return torch.stack(out)


def main():
    wpath, ipath, opath, threads = sys.argv[1:5]
    torch.set_num_threads(int(threads))
    gen = Generator(read_arrays(wpath))
    inp = read_arrays(ipath)
    work, full = inp["work"].unsqueeze(0), inp["full"].unsqueeze(0)
    y = None
    print("ready", flush=True)
    with torch.no_grad():
        for line in sys.stdin:
            if line.strip() != "run":
                break
            t0 = time.perf_counter()
            heads = gen.heads_forward(work)
            t1 = time.perf_counter()
            y = gen.compose(full, *heads)
            print(f"{t1 - t0:.6f} {time.perf_counter() - t1:.6f}", flush=True)
    if y is not None:
        y.numpy().astype("<f4").tofile(opath)


if __name__ == "__main__":
    main()
