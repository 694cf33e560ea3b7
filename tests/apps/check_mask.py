#!/usr/bin/env python3
"""Independent check of a samri-infer output with nibabel: same grid as the input, 0/1 values,
and equal to the reference implementation's mask (a .npy made from the golden fixtures)."""
import sys

import nibabel as nib
import numpy as np

mask_path, input_path, golden_path = sys.argv[1:4]
mask, ref = nib.load(mask_path), nib.load(input_path)
data = np.asarray(mask.dataobj)
assert data.shape == ref.shape, f"shape {data.shape} != input {ref.shape}"
assert np.allclose(mask.affine, ref.affine, atol=1e-5), f"affine\n{mask.affine}\n!= input\n{ref.affine}"
assert set(np.unique(data)) <= {0, 1}, f"values {np.unique(data)}"
golden = np.load(golden_path)
diff = int((data != golden).sum())
assert diff == 0, f"{diff} pixels differ from the reference mask"
print(f"ok: {mask_path} matches the reference ({int(golden.sum())} mask pixels)")
