#!/usr/bin/python3
"""Independent check of samri-preprocess with nibabel and NumPy (not the toolkit's code).

  paper_rules.py counts IMAGE LABELS [--fraction F] [--min-pixels N]
      prints the expected counts of the paper's rules as JSON: slicing axis = argmin(shape),
      drop the first and last floor(n * F) slices, one sample per label with >= N pixels on a
      slice, slices without a sample dropped. test_preprocess.cpp hard-codes what this printed
      for Colin27 + AAL (F = 0.1 and 0, N = 10 and 30).
  paper_rules.py check OUTPUT_DIR IMAGE LABELS [--max-slices K]
      reads manifest.jsonl and verifies K written slices spread over it: shape, spacing, image
      values equal to the reference formula on the source slice, label slice equal to the
      source, and every sample on them (pixels, box, area fraction, height, width).
"""
import argparse
import json
import os
import sys

import nibabel as nib
import numpy as np


def load(path):
    img = nib.load(path)
    return np.asanyarray(img.dataobj), img.header.get_zooms()


def take(vol, axis, k):
    # nibabel's vol[:, :, k] (or the other axes): rows along the first remaining voxel axis.
    return np.take(vol, k, axis=axis)


def counts(args):
    image, _ = load(args.image)
    labels, _ = load(args.labels)
    assert image.shape == labels.shape, (image.shape, labels.shape)
    axis = int(np.argmin(labels.shape))
    n = labels.shape[axis]
    margin = int(np.floor(n * args.fraction))
    samples = slices = dropped_labels = 0
    per_label = {}
    for k in range(margin, n - margin):
        sl = take(labels, axis, k).astype(np.int64)
        values, pixels = np.unique(sl[sl != 0], return_counts=True)
        kept = [(int(v), int(p)) for v, p in zip(values, pixels) if p >= args.min_pixels]
        dropped_labels += len(values) - len(kept)
        if kept:
            slices += 1
        for v, _ in kept:
            per_label[v] = per_label.get(v, 0) + 1
        samples += len(kept)
    print(json.dumps({"axis": axis, "n": n, "margin": margin, "slices": slices,
                      "samples": samples, "dropped_labels": dropped_labels,
                      "labels": len(per_label),
                      "label_1_samples": per_label.get(1, 0)}))


def reference_uint8(sl):
    v = sl.astype(np.float32)
    mn, mx = v.min(), v.max()
    return np.round((v - mn) / (mx - mn + 1e-8) * 255).astype(np.uint8)


def check(args):
    image, zooms = load(args.image)
    labels, _ = load(args.labels)
    with open(os.path.join(args.output, "manifest.jsonl")) as f:
        samples = [json.loads(line) for line in f]
    assert samples, "empty manifest"
    # K slices spread over the manifest; every sample on them is checked.
    slices = sorted({s["image"] for s in samples})
    step = max(1, len(slices) // max(1, args.max_slices))
    chosen = set(slices[::step][:args.max_slices])
    checked = checked_samples = 0
    for name in sorted(chosen):
        on_slice = [s for s in samples if s["image"] == name]
        s0 = on_slice[0]
        lab_file = nib.load(os.path.join(args.output, s0["labels"]))
        lab = np.asanyarray(lab_file.dataobj).astype(np.int64)
        want_lab = take(labels, s0["axis"], s0["slice"]).astype(np.int64)
        assert np.array_equal(lab, want_lab), "labels differ on " + s0["labels"]
        checked_samples += len(on_slice)
        for s in on_slice:
            mask = lab == s["label"]
            assert int(mask.sum()) == s["pixels"], s
            ys, xs = np.nonzero(mask)  # rows, columns
            assert [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())] == s["box"], s
            assert (s["height"], s["width"]) == lab.shape, s
            assert abs(s["area_fraction"] - s["pixels"] / lab.size) < 1e-12, s
        img_file = nib.load(os.path.join(args.output, name))
        img = np.asanyarray(img_file.dataobj)
        want = reference_uint8(take(image, s0["axis"], s0["slice"]))
        assert img.dtype == np.uint8, img.dtype
        assert img.shape == want.shape, (img.shape, want.shape)
        assert np.array_equal(img, want), "image values differ on " + name
        in_plane = [z for d, z in enumerate(zooms[:3]) if d != s0["axis"]]
        assert np.allclose(img_file.header.get_zooms()[:2], in_plane), img_file.header.get_zooms()
        assert np.allclose(lab_file.header.get_zooms()[:2], in_plane)
        checked += 1
    print(f"checked {checked} slices and their {checked_samples} samples "
          f"({len(samples)} in the manifest)")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("counts")
    c.add_argument("image")
    c.add_argument("labels")
    c.add_argument("--fraction", type=float, default=0.1)
    c.add_argument("--min-pixels", type=int, default=10)
    k = sub.add_parser("check")
    k.add_argument("output")
    k.add_argument("image")
    k.add_argument("labels")
    k.add_argument("--max-slices", type=int, default=8)
    args = p.parse_args()
    counts(args) if args.command == "counts" else check(args)


if __name__ == "__main__":
    sys.exit(main())
