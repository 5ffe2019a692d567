#!/usr/bin/env bash
# Quick start 2: set up this machine and run the whole test suite (root: the netns tests run for real).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/pytest "$@"
