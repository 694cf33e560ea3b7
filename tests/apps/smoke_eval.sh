#!/usr/bin/env bash
# samri-eval's mask mode as a user runs it, on the Colin27 AAL crop: an identical and a shifted
# prediction side by side; Python (nibabel + SciPy) recomputes rows of cases.csv independently;
# the report, tables and figures exist; bad input exits non-zero and writes nothing.
set -euo pipefail
BIN=$1
DATA=$2
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
PY=/usr/bin/python3

help=$("$BIN/samri-eval" --help)
grep -q -- "--per-volume" <<< "$help"
grep -q -- "Examples" <<< "$help"
"$BIN/samri-eval" --version | grep -q "samri"

mkdir -p "$OUT/gt" "$OUT/same" "$OUT/shifted"
cp "$DATA/infer/aal_crop.nii.gz" "$OUT/gt/colin.nii.gz"
cp "$DATA/infer/aal_crop.nii.gz" "$OUT/same/colin.nii.gz"
$PY - "$OUT" <<'PYEOF'
import sys
import nibabel as nib
import numpy as np
out = sys.argv[1]
im = nib.load(f"{out}/gt/colin.nii.gz")
a = np.asarray(im.dataobj)
nib.save(nib.Nifti1Image(np.roll(a, 2, axis=1).astype(a.dtype), im.affine, im.header),
         f"{out}/shifted/colin.nii.gz")
PYEOF

figures=()
if $PY -c "import matplotlib" 2>/dev/null; then figures=(--figures); fi
"$BIN/samri-eval" --pred same="$OUT/same" --pred shifted="$OUT/shifted" --gt "$OUT/gt" \
  --output "$OUT/report" --baseline shifted --hd95 --threads 2 "${figures[@]}" -q
head -1 "$OUT/report/cases.csv" | grep -q \
  "^dataset,patient,image,slice,label,label_name,pixels,area_fraction,size_bin,prompt,model,dice,hd,msd,"
for f in summary.json tables/tables.md tables/table1_targets.tex tables/table2_gain.md; do
  test -s "$OUT/report/$f"
done
if [ ${#figures[@]} -gt 0 ]; then test -s "$OUT/report/figures/dice_by_size.png"; fi

# Independent check: slice along the axis with the fewest voxels (first on ties), labels per
# slice, Dice and SAMRI's HD/MSD from SciPy, against the rows samri-eval wrote.
$PY - "$OUT" <<'PYEOF'
import csv, json, sys
import nibabel as nib
import numpy as np
from scipy import ndimage
out = sys.argv[1]
ref = np.asarray(nib.load(f"{out}/gt/colin.nii.gz").dataobj)
pred = np.asarray(nib.load(f"{out}/shifted/colin.nii.gz").dataobj)
axis = int(np.argmin(ref.shape))
cross = ndimage.generate_binary_structure(2, 1)
def surface(m):
    return m & ~ndimage.binary_erosion(m, cross, border_value=0)
rows = list(csv.DictReader(open(f"{out}/report/cases.csv")))
expected = 0
for k in range(ref.shape[axis]):
    r, p = np.take(ref, k, axis=axis), np.take(pred, k, axis=axis)
    expected += len((set(np.unique(r)) | set(np.unique(p))) - {0})
assert sum(row["model"] == "shifted" for row in rows) == expected, expected
checked = 0
for row in rows:
    if row["model"] != "shifted" or row["empty"]:
        continue
    k, label = int(row["slice"]), int(row["label"])
    r = np.take(ref, k, axis=axis) == label
    p = np.take(pred, k, axis=axis) == label
    dice = 2 * (r & p).sum() / (r.sum() + p.sum())
    d1 = ndimage.distance_transform_edt(~surface(r))[surface(p)]
    d2 = ndimage.distance_transform_edt(~surface(p))[surface(r)]
    pooled = np.concatenate([d1, d2])
    assert abs(dice - float(row["dice"])) < 1e-12, (row, dice)
    assert abs(pooled.max() - float(row["hd"])) < 1e-6, (row, pooled.max())
    assert abs(pooled.mean() - float(row["msd"])) < 1e-6, (row, pooled.mean())
    assert int(row["pixels"]) == r.sum()
    checked += 1
assert checked > 100, checked
summary = json.load(open(f"{out}/report/summary.json"))
same = [g for g in summary["groups"] if g["method"] == "same" and g["by"] == "all"][0]
assert same["metrics"]["dice"]["mean"] == 1.0, same
assert any(c["method"] == "same" and c["baseline"] == "shifted" for c in summary["comparisons"])
print(f"smoke_eval: {checked} rows agree with nibabel + SciPy")
PYEOF

# Bad input: a prediction missing, a malformed --pred; nothing written.
rm "$OUT/shifted/colin.nii.gz"
cp "$DATA/infer/aal_crop.nii.gz" "$OUT/shifted/other.nii.gz"
if "$BIN/samri-eval" --pred "$OUT/shifted" --gt "$OUT/gt" --output "$OUT/bad" -q 2>"$OUT/err"; then
  echo "a missing prediction was accepted"; exit 1
fi
grep -q "missing on one side" "$OUT/err"
grep -q "other.nii.gz" "$OUT/err"
test ! -e "$OUT/bad"
if "$BIN/samri-eval" --pred "=$OUT/same" --gt "$OUT/gt" --output "$OUT/bad" -q 2>/dev/null; then
  echo "--pred without a name was accepted"; exit 1
fi
# Model mode: the tiny reference model on the crop's slices, preprocessed and embedded by the
# project's tools; two names for one checkpoint must score alike.
echo "image,label,patient" > "$OUT/colin.csv"
echo "$DATA/infer/ch2_crop.nii.gz,$DATA/infer/aal_crop.nii.gz,colin" >> "$OUT/colin.csv"
"$BIN/samri-preprocess" --list "$OUT/colin.csv" --output "$OUT/slices" --peripheral-fraction 0 \
  --single-patient-split test -q
"$BIN/samri-embed" --checkpoint "$DATA/sam_tiny/sam_tiny.pth" --model "$DATA/sam_tiny/sam_tiny.json" \
  --data "$OUT/slices" --output "$OUT/store" --store-dtype fp32 -q
"$BIN/samri-eval" --model a="$DATA/sam_tiny/sam_tiny.pth" --model b="$DATA/sam_tiny/sam_tiny.pth" \
  --test "$OUT/store" --prompt both --output "$OUT/models" --threads 2 -q
$PY - "$OUT/models" <<'PYEOF'
import csv, json, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/cases.csv")))
a = {(r["image"], r["label"], r["prompt"]): r for r in rows if r["model"] == "a"}
b = {(r["image"], r["label"], r["prompt"]): r for r in rows if r["model"] == "b"}
assert a.keys() == b.keys() and len(a) > 50, len(a)
for k in a:
    assert a[k]["dice"] == b[k]["dice"] and a[k]["point_x"] == b[k]["point_x"], k
assert {r["prompt"] for r in rows} == {"box", "box_point"}
summary = json.load(open(f"{sys.argv[1]}/summary.json"))
assert len(summary["provenance"]["models"][0]["sha256"]) == 64
print(f"smoke_eval: model mode scored {len(rows)} cases")
PYEOF
if "$BIN/samri-eval" --model "$DATA/sam_tiny/sam_tiny.pth" --test "$OUT/store" --output "$OUT/bad" \
  -q 2>"$OUT/err"; then
  echo "--model without NAME= was accepted"; exit 1
fi
grep -q "NAME=PATH" "$OUT/err"
echo "smoke_eval: ok"
