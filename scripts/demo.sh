#!/usr/bin/env bash
# Quick start 1: set up this machine and run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/kubelab demo "$@"
