#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install the packages, build, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
if [ -x scripts/demo.sh ]; then bash scripts/demo.sh; fi
