#!/usr/bin/env python3
"""samri-preprocess on DICOM series, NIfTI-2 and 4-D inputs, checked independently.

Builds small datasets from files that Debian's python3-pydicom and python3-nibabel ship (a CT
series folder; nibabel's NIfTI-2 and 4-D examples), with label maps written by nibabel on each
image's grid, runs the real binary, and checks every written image slice against the paper's
normalisation of the source voxels read by pydicom / nibabel, plus labels, boxes and spacing.
usage: check_preprocess_formats.py SAMRI_PREPROCESS_BINARY
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np
import pydicom

BIN = sys.argv[1]
PYDICOM = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
NIBABEL = os.path.join(os.path.dirname(nib.__file__), "tests", "data")


def paper_uint8(sl):
    sl = sl.astype(np.float32)
    scale = np.float32(float(sl.max()) - float(sl.min()) + 1e-8)
    return np.round((sl - sl.min()) / scale * np.float32(255)).astype(np.uint8)


def save_label(lab, affine, path):
    img = nib.Nifti1Image(lab, affine)
    img.set_qform(affine, 1)
    img.set_sform(affine, 1)
    nib.save(img, path)


def dicom_case(root):
    """A CT series folder and a label map on its grid (ITK geometry, LPS -> RAS)."""
    series = os.path.join(root, "images", "ct5n")
    shutil.copytree(os.path.join(PYDICOM, "dicomdirtests", "98892001", "CT5N"), series)
    ds = [pydicom.dcmread(f) for f in glob.glob(series + "/*")]
    iop = np.array(ds[0].ImageOrientationPatient, float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    ds.sort(key=lambda d: float(normal @ np.array(d.ImagePositionPatient, float)))
    pos = [np.array(d.ImagePositionPatient, float) for d in ds]
    ps = [float(x) for x in ds[0].PixelSpacing]
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1] = row * ps[1], col * ps[0]
    affine[:3, 2], affine[:3, 3] = normal * float(normal @ (pos[1] - pos[0])), pos[0]
    affine = np.diag([-1, -1, 1, 1]) @ affine
    shape = (ds[0].Columns, ds[0].Rows, len(ds))  # ITK index order: column, row, slice
    lab = np.zeros(shape, np.uint8)
    lab[4:12, 4:8, :] = 3
    save_label(lab, affine, os.path.join(root, "labels", "ct5n.nii.gz"))
    vol = np.stack([d.pixel_array.astype(np.float32) * float(getattr(d, "RescaleSlope", 1))
                    + float(getattr(d, "RescaleIntercept", 0)) for d in ds], axis=-1)
    return {"ct5n": (vol.transpose(1, 0, 2)[..., None], lab, [""], ps[::-1])}


def nibabel_cases(root):
    cases = {}
    for name in ("example_nifti2.nii.gz", "example4d.nii.gz"):
        img = nib.load(os.path.join(NIBABEL, name))
        shutil.copy(os.path.join(NIBABEL, name), os.path.join(root, "images", name))
        shape = img.shape[:3]
        lab = np.zeros(shape, np.uint8)
        lab[shape[0] // 4:shape[0] // 2, shape[1] // 4:3 * shape[1] // 4, :] = 1
        lab[shape[0] // 2:3 * shape[0] // 4, shape[1] // 4:3 * shape[1] // 4, :] = 2
        save_label(lab, img.affine, os.path.join(root, "labels", name))
        vol = np.asarray(img.dataobj).astype(np.float32)
        cases[name.split(".")[0]] = (vol, lab, ["_c0", "_c1"], img.header.get_zooms()[:2])
    return cases


def check(out, cases):
    rows = [json.loads(line) for line in open(os.path.join(out, "manifest.jsonl"))]
    for stem, (vol, lab, channels, spacing) in cases.items():
        for c, suffix in enumerate(channels):
            for k in range(vol.shape[2]):  # the smallest axis is 2 for every case here
                img = nib.load(os.path.join(out, "images", f"{stem}{suffix}_s{k:04d}.nii.gz"))
                got = np.asarray(img.dataobj)
                assert (got == paper_uint8(vol[:, :, k, c])).all(), f"{stem}{suffix} slice {k}"
                assert np.allclose(img.header.get_zooms()[:2], spacing, atol=1e-5), img.header.get_zooms()
                labels = np.asarray(nib.load(os.path.join(out, "labels", f"{stem}{suffix}_s{k:04d}.nii.gz")).dataobj)
                assert (labels == lab[:, :, k]).all(), f"labels of {stem}{suffix} slice {k}"
        for row in (r for r in rows if r["patient"] == stem):
            ys, xs = np.nonzero(lab[:, :, row["slice"]] == row["label"])
            assert row["box"] == [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())], row
            assert row["pixels"] == len(xs), row
    expected = sum(len(ch) * vol.shape[2] * len(np.unique(lab)[1:]) for vol, lab, ch, _ in cases.values())
    assert len(rows) == expected, f"{len(rows)} samples, expected {expected}"
    return len(rows)


with tempfile.TemporaryDirectory() as root:
    for sub in ("images", "labels"):
        os.makedirs(os.path.join(root, "ds", sub))
    cases = dicom_case(os.path.join(root, "ds"))
    cases.update(nibabel_cases(os.path.join(root, "ds")))
    out = os.path.join(root, "out")
    subprocess.run([BIN, "--input", os.path.join(root, "ds"), "--output", out,
                    "--peripheral-fraction", "0", "--min-pixels", "1", "-q"], check=True)
    print(f"ok: {check(out, cases)} samples from a DICOM series, NIfTI-2 and 4-D NIfTI verified")
