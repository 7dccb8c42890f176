#!/bin/sh
# setup.sh - installs the Debian 12 packages recpipe builds and tests with.
# Run as root (or through sudo). Does nothing when all are present.
# --bench adds what `make bench` compares against (PyTorch, GNU time).
set -e
pkgs="build-essential autoconf automake pkg-config libzstd-dev libarchive-dev
      libxxhash-dev libopenblas-dev libopenblas0-pthread check libsubunit-dev
      zstd xz-utils python3 python3-numpy python3-sklearn"
[ "${1:-}" = --bench ] && pkgs="$pkgs python3-torch time"
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: missing packages:$missing (run as root to install them)" >&2
	exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
