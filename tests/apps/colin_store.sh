# Sourced by the training smoke tests. make_colin_store BIN DATA OUT: preprocesses the Colin27 AAL
# crop of DATA (tests/data) as a train and a val dataset and embeds both with the tiny reference
# model into the fp32 store OUT/store.
make_colin_store() {
  local bin=$1 data=$2 out=$3 split
  for split in train val; do
    echo "image,label,patient" >"$out/$split.csv"
    echo "$data/infer/ch2_crop.nii.gz,$data/infer/aal_crop.nii.gz,colin_$split" >>"$out/$split.csv"
    "$bin/samri-preprocess" --list "$out/$split.csv" --output "$out/slices_$split" \
      --peripheral-fraction 0 --single-patient-split "$split" -q
  done
  "$bin/samri-embed" --checkpoint "$data/sam_tiny/sam_tiny.pth" \
    --model "$data/sam_tiny/sam_tiny.json" --data "$out/slices_train" "$out/slices_val" \
    --output "$out/store" --store-dtype fp32 -q
}
