#!/usr/bin/env python3
"""Independent SSIM for the bench's cross-check: scikit-image on the same 8-bit PNG pairs that
pstyle measures, on sRGB luma Y' (Rec.601), constants of Wang et al. 2004. Prints two numbers per
pair: scikit-image with pstyle's window (7x7 Gaussian, sigma 1.5: the exact cross-check) and
scikit-image's own default Gaussian window (11x11, as in Wang et al.).
Usage: ssim_check.py DIR N  (reads DIR/ssim<i>_a.png and DIR/ssim<i>_b.png)."""
import sys

import numpy as np
import skimage.metrics._structural_similarity as skssim
from skimage.io import imread
from skimage.metrics import structural_similarity

# scikit-image 0.19 fixes truncate=3.5 (11 taps) for gaussian_weights; pstyle's window keeps
# +-2 sigma (7 taps). Route its own Gaussian filter through truncate=2 for the exact comparison.
_gaussian = skssim.gaussian


def _gaussian7(image, sigma, truncate=None, **kw):
    return _gaussian(image, sigma=sigma, truncate=2.0, **kw)


def luma(path):
    im = imread(path).astype(np.float64) / 255.0
    return 0.299 * im[..., 0] + 0.587 * im[..., 1] + 0.114 * im[..., 2]


def main():
    folder, n = sys.argv[1], int(sys.argv[2])
    for i in range(n):
        a = luma(f"{folder}/ssim{i}_a.png")
        b = luma(f"{folder}/ssim{i}_b.png")
        args = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
        skssim.gaussian = _gaussian7
        s7 = structural_similarity(a, b, win_size=7, **args)
        skssim.gaussian = _gaussian
        s11 = structural_similarity(a, b, **args)
        print(f"{s7:.8f} {s11:.8f}")


if __name__ == "__main__":
    main()
