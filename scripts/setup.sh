#!/usr/bin/env bash
# Make this machine ready for kubelab: system tools (apt, only what is missing), a venv, the package.
# Idempotent; run as root from anywhere. Prints what it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "kubelab needs root (network namespaces, iptables): run this as root, e.g. sudo $0" >&2
  exit 1
fi

# command -> Debian package that provides it
declare -A TOOLS=(
  [ip]=iproute2 [bridge]=iproute2 [iptables]=iptables [iptables-restore]=iptables
  [xtables-monitor]=iptables [nft]=nftables [conntrack]=conntrack [tcpdump]=tcpdump
  [curl]=curl [ping]=iputils-ping [dot]=graphviz [openssl]=openssl
)
missing=()
for tool in "${!TOOLS[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${TOOLS[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "setup: installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import kubelab, pytest" >/dev/null 2>&1 || [ pyproject.toml -nt .venv/.installed ]; then
  echo "setup: installing kubelab into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  touch .venv/.installed
fi
