"""Independent checks of an embedding store with h5py (Debian's python3-h5py), as a user reads it.

usage: check_store.py same STORE_A STORE_B      every slice's embedding bitwise equal in both
       check_store.py clean STORE               no temporary/orphan files; each slice once
       check_store.py bf16 STORE_BF16 STORE_FP32  bf16 bits (README's conversion) = fp32 rounded
       check_store.py count STORE MANIFEST      committed slices = distinct manifest images
"""
import glob
import json
import os
import sys

import h5py
import numpy as np


def rows(store):
    """slice id -> (shard file, row), from the shards themselves."""
    where = {}
    for path in sorted(glob.glob(os.path.join(store, "shards", "*.h5"))):
        with h5py.File(path, "r") as f:
            for row, sid in enumerate(f["slice_ids"][:]):
                assert int(sid) not in where, f"slice {sid} twice: {path} and {where[int(sid)][0]}"
                where[int(sid)] = (path, row)
    return where


def embedding(path, row):
    with h5py.File(path, "r") as f:
        x = f["embeddings"][row]
        assert f["embeddings"].chunks is None, f"{path}: embeddings are chunked"
        if f.attrs["dtype"] in (b"bf16", "bf16"):
            x = (x.astype("<u4") << 16).view("<f4")  # the README's conversion
        return x


def same(a, b):
    ra, rb = rows(a), rows(b)
    assert sorted(ra) == sorted(rb), f"slice sets differ: {len(ra)} vs {len(rb)}"
    for sid in ra:
        xa, xb = embedding(*ra[sid]), embedding(*rb[sid])
        assert xa.dtype == xb.dtype and np.array_equal(xa, xb), f"slice {sid} differs"
    print(f"same: {len(ra)} slices bitwise equal")


def clean(store):
    names = os.listdir(os.path.join(store, "shards"))
    left = [n for n in names if n.startswith(".") or n.endswith(".partial")]
    orphans = [n for n in names if n.endswith(".h5") and n[:-3] + ".json" not in names]
    assert not left and not orphans, f"left behind: {left + orphans}"
    with open(os.path.join(store, "store.json")) as f:
        planned = json.load(f)["slices"]
    where = rows(store)
    assert sorted(where) == list(range(planned)), f"{len(where)} of {planned} slices"
    print(f"clean: {planned} slices, each once, no leftovers")


def bf16(store_bf16, store_fp32):
    ra, rb = rows(store_bf16), rows(store_fp32)
    for sid in ra:
        got, ref = embedding(*ra[sid]), embedding(*rb[sid])
        assert got.dtype == np.float32
        # bf16 keeps 8 significant bits: relative error at most 2^-8 (round to nearest).
        err = np.abs(got - ref) <= np.abs(ref) * 2.0**-8 + 1e-30
        assert err.all(), f"slice {sid}: bf16 values differ from fp32 by more than rounding"
    print(f"bf16: {len(ra)} slices read back through the README's conversion")


def count(store, manifest):
    with open(manifest) as f:
        images = {json.loads(line)["image"] for line in f if line.strip()}
    n = len(rows(store))
    assert n == len(images), f"{n} slices in the store, {len(images)} distinct images"
    print(f"count: {n} slices = distinct manifest images")


if __name__ == "__main__":
    {"same": same, "clean": clean, "bf16": bf16, "count": count}[sys.argv[1]](*sys.argv[2:])
