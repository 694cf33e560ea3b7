#!/usr/bin/env bash
# Runs the real binaries as a user would: help, version, a 2-D segmentation checked by nibabel
# against the reference mask, a box propagated through a volume, and a refused bad input (non-zero exit, message, no output file).
set -euo pipefail
BIN=$1
DATA=$2
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
TINY=(--checkpoint "$DATA/sam_tiny/sam_tiny.pth" --model "$DATA/sam_tiny/sam_tiny.json")

# (to a file first: grep -q stops reading early, and pipefail would fail the writer on SIGPIPE)
"$BIN/samri-infer" --help >"$OUT/help.txt"
grep -q -- "--propagate" "$OUT/help.txt"
"$BIN/samri-infer" --version | grep -q "samri"
"$BIN/samri-checkpoint" info "$DATA/sam_tiny/sam_tiny.pth" | grep -q "keys: *188"

"$BIN/samri-infer" "${TINY[@]}" --input "$DATA/infer/ch2_slice90_crop.nii.gz" \
  --box 40,30,120,100 --output "$OUT/mask.nii.gz" --threads 2
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import nibabel" 2>/dev/null; then
  /usr/bin/python3 "$HERE/check_mask.py" "$OUT/mask.nii.gz" \
    "$DATA/infer/ch2_slice90_crop.nii.gz" "$DATA/infer/golden_box_mask.npy"
else
  skipped="the nibabel check of the mask (no /usr/bin/python3 with nibabel)"
fi

# 3-D from one box: the seed slice is the golden mask; the report names every segmented slice.
"$BIN/samri-infer" "${TINY[@]}" --input "$DATA/infer/ch2_crop.nii.gz" --propagate \
  --box 40,30,120,100 --slice 2 --label 5 --stop-iou -1e9 --output "$OUT/seg.nii.gz" --threads 2 \
  2>"$OUT/propagate.log"
grep -q "label 5: from seed 2 going up: stopped at slice" "$OUT/propagate.log" ||
  { cat "$OUT/propagate.log"; exit 1; }
if [ -z "${skipped:-}" ]; then
  /usr/bin/python3 - "$OUT/seg.nii.gz" "$OUT/seg.json" "$DATA/infer/golden_box_mask.npy" <<'PY'
import json, sys
import nibabel, numpy as np
seg = np.asarray(nibabel.load(sys.argv[1]).dataobj)
report = json.load(open(sys.argv[2]))
golden = np.load(sys.argv[3])
assert np.array_equal(seg[:, :, 2] == 5, golden), "seed slice differs from the reference mask"
slices = {s["slice"]: s for s in report["objects"][0]["slices"]}
for k in range(seg.shape[2]):
    area = int((seg[:, :, k] == 5).sum())
    assert (k in slices) == (area > 0) and (area == 0 or slices[k]["area"] == area), k
PY
fi

set +e
"$BIN/samri-infer" "${TINY[@]}" --input "$DATA/infer/ch2_slice90_crop.nii.gz" \
  --box 40,30,500,100 --output "$OUT/bad.nii.gz" 2>"$OUT/err.txt"
status=$?
set -e
[ "$status" -eq 1 ] || { echo "expected exit 1, got $status"; exit 1; }
grep -q "leaves the image" "$OUT/err.txt" || { cat "$OUT/err.txt"; exit 1; }
[ ! -e "$OUT/bad.nii.gz" ] || { echo "a refused run left an output"; exit 1; }

set +e
"$BIN/samri-infer" --no-such-option 2>/dev/null
status=$?
set -e
[ "$status" -eq 2 ] || { echo "expected exit 2 for a bad option, got $status"; exit 1; }
echo "smoke test passed${skipped:+; SKIPPED: $skipped}"
