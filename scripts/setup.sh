#!/bin/sh
# setup.sh - installs the Debian 12 packages recpipe builds and tests with,
# and ONNX Runtime for Node.js (npm's onnxruntime-node, which ships its CPU
# library) that checks rec-export's ONNX graphs. Debian packages need root
# (or sudo); the npm package goes to $RECPIPE_NODE_PREFIX, by default
# ~/.cache/recpipe, where tests/cli/onnx.sh looks. Does nothing when all are
# present. --bench adds what `make bench` compares against (PyTorch, GNU time).
set -e
pkgs="build-essential autoconf automake pkg-config libzstd-dev libarchive-dev
      libxxhash-dev libopenblas-dev libopenblas0-pthread libxsmm-dev check libsubunit-dev
      protobuf-c-compiler libprotobuf-c-dev libonnx-dev
      zstd xz-utils python3 python3-numpy python3-sklearn"
[ "${1:-}" = --bench ] && pkgs="$pkgs python3-torch time"
# any Node.js 18 or later will do; Debian's when there is none
command -v node > /dev/null && command -v npm > /dev/null || pkgs="$pkgs nodejs npm"
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: missing packages:$missing (run as root to install them)" >&2
		exit 2
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
fi
ort_version=1.30.0
prefix=${RECPIPE_NODE_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/recpipe}
if ! grep -qs "\"version\": \"$ort_version\"" "$prefix/node_modules/onnxruntime-node/package.json"; then
	mkdir -p "$prefix"
	# --ignore-scripts: the install script would fetch GPU builds we don't use
	npm install --prefix "$prefix" --ignore-scripts --no-audit --no-fund --silent \
		"onnxruntime-node@$ort_version" >/dev/null
fi
