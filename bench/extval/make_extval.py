#!/usr/bin/python3
"""`make extval`: the external validation set, styles from programs pstyle never trains on.

Reads the style table (styles.tsv beside this file) and the validation photos (data/photos/val,
from `make data`), and writes, for every style, 5 support images and 5 query pairs (photo, ground
truth) into data/extval/<style>/, plus data/extval/manifest.tsv for the bench. Support and query
photos are disjoint within a style; which photos play which part rotates from style to style.
Every photo is centre-cropped to 4:3 and resized (OpenCV INTER_AREA) to 512x384 first, so the
samples, the photos and the ground truths share one scale: a halftone period or a stroke width
means the same on all of them. Every random filter gets a seed made from the style and the photo.

Usage: /usr/bin/python3 bench/extval/make_extval.py [--val DIR] [--out DIR]
Needs Debian's gegl and python3-opencv (GEGL and OpenCV only here: DATA.md).
"""
import argparse
import hashlib
import os
import shlex
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 512, 384
K_SUPPORT, N_QUERY = 5, 5


# ---- OpenCV recipes (images are 8-bit BGR, as OpenCV keeps them) ------------------------------

def identity(img, seed):
    return img.copy()


def _luma(img):
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0


def _ramp(lum, stops):
    """Gradient map: luminance -> colour along RGB stops (list of (position, (r, g, b)))."""
    pos = np.array([p for p, _ in stops], np.float32)
    out = np.empty(lum.shape + (3,), np.float32)
    for c in range(3):  # stops are RGB, the image BGR
        out[..., 2 - c] = np.interp(lum, pos, np.array([col[c] for _, col in stops], np.float32))
    return np.clip(out, 0, 255).astype(np.uint8)


def split_tone(img, seed, shadow, highlight, contrast):
    """Teal-and-orange grade: an S-curve on luminance, shadows pulled to one hue and highlights
    to another, blended with the photo's own chroma."""
    lum = _luma(img)
    s = 1.0 / (1.0 + np.exp(-contrast * 6.0 * (lum - 0.5)))
    s = (s - s.min()) / max(s.max() - s.min(), 1e-6)
    tone = _ramp(s, [(0.0, (0, 0, 0)), (0.35, shadow), (0.75, highlight), (1.0, (255, 250, 240))])
    return cv2.addWeighted(tone, 0.7, img, 0.3, 0)


def colormap(img, seed, cmap):
    return cv2.applyColorMap(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cmap)


def duotone(img, seed, dark, light):
    return _ramp(_luma(img), [(0.0, dark), (1.0, light)])


def palette(img, seed, colors):
    """A fixed palette: every pixel takes the nearest colour in CIELAB (OpenCV's conversion)."""
    pal = np.array([c[::-1] for c in colors], np.uint8).reshape(-1, 1, 3)
    lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).reshape(-1, 1, 3).astype(np.float32)
    plab = cv2.cvtColor(pal, cv2.COLOR_BGR2LAB).reshape(1, -1, 3).astype(np.float32)
    idx = np.argmin(((lab - plab) ** 2).sum(-1), axis=1)
    return pal.reshape(-1, 3)[idx].reshape(img.shape)


def pencil(img, seed, color, sigma_s, sigma_r, shade):
    gray, col = cv2.pencilSketch(img, sigma_s=sigma_s, sigma_r=sigma_r, shade_factor=shade)
    return col if color else cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def oil(img, seed, size, dyn_ratio):
    return cv2.xphoto.oilPainting(img, size, dyn_ratio)


def run_opencv(recipe, img, seed):
    name, args = recipe.split("(", 1)
    env = {"cv2": cv2, "img": img, "seed": seed}
    if name.startswith("cv2."):  # an OpenCV filter called as it is
        return eval(f"{name}(img, {args}", env)
    return eval(f"{name}(img, seed, {args}", {**globals(), **env})


