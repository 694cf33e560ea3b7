"""Regenerates the small test files in this folder (run with Debian's /usr/bin/python3, which has
nibabel and numpy). The C++ tests compare what samri reads against values stated here.

nifti2/<case>_n1.nii.gz and <case>_n2.nii.gz: the same header (sform, qform, codes, pixdim,
units, slope) written as NIfTI-1 and NIfTI-2 by nibabel; the NIfTI-2 reader must give exactly the
geometry ITK gives for the NIfTI-1 twin. Voxels are arange(n) as int16 (before any slope).

example_nifti2_as_nifti1.nii.gz: nibabel's example_nifti2.nii.gz header as NIfTI-1 with zeroed
voxels (so the file stays tiny); geometry reference for the real NIfTI-2 example.
"""
import gzip
import os
import struct

import nibabel as nib
import numpy as np


HERE = os.path.dirname(os.path.abspath(__file__))


def rotation(axis, degrees):
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    r = np.eye(3)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    r[i, i] = c
    r[j, j] = c
    r[i, j] = -s
    r[j, i] = s
    return r


def affine(rot, zooms, offset):
    a = np.eye(4)
    a[:3, :3] = rot @ np.diag(zooms)
    a[:3, 3] = offset
    return a


ZOOMS = (0.5, 0.75, 2.0)
A = affine(rotation(2, 30) @ rotation(0, 10), ZOOMS, (10, -20, 30))
B = affine(rotation(1, 20), ZOOMS, (1, 2, 3))
SHEAR = A.copy()
SHEAR[0, 1] += 0.3
FLIP = A.copy()
FLIP[:3, 2] *= -1


# name: shape, (sform, code), (qform, code), zooms, units, (slope, inter)
CASES = {
    "both_same": ((4, 3, 2), (A, 1), (A, 1), ZOOMS, None, None),
    "sform_only": ((4, 3, 2), (A, 2), (None, 0), ZOOMS, None, None),
    "qform_only": ((4, 3, 2), (None, 0), (A, 1), ZOOMS, None, None),
    "no_transform": ((4, 3, 2), (None, 0), (None, 0), ZOOMS, None, None),
    "differ_scanner": ((4, 3, 2), (A, 1), (B, 1), ZOOMS, None, None),
    "differ_aligned": ((4, 3, 2), (A, 2), (B, 1), ZOOMS, None, None),
    "shear": ((4, 3, 2), (SHEAR, 1), (A, 1), ZOOMS, None, None),
    "flip": ((4, 3, 2), (FLIP, 1), (FLIP, 1), ZOOMS, None, None),
    "meters": ((4, 3, 2), (A, 1), (A, 1), ZOOMS, ("meter", "sec"), None),
    "two_d": ((4, 3), (A, 1), (A, 1), ZOOMS, None, None),
    "four_d": ((4, 3, 2, 3), (A, 1), (A, 1), ZOOMS + (1.5,), ("mm", "msec"), None),
    "four_d_one": ((4, 3, 2, 1), (A, 1), (A, 1), ZOOMS + (1.0,), None, None),
    "slope": ((4, 3, 2), (A, 1), (A, 1), ZOOMS, None, (0.5, 3.0)),
}


# Byte offsets of scl_slope and scl_inter: float32 at 112/116 (NIfTI-1), float64 at 176/184
# (NIfTI-2). nibabel recomputes scaling on save, so the slope case is patched afterwards.
SLOPE_FIELDS = {nib.Nifti1Image: ("<f", 112, 116), nib.Nifti2Image: ("<d", 176, 184)}


def write_case(name, shape, sform, qform, zooms, units, slope):
    data = np.arange(int(np.prod(shape)), dtype=np.int16).reshape(shape, order="F")
    for cls, suffix in ((nib.Nifti1Image, "n1"), (nib.Nifti2Image, "n2")):
        img = cls(data, None)
        header = img.header
        header.set_sform(sform[0] if sform[0] is not None else np.eye(4), sform[1])
        header.set_qform(qform[0] if qform[0] is not None else np.eye(4), qform[1])
        header.set_zooms(zooms[: len(shape)])
        if units:
            header.set_xyzt_units(*units)
        out = cls(data, None, header)
        out.header.set_slope_inter(1.0, 0.0)
        path = os.path.join(HERE, "nifti2", f"{name}_{suffix}.nii")
        nib.save(out, path)
        if slope:
            fmt, at_slope, at_inter = SLOPE_FIELDS[cls]
            raw = bytearray(open(path, "rb").read())
            struct.pack_into(fmt, raw, at_slope, slope[0])
            struct.pack_into(fmt, raw, at_inter, slope[1])
            open(path, "wb").write(bytes(raw))
        gz = path + ".gz"

        with open(path, "rb") as src, gzip.GzipFile(gz, "wb", mtime=0) as dst:
            dst.write(src.read())
        os.remove(path)


def write_big_endian():
    """big_endian_n1/n2: headers and voxels in big-endian byte order, voxels 0..23 in file order."""
    data = np.arange(24, dtype=np.int16).reshape((4, 3, 2), order="F")
    for cls, suffix in ((nib.Nifti1Image, "n1"), (nib.Nifti2Image, "n2")):
        header = cls.header_class(endianness=">")
        img = cls(data, np.diag([0.5, 0.75, 2.0, 1.0]), header)
        img.header.set_slope_inter(1.0, 0.0)
        path = os.path.join(HERE, "nifti2", f"big_endian_{suffix}.nii")
        nib.save(img, path)
        with open(path, "rb") as src, gzip.GzipFile(path + ".gz", "wb", mtime=0) as dst:
            dst.write(src.read())
        os.remove(path)


def main():
    os.makedirs(os.path.join(HERE, "nifti2"), exist_ok=True)
    for name, args in CASES.items():
        write_case(name, *args)
    write_big_endian()
    example = nib.load(
        "/usr/lib/python3/dist-packages/nibabel/tests/data/example_nifti2.nii.gz")
    zeros = np.zeros(example.shape, dtype=example.get_data_dtype())
    header = nib.Nifti1Header()
    for key in ("pixdim", "qform_code", "sform_code", "quatern_b", "quatern_c", "quatern_d",
                "qoffset_x", "qoffset_y", "qoffset_z", "srow_x", "srow_y", "srow_z",
                "xyzt_units"):
        header[key] = example.header[key]
    copy = nib.Nifti1Image(zeros, None, header)
    copy.header.set_data_shape(example.shape)
    nib.save(copy, os.path.join(HERE, "example_nifti2_as_nifti1.nii.gz"))


if __name__ == "__main__":
    main()
