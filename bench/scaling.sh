#!/bin/sh
# scaling.sh TOOLDIR OUTDIR [SEQ.rec] - a scaling law of sasrec's test loss in
# model size, from one command (`make scaling`): trains a ladder of sizes
# with the full-softmax objective on item sequences, takes each model's
# non-embedding parameters N and test cross-entropy L (rec-eval), fits
# L(N) = E + A N^-alpha on all but the two largest and predicts those
# (rec-eval --scaling-law). Writes OUTDIR/points.tsv, law.txt, law.json,
# law.svg and scaling.md.
# Without SEQ.rec: MovieLens-1M's sequences from ../shared/data (the
# protocol of its README: train_input.txt as full histories, leave-one-out).
#   SCALING_LADDER  dim:blocks per size, smallest first
#                   (default "8:1 12:1 16:1 24:1 32:1 48:2 64:2 96:2")
#   SCALING_EPOCHS  epochs per size (default 12)
#   SCALING_ARGS    more rec-train options
#                   (default "--heads 1 --max-len 50 --dropout 0.2 --batch 128 --lr 0.005")
#   SCALING_HOLD_OUT sizes predicted rather than fitted (default 2)
set -eu
tools=$1
out=$2
seq=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
ladder=${SCALING_LADDER:-"8:1 12:1 16:1 24:1 32:1 48:2 64:2 96:2"}
epochs=${SCALING_EPOCHS:-12}
args=${SCALING_ARGS:-"--heads 1 --max-len 50 --dropout 0.2 --batch 128 --lr 0.005"}
hold=${SCALING_HOLD_OUT:-2}
PATH=$tools:$PATH
mkdir -p "$out"

if [ -z "$seq" ]; then
	src=${BENCH_REAL:-$here/../../shared/data}/movielens-1m/sequences/train_input.txt
	if [ ! -r "$src" ]; then
		echo "scaling.sh: no $src and no SEQ.rec given" >&2
		exit 1
	fi
	seq=$out/ml1m-seq.rec
	# one user a line, oldest item first -> 'user item position' lines
	awk '{ for (i = 1; i <= NF; i++) print NR "\t" $i "\t" i }' "$src" |
		rec-cross --columns user,item,pos --group-by user --order-by pos --categorical item |
		rec-hash > "$seq"
fi

printf 'non_embedding_params\ttest_cross_entropy\tdim\tblocks\tseconds\n' > "$out/points.tsv"
for size in $ladder; do
	dim=${size%:*}
	blocks=${size#*:}
	m=$out/sasrec-$dim-$blocks.recm
	t0=$(date +%s)
	# shellcheck disable=SC2086 # SCALING_ARGS is a list of options
	rec-train -q --model sasrec --loss softmax --dim "$dim" --blocks "$blocks" \
		--epochs "$epochs" --seed 1 $args -o "$m" "$seq"
	t1=$(date +%s)
	rec-eval -m "$m" --sampled 0 --json "$seq" > "$out/eval-$dim-$blocks.json"
	n=$(sed 's/.*"non_embedding_params": \([0-9]*\).*/\1/' "$out/eval-$dim-$blocks.json")
	l=$(sed 's/.*"cross_entropy": \([0-9.]*\).*/\1/' "$out/eval-$dim-$blocks.json")
	printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$l" "$dim" "$blocks" $((t1 - t0)) >> "$out/points.tsv"
	echo "scaling: dim $dim, $blocks blocks: N $n, test cross-entropy $l, $((t1 - t0)) s" >&2
done

rec-eval --scaling-law --hold-out "$hold" --plot "law:$out/law.svg" "$out/points.tsv" > "$out/law.txt"
rec-eval --scaling-law --hold-out "$hold" --json "$out/points.tsv" > "$out/law.json"
{
	echo "## Scaling law of sasrec's test loss (rec-eval --scaling-law)"
	echo
	echo "Ladder: $ladder (dim:blocks), $epochs epochs each, full softmax, \`$args\`."
	echo
	echo "| non-embedding N | dim | blocks | test cross-entropy | train s |"
	echo "|---:|---:|---:|---:|---:|"
	tail -n +2 "$out/points.tsv" | awk -F '\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $3, $4, $2, $5 }'
	echo
	echo '```'
	cat "$out/law.txt"
	echo '```'
} > "$out/scaling.md"
cat "$out/scaling.md"