def run_gegl(recipe, src, dst, seed, tmp):
    """gegl reads and writes PNG; its output may be 16-bit or have alpha: read back as 8-bit BGR."""
    cmd = ["gegl", "-i", src, "-o", dst, "--"] + shlex.split(recipe.replace("{seed}", str(seed)))
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    out = cv2.imread(dst, cv2.IMREAD_COLOR)
    if r.returncode != 0 or out is None:
        sys.exit(f"make extval: {' '.join(map(shlex.quote, cmd))} failed: {r.stderr.strip()}")
    return out


def fit(img):
    """Centre-crop to 4:3, then resize to W x H."""
    h, w = img.shape[:2]
    if w * H > h * W:
        cw = h * W // H
        img = img[:, (w - cw) // 2:(w - cw) // 2 + cw]
    else:
        ch = w * H // W
        img = img[(h - ch) // 2:(h - ch) // 2 + ch]
    return cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA)


def read_styles(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, group, tool, quick, recipe = line.rstrip("\n").split("\t")
            rows.append(dict(name=name, group=group, tool=tool, quick=quick == "quick",
                             recipe=recipe))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--val", default="data/photos/val")
    ap.add_argument("--out", default="data/extval")
    a = ap.parse_args()
    names = sorted(f for f in os.listdir(a.val) if f.lower().endswith((".png", ".jpg", ".jpeg")))
    if len(names) < K_SUPPORT + N_QUERY - 1:
        sys.exit(f"make extval: {a.val} has {len(names)} photos, need {K_SUPPORT + 4} "
                 "(run `make data` first)")
    nq = min(N_QUERY, len(names) - K_SUPPORT)
    photos = []
    for n in names:
        im = cv2.imread(os.path.join(a.val, n), cv2.IMREAD_COLOR)
        if im is None:
            sys.exit(f"make extval: cannot read {n}")
        photos.append(fit(im))
    styles = read_styles(os.path.join(HERE, "styles.tsv"))
    tmp_out = a.out + ".tmp"
    subprocess.run(["rm", "-rf", tmp_out], check=True)
    os.makedirs(os.path.join(tmp_out, "photos"))
    for n, im in zip(names, photos):
        cv2.imwrite(os.path.join(tmp_out, "photos", os.path.splitext(n)[0] + ".png"), im)
    man = ["style\tgroup\tquick\trole\tphoto\timage"]
    with tempfile.TemporaryDirectory() as tmp:
        for si, st in enumerate(styles):
            d = os.path.join(tmp_out, st["name"])
            os.makedirs(d)
            order = [(si * 3 + i) % len(photos) for i in range(len(photos))]
            roles = [("support", i) for i in order[:K_SUPPORT]] + \
                    [("query", i) for i in order[K_SUPPORT:K_SUPPORT + nq]]
            for j, (role, pi) in enumerate(roles):
                stem = os.path.splitext(names[pi])[0]
                seed = int(hashlib.sha256(f"{st['name']}/{stem}".encode()).hexdigest()[:6], 16)
                src = os.path.join(tmp_out, "photos", stem + ".png")
                if st["tool"] == "gegl":
                    out = run_gegl(st["recipe"], os.path.abspath(src),
                                   os.path.join(tmp, "out.png"), seed, tmp)
                else:
                    out = run_opencv(st["recipe"], photos[pi], seed)
                assert out.shape == photos[pi].shape, (st["name"], out.shape)
                fn = f"{role}{j if role == 'support' else j - K_SUPPORT}.png"
                cv2.imwrite(os.path.join(d, fn), out)
                man.append(f"{st['name']}\t{st['group']}\t{int(st['quick'])}\t{role}\t"
                           f"photos/{stem}.png\t{st['name']}/{fn}")
            print(f"make extval: {st['name']:14s} ({st['group']}, {st['tool']})", flush=True)
    with open(os.path.join(tmp_out, "manifest.tsv"), "w") as f:
        f.write("\n".join(man) + "\n")
    subprocess.run(["rm", "-rf", a.out], check=True)
    os.rename(tmp_out, a.out)
    print(f"make extval: {len(styles)} styles x ({K_SUPPORT} samples + {nq} queries) in {a.out}")


if __name__ == "__main__":
    main()
