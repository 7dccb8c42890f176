#!/bin/sh
# rank.sh TOOLDIR OUTDIR - recommendation lists on MovieLens: rec-train's
# lightfm (WARP and BPR) against the popularity baseline (rec-eval
# --popularity) and a PyTorch BPR-MF reference (bench/torch_bpr.py: same
# dim and epochs, uniform negatives, Adam, batch 1024), all under one
# protocol: a rating of 4 or more is a positive, the last 20% of the
# ratings by time are the test period, each test user's list leaves out
# what it had in training. Then the time rec-rank takes to rank every
# item for every user of the MovieLens-1M file, with lightfm and with a
# sasrec model over the users' sequences. One thread each. Writes
# OUTDIR/rank.md and works in OUTDIR/rank/.
# The epochs of every model are lightfm WARP's best on validation: trained
# on the first seven eighths of the training period (up to
# BENCH_RANK_MAX_EPOCHS, early stopping after BENCH_RANK_PATIENCE epochs
# without a better NDCG@10 of the last eighth), then all models train that
# many epochs on the whole training period.
#   BENCH_DIM             width of every model (32)
#   BENCH_RANK_EPOCHS     fixed epochs instead of the validation's choice
#   BENCH_RANK_MAX_EPOCHS, BENCH_RANK_PATIENCE  the choice's bounds (60, 20)
#   BENCH_REAL      the shared data folder (default: ../shared/data beside the source tree)
#   BENCH_PYTHON    a Python with numpy and torch (/usr/bin/python3)
#   BENCH_TORCH_BLAS, BENCH_BIN  PyTorch's BLAS (bench/blas-env.sh), where bench/peak is
set -eu
tools=$1
top=$2
here=$(cd "$(dirname "$0")" && pwd)
PATH=$tools:$PATH
dim=${BENCH_DIM:-32}
fixed_epochs=${BENCH_RANK_EPOCHS:-}
max_epochs=${BENCH_RANK_MAX_EPOCHS:-60}
patience=${BENCH_RANK_PATIENCE:-20}
real=${BENCH_REAL:-$here/../../shared/data}
py=${BENCH_PYTHON:-/usr/bin/python3}
out=$top/rank
md=$top/rank.md
mkdir -p "$out"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
have_torch=1
"$py" -c 'import torch, numpy' 2>/dev/null || have_torch=0
peakbin=${BENCH_BIN:-$tools/../bench}/peak
# shellcheck source=bench/blas-env.sh
. "$here/blas-env.sh"

