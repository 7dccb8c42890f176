#!/bin/sh
# demo.sh TOOLDIR - the quick-start pipeline on data/samples: raw CTR log to
# derived features, hashed IDs, and a look at what came out.
set -eu
tools=$1
samples=$(cd "$(dirname "$0")/samples" && pwd)
PATH=$tools:$PATH
out=${TMPDIR:-/tmp}/recpipe-demo.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

echo "== rec-cross | rec-hash: $samples/ctr-train.tsv -> train.rec"
rec-cross --header --label click --categorical user,item,gender,age,category \
	--numeric price --list 'tags:|' --cross item,gender,age --cross category,gender \
	--list-pairs tags "$samples/ctr-train.tsv" \
	| rec-hash --bits 24 -o "$out/train.rec"
echo
echo "== rec-cat -n 2 train.rec"
rec-cat -n 2 "$out/train.rec"
echo
echo "== rec-cat --stats train.rec"
rec-cat --stats "$out/train.rec"
echo
echo "== rec-train --model fm, then rec-eval on the test rows (Bayes-optimal AUC:" \
	"$(sed -n 's/^bayes_auc = //p' "$samples/ctr-test.truth"))"
cols="--header --label click --categorical user,item,gender,age,category --numeric price --list tags:|"
rec-hash $cols "$samples/ctr-train.tsv" > "$out/tr.rec"
rec-hash $cols "$samples/ctr-test.tsv" > "$out/te.rec"
rec-train --model fm --epochs 2 -o "$out/fm.recm" "$out/tr.rec"
rec-eval -m "$out/fm.recm" "$out/te.rec"
echo
echo "== sequences: sort | rec-cross --group-by user --order-by time"
sort -t "$(printf '\t')" -k1,1 -s "$samples/seq.tsv" \
	| rec-cross --columns user,item,rating,time --group-by user --order-by time \
		--categorical item \
	| rec-cat --stats
