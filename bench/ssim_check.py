#!/usr/bin/env python3
"""Independent SSIM for the bench's cross-check: scikit-image on the same 8-bit PNG pairs that
pstyle measures, on sRGB luma Y' (Rec.601), Gaussian 7x7 window (sigma 1.5, truncate 2), the
constants of Wang et al. 2004. Usage: ssim_check.py DIR N  (reads DIR/ssim<i>_a.png, _b.png)."""
import sys

import numpy as np
from skimage.io import imread
from skimage.metrics import structural_similarity


def luma(path):
    im = imread(path).astype(np.float64) / 255.0
    return 0.299 * im[..., 0] + 0.587 * im[..., 1] + 0.114 * im[..., 2]


def main():
    folder, n = sys.argv[1], int(sys.argv[2])
    for i in range(n):
        a = luma(f"{folder}/ssim{i}_a.png")
        b = luma(f"{folder}/ssim{i}_b.png")
        s = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, truncate=2.0,
                                  use_sample_covariance=False, data_range=1.0)
        print(f"{s:.8f}")


if __name__ == "__main__":
    main()
