#!/bin/sh
# make-samples.sh REC-GEN OUTDIR - writes the sample files of data/samples.
# Deterministic: the same rec-gen writes the same bytes (tests/cli/samples.sh
# checks the committed files against a fresh run).
set -eu
gen=$1
out=$2
mkdir -p "$out"
"$gen" ctr --rows 40000 --seed 1 --truth "$out/ctr-train.truth" > "$out/ctr-train.tsv"
"$gen" ctr --rows 10000 --seed 2 --truth "$out/ctr-test.truth" > "$out/ctr-test.tsv"
"$gen" seq --users 500 --items 300 --seed 3 --truth "$out/seq.truth" > "$out/seq.tsv"
"$gen" criteo --rows 2000 --seed 4 --strip-trailing > "$out/criteo-small.tsv"
