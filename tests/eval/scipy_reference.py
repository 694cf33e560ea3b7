#!/usr/bin/python3
"""Independent reference for tests/eval: SAMRI's mask metrics from SciPy's distance transform and
erosion, and SciPy's Wilcoxon signed-rank test. Reads cases from argv[1], prints one result line
per case.

Case formats (whitespace separated):
  mask DIMS SIZE... SPACING... TOLERANCE     then a line of 0/1 for the prediction, one for the
                                            reference (C order)
  wilcoxon MODE N                           then a line of N x values, one of N y values
"""
import sys

import numpy as np
from scipy import ndimage, stats


def surface(m):
    cross = ndimage.generate_binary_structure(m.ndim, 1)
    return m & ~ndimage.binary_erosion(m, structure=cross, border_value=0)


def mask_case(header, pred_line, ref_line):
    dims = int(header[1])
    size = [int(v) for v in header[2:2 + dims]]
    spacing = [float(v) for v in header[2 + dims:2 + 2 * dims]]
    tol = float(header[2 + 2 * dims])
    p = np.array([c == "1" for c in pred_line], bool).reshape(size)
    r = np.array([c == "1" for c in ref_line], bool).reshape(size)
    dice = 2 * (p & r).sum() / (p.sum() + r.sum())
    sp, sr = surface(p), surface(r)
    d_pr = ndimage.distance_transform_edt(~sr, sampling=spacing)[sp]
    d_rp = ndimage.distance_transform_edt(~sp, sampling=spacing)[sr]
    pooled = np.concatenate([d_pr, d_rp])
    hd95 = max(np.percentile(d_pr, 95), np.percentile(d_rp, 95))
    nsd = (pooled <= tol).sum() / pooled.size
    return [dice, pooled.max(), pooled.mean(), hd95, nsd]


def wilcoxon_case(header, x_line, y_line):
    x = np.array([float(v) for v in x_line.split()])
    y = np.array([float(v) for v in y_line.split()])
    if header[1] == "exact":
        res = stats.wilcoxon(x, y, mode="exact")
    else:
        res = stats.wilcoxon(x, y, mode="approx", correction=True)
    return [res.statistic, res.pvalue]


def main():
    lines = open(sys.argv[1]).read().split("\n")
    i = 0
    while i < len(lines):
        header = lines[i].split()
        if not header:
            i += 1
            continue
        kind = {"mask": mask_case, "wilcoxon": wilcoxon_case}[header[0]]
        out = kind(header, lines[i + 1].strip(), lines[i + 2].strip())
        print(" ".join(f"{v:.17g}" for v in out))
        i += 3


main()
