#!/usr/bin/env bash
# Runs samri-preprocess as a user would on Colin27 + AAL (mricron-data): help, a full run checked
# by an independent nibabel reader, an idempotent rerun, and refused bad input (exit codes,
# messages naming the file).
set -euo pipefail
BIN=$1
DATA=$2
TEMPLATES=/usr/share/mricron/templates
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

"$BIN/samri-preprocess" --help >"$OUT/help.txt"  # not piped into grep -q: see smoke.sh
grep -q -- "--peripheral-fraction" "$OUT/help.txt"
"$BIN/samri-preprocess" --version | grep -q "samri"

if [ -f "$TEMPLATES/aal.nii.gz" ]; then
  printf 'patient,image,label\ncolin27,%s/ch2.nii.gz,%s/aal.nii.gz\n' "$TEMPLATES" "$TEMPLATES" \
    >"$OUT/colin.csv"
  "$BIN/samri-preprocess" --list "$OUT/colin.csv" --label-names "$TEMPLATES/aal.nii.txt" \
    --output "$OUT/colin" --threads 2 2>"$OUT/log.txt"
  grep -q "single patient" "$OUT/log.txt" || { cat "$OUT/log.txt"; exit 1; }
  # paper_rules.py counts: 3634 samples on 145 slices
  [ "$(wc -l <"$OUT/colin/manifest.jsonl")" -eq 3634 ] || { echo "wrong sample count"; exit 1; }
  [ "$(ls "$OUT/colin/images" | wc -l)" -eq 145 ] || { echo "wrong slice count"; exit 1; }
  if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import nibabel" 2>/dev/null; then
    /usr/bin/python3 "$DATA/preprocess/paper_rules.py" check "$OUT/colin" \
      "$TEMPLATES/ch2.nii.gz" "$TEMPLATES/aal.nii.gz" --max-slices 10
  else
    skipped="the nibabel check of the slices (no /usr/bin/python3 with nibabel)"
  fi
  cp "$OUT/colin/manifest.jsonl" "$OUT/manifest1.jsonl"
  "$BIN/samri-preprocess" --list "$OUT/colin.csv" --label-names "$TEMPLATES/aal.nii.txt" \
    --output "$OUT/colin" -q
  cmp "$OUT/colin/manifest.jsonl" "$OUT/manifest1.jsonl"
  # The public code's preset: 3419 samples.
  "$BIN/samri-preprocess" --list "$OUT/colin.csv" --output "$OUT/code" -q \
    --config "$(dirname "$0")/../../configs/preprocess_public_code.json"
  [ "$(wc -l <"$OUT/code/manifest.jsonl")" -eq 3419 ] || { echo "wrong preset count"; exit 1; }
  # Command-line options override the config: no exclusion (preset) but 10 pixels: 3635.
  "$BIN/samri-preprocess" --list "$OUT/colin.csv" --output "$OUT/code10" -q --min-pixels 10 \
    --config "$(dirname "$0")/../../configs/preprocess_public_code.json"
  [ "$(wc -l <"$OUT/code10/manifest.jsonl")" -eq 3635 ] || { echo "wrong override count"; exit 1; }

  # A label map of another size: exit 1, the file named, no manifest.
  mkdir -p "$OUT/bad/images" "$OUT/bad/labels"
  cp "$TEMPLATES/ch2.nii.gz" "$OUT/bad/images/x.nii.gz"
  cp "$DATA/infer/ch2_crop.nii.gz" "$OUT/bad/labels/x.nii.gz"
  set +e
  "$BIN/samri-preprocess" --input "$OUT/bad" --output "$OUT/bad_out" 2>"$OUT/err.txt"
  status=$?
  set -e
  [ "$status" -eq 1 ] || { echo "expected exit 1, got $status"; exit 1; }
  grep -q "labels/x.nii.gz" "$OUT/err.txt" || { cat "$OUT/err.txt"; exit 1; }
  [ ! -e "$OUT/bad_out/manifest.jsonl" ] || { echo "a refused run left a manifest"; exit 1; }
else
  skipped="every Colin27 run ($TEMPLATES/aal.nii.gz missing: install mricron-data)"
fi

set +e
"$BIN/samri-preprocess" --input /nonexistent --output "$OUT/x" 2>"$OUT/err.txt"
status=$?
"$BIN/samri-preprocess" --no-such-option 2>/dev/null
status2=$?
set -e
[ "$status" -eq 1 ] || { echo "expected exit 1, got $status"; exit 1; }
grep -q "/nonexistent" "$OUT/err.txt" || { cat "$OUT/err.txt"; exit 1; }
[ "$status2" -eq 2 ] || { echo "expected exit 2 for a bad option, got $status2"; exit 1; }
echo "samri-preprocess smoke test passed${skipped:+; SKIPPED: $skipped}"