json() { sed -n "s/.*\"$1\": \(-\{0,1\}[0-9.e+-]*\).*/\1/p" "$2" | head -n 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# split NAME SEP SORTKEY FILE...: the temporal split into NAME/train.rec,
# test.rec, and of the training period into fit.rec and valid.rec (its
# last eighth)
split() {
	d=$out/$1 sep=$2 key=$3
	shift 3
	mkdir -p "$d"
	[ -s "$d/valid.rec" ] && return 0
	zcat -f "$@" | sort -t "$(printf '%s' "$sep" | cut -c 1)" -k"$key","$key"n -s > "$d/sorted"
	n=$(wc -l < "$d/sorted")
	head -n $((n - n / 5)) "$d/sorted" > "$d/train.txt"
	tail -n $((n / 5)) "$d/sorted" > "$d/test.txt"
	n=$(wc -l < "$d/train.txt")
	head -n $((n - n / 8)) "$d/train.txt" > "$d/fit.txt"
	tail -n $((n / 8)) "$d/train.txt" > "$d/valid.txt"
	set -- -F "$sep" --columns user,item,rating,time --label 'rating>=4' --categorical user,item
	for part in train test fit valid; do
		rec-hash "$@" "$d/$part.txt" > "$d/$part.rec"
	done
	rec-cat "$d/train.rec" > "$d/train.cat"
	rec-cat "$d/test.rec" > "$d/test.cat"
	rm -f "$d/sorted" "$d"/*.txt
}

# pick_epochs NAME: sets epochs, WARP's best on NAME's validation split
# (or BENCH_RANK_EPOCHS)
pick_epochs() {
	if [ -n "$fixed_epochs" ]; then
		epochs=$fixed_epochs
		return 0
	fi
	rec-train -q --model lightfm --loss warp --dim "$dim" --epochs "$max_epochs" --patience "$patience" \
		--seed 1 --valid "$out/$1/valid.rec" -o "$out/$1/pick.recm" "$out/$1/fit.rec"
	epochs=$(tar -xOf "$out/$1/pick.recm" MANIFEST | sed -n 's/^train.best_epoch = //p')
	chosen="$chosen $1 $epochs (validation NDCG@10 $(tar -xOf "$out/$1/pick.recm" MANIFEST |
		sed -n 's/^train.valid_ndcg10 = //p'));"
}

# timed_rank MODEL STREAM TSV: rec-rank's top 10 of every user into TSV;
# sets rank_s (seconds), users (listed) and items (the model's catalogue)
timed_rank() {
	t0=$(now)
	rec-rank -q -m "$1" -k 10 "$2" > "$3"
	t1=$(now)
	rank_s=$(secs "$t0" "$t1")
	users=$(cut -f 1 "$3" | uniq | wc -l)
	items=$(tar -xOf "$1" MANIFEST | sed -n 's/^tensor.items.ids = u64 //p')
}

# row NAME LABEL SECONDS JSON: one table row
row() {
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$(f4 "$(json 'precision@10' "$4")")" \
		"$(f4 "$(json 'recall@10' "$4")")" "$(f4 "$(json 'ndcg@10' "$4")")" "$3" >> "$md"
}
f4() { case $1 in "") echo n/a ;; *) printf '%.4f' "$1" ;; esac; }

run() {
	d=$out/$1
	pick_epochs "$1"
	for loss in warp bpr; do
		t0=$(now)
		rec-train -q --model lightfm --loss $loss --dim "$dim" --epochs "$epochs" --seed 1 \
			-o "$d/$loss.recm" "$d/train.rec"
		t1=$(now)
		echo "$(secs "$t0" "$t1")" > "$d/$loss.secs"
		rec-eval -m "$d/$loss.recm" --top-k 10 --seen "$d/train.rec" --json "$d/test.rec" \
			> "$d/$loss.json" 2> /dev/null
	done
	rec-eval -m "$d/warp.recm" --top-k 10 --seen "$d/train.rec" --popularity --json "$d/test.rec" \
		> "$d/pop.json" 2> /dev/null
	row "$1" "popularity" "-" "$d/pop.json"
	row "$1" "recpipe lightfm, WARP" "$(cat "$d/warp.secs")" "$d/warp.json"
	row "$1" "recpipe lightfm, BPR" "$(cat "$d/bpr.secs")" "$d/bpr.json"
	if [ $have_torch = 1 ]; then
		# shellcheck disable=SC2086
		env $torch_env "$py" "$here/torch_bpr.py" "$d/train.cat" "$d/test.cat" "$dim" "$epochs" 1 > "$d/torch.json"
		row "$1" "PyTorch BPR-MF" "$(json train_s "$d/torch.json")" "$d/torch.json"
	else
		row "$1" "PyTorch BPR-MF" "n/a" /dev/null
	fi
}

chosen=""
{
	echo "| data | model | precision@10 | recall@10 | NDCG@10 | training s |"
	echo "|---|---|---:|---:|---:|---:|"
} > "$md"
if [ -r "$real/movielens-100k/u.data" ]; then
	split ml100k '	' 4 "$real/movielens-100k/u.data"
	run ml100k
fi
ml1m=$real/movielens-1m/ratings.dat.users1-2999.gz
if [ -r "$ml1m" ]; then
	split ml1m '::' 7 "$ml1m"
	run ml1m
	# every user of the file against every item: the lists of rec-rank
	cat "$out/ml1m/train.rec" "$out/ml1m/test.rec" > "$out/ml1m/all.rec"
	timed_rank "$out/ml1m/warp.recm" "$out/ml1m/all.rec" "$out/ml1m/top10.tsv"
	printf '\nrec-rank, top 10 of all %s items for each of %s users (dim %s, reading the streams included): %s s\n' \
		"$items" "$users" "$dim" "$rank_s" >> "$md"
fi
# sasrec: every user of the MovieLens-1M sequences (bench/seq.sh's stream)
# after its whole history, top 10 of all items; the model is bench/seq.sh's
# setting trained one epoch, as the time does not depend on the training
seqs=$real/movielens-1m/sequences/train_input.txt
if [ -r "$seqs" ]; then
	d=$out/seq
	mkdir -p "$d"
	awk -v OFS='\t' '{ for (i = 1; i <= NF; i++) print NR, $i, i }' "$seqs" \
		| rec-cross --columns user,item,time --group-by user --order-by time --categorical item \
		| rec-hash > "$d/ml1m.rec"
	rec-train -q --model sasrec --dim 50 --blocks 2 --heads 1 --max-len 200 --epochs 1 --seed 1 \
		-o "$d/sasrec.recm" "$d/ml1m.rec"
	timed_rank "$d/sasrec.recm" "$d/ml1m.rec" "$d/top10.tsv"
	printf '\nrec-rank, sasrec (dim 50, 2 blocks, max length 200): top 10 of all %s items for each of %s users after its whole history (reading the stream included): %s s\n' \
		"$items" "$users" "$rank_s" >> "$md"
	rm -f "$d/ml1m.rec"   # derived from MovieLens: not kept
fi
if [ -n "$fixed_epochs" ]; then
	printf '\nEvery model trained %s epochs (BENCH_RANK_EPOCHS).\n' "$fixed_epochs" >> "$md"
else
	printf '\nEpochs of every model, chosen by WARP on the last eighth of the training period:%s\n' \
		"${chosen%;}." >> "$md"
fi
[ $have_torch = 1 ] || printf '\nPyTorch is not importable by %s: its rows are n/a.\n' "$py" >> "$md"
cat "$md"
