#!/bin/sh
# make-samples.sh REC-GEN OUTDIR - writes the sample files of data/samples.
# Deterministic: the same seeds give the same bytes on any machine, and
# tests/cli/samples.sh checks the committed files against a fresh run.
# Run by `make samples`; see data/samples/README.md for what each file holds.
set -eu
if [ $# -ne 2 ]; then
	echo "usage: sh data/make-samples.sh PATH/TO/rec-gen OUTDIR" >&2
	exit 2
fi
gen=$1
out=$2
mkdir -p "$out"
"$gen" ctr --rows 40000 --seed 1 --truth "$out/ctr-train.truth" > "$out/ctr-train.tsv"
"$gen" ctr --rows 10000 --seed 2 --truth "$out/ctr-test.truth" > "$out/ctr-test.tsv"
"$gen" seq --users 500 --items 300 --seed 3 --truth "$out/seq.truth" > "$out/seq.tsv"
"$gen" criteo --rows 2000 --seed 4 --strip-trailing > "$out/criteo-small.tsv"
