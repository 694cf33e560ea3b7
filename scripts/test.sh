#!/usr/bin/env bash
# Builds SAMRI and runs the default test suite (tests labelled slow or gpu are skipped; run them
# with: ctest --test-dir build -L 'slow|gpu').
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir "${SAMRI_BUILD_DIR:-build}" --output-on-failure -LE 'slow|gpu' -j "$(nproc)"
