#!/bin/sh
# ctr.sh TOOLDIR OUTDIR - rec-train against a PyTorch reference of the same
# models (bench/torch_ctr.py) on MovieLens-100K as a CTR task (the pipeline of
# tests/cli/real-data.sh: temporal split, last 20% of the ratings by time are
# the test set) and on generated Criteo-shaped data (rec-gen criteo: the label
# is planted on I1 and six categorical columns). Both read the same hashed
# streams; PyTorch gets them through rec-cat. Writes OUTDIR/ctr.md and works
# in OUTDIR/ctr/.
#   BENCH_THREADS         threads of both, rec-train --threads and torch (default: nproc)
#   BENCH_CRITEO_ROWS     training rows of the Criteo-shaped set (2000000); the
#                         test set is a quarter of that, the rows that follow
#   BENCH_EPOCHS          epochs of both (1)
#   BENCH_RUNS            runs of each side, the best examples/s kept (2): a
#                         VM's first touch of fresh memory varies by 10%
#   BENCH_TORCH_MAX_ROWS  train PyTorch on the first N training rows only (0: all)
#   BENCH_REAL            the shared data folder (default: ../shared/data beside the source tree)
#   BENCH_PYTHON          a Python with numpy, scikit-learn and torch (/usr/bin/python3)
#   BENCH_TORCH_BLAS      system (default): PyTorch on the libblas.so.3 alternative;
#                         same: on recpipe's BLAS and kernels (bench/blas-env.sh)
#   BENCH_BIN             where bench/peak is (default: TOOLDIR/../bench)
set -eu
tools=$1
top=$2
here=$(cd "$(dirname "$0")" && pwd)
PATH=$tools:$PATH
threads=${BENCH_THREADS:-$(nproc)}
rows=${BENCH_CRITEO_ROWS:-2000000}
test_rows=$((rows / 4))
epochs=${BENCH_EPOCHS:-1}
runs=${BENCH_RUNS:-2}
cap=${BENCH_TORCH_MAX_ROWS:-0}
real=${BENCH_REAL:-$here/../../shared/data}
py=${BENCH_PYTHON:-/usr/bin/python3}
tpy=$here/torch_ctr.py
peakbin=${BENCH_BIN:-$tools/../bench}/peak
out=$top/ctr
md=$top/ctr.md
mkdir -p "$out"
# Idle OpenMP threads sleep instead of spinning: on a busy machine a spinning
# team waits a whole time slice for a descheduled member at every parallel
# region (PyTorch at 2 threads ran 5-30x slower so). Set it to ACTIVE to see.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
pin=""
if command -v taskset >/dev/null && [ "$threads" -lt "$(nproc)" ]; then
	pin="taskset -c 0-$((threads - 1))"
fi
timer=""
[ -x /usr/bin/time ] && timer=/usr/bin/time
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)
notes=$out/notes
: > "$notes"
: > "$out/rows"
: > "$out/rows_pe"
: > "$out/flops"

have_torch=1
if ! "$py" -c 'import torch, sklearn, numpy' 2>/dev/null; then
	have_torch=0
	echo "- PyTorch: not importable by $py (\`sh scripts/setup.sh --bench\` installs python3-torch): its cells are n/a." >> "$notes"
elif ! "$py" "$tpy" --self-test > "$out/torch-self-test" 2>&1; then
	# the reference's forwards, Adagrad step and FLOP counts against numpy
	have_torch=0
	echo "- PyTorch: bench/torch_ctr.py --self-test failed ($(tail -n 1 "$out/torch-self-test")): its cells are n/a." >> "$notes"
fi
# shellcheck source=bench/blas-env.sh
. "$here/blas-env.sh"
[ -n "$timer" ] || echo "- /usr/bin/time is missing (package \`time\`): recpipe's peak RSS is n/a." >> "$notes"

# A number from a JSON line: json KEY FILE
json() { sed -n "s/.*\"$1\": \(-\{0,1\}[0-9.e+-]*\).*/\1/p" "$2" | head -n 1; }
# shellcheck disable=SC2059
fmt() { case $1 in "" | n/a | nan) echo "n/a" ;; *) printf "$2" "$1" ;; esac; }

# ---- data ------------------------------------------------------------------

datasets=""
ml=$real/movielens-100k
if [ -r "$ml/u.data" ] && [ -r "$ml/u.user" ] && [ -r "$ml/u.item" ]; then
	d=$out/ml100k
	mkdir -p "$d"
	if [ ! -s "$d/test.rec" ]; then
		echo "ctr: MovieLens-100K, temporal split..." >&2
		sort -t "$(printf '\t')" -k4,4n -s "$ml/u.data" > "$d/sorted"
		n=$(wc -l < "$d/sorted")
		head -n $((n - n / 5)) "$d/sorted" > "$d/train.txt"
		tail -n $((n / 5)) "$d/sorted" > "$d/test.txt"
		set -- --columns user,item,rating,time --label 'rating>=4' --group user \
			--join "$ml/u.user" --join-sep '|' --join-columns user,age,gender,occupation,zip \
			--join "$ml/u.item" --join-sep '|' --join-columns item,title,date,video,url,g0..g18 \
			--categorical user,item,age,gender,occupation --multi-hot genres=g0..g18 \
			--cross item,gender,age
		rec-hash "$@" "$d/train.txt" > "$d/train.rec"
		rec-hash "$@" "$d/test.txt" > "$d/test.rec"
		rm -f "$d/sorted" "$d/train.txt" "$d/test.txt"
	fi
	datasets="ml100k"
else
	echo "- MovieLens-100K: not found in $ml, skipped." >> "$notes"
fi

d=$out/criteo
mkdir -p "$d"
if [ ! -s "$d/test.rec" ] || [ "$(cat "$d/rows" 2>/dev/null)" != "$rows" ]; then
	echo "ctr: generating $((rows + test_rows)) Criteo-shaped rows..." >&2
	rm -f "$d/rows"
	rec-gen criteo --rows $((rows + test_rows)) --seed 1 > "$d/all.txt"
	head -n "$rows" "$d/all.txt" | rec-hash --preset criteo --bits 24 > "$d/train.rec"
	tail -n "$test_rows" "$d/all.txt" | rec-hash --preset criteo --bits 24 > "$d/test.rec"
	rm -f "$d/all.txt"
	echo "$rows" > "$d/rows"
fi
datasets="$datasets criteo"

# ---- runs ------------------------------------------------------------------

rec_help=$(rec-train --help 2>&1 || true)
has_opt() { printf '%s\n' "$rec_help" | grep -q -e "$1[ =<]" -e "$1\$"; }
has_model() { printf '%s\n' "$rec_help" | grep -e '--model' | grep -qw -e "$1"; }

# model_opts MODEL: "option value" pairs, one a line, as both tools take them
model_opts() {
	case $1 in
	lr) printf '%s\n' "--init-scale 0.01" ;;
	fm) printf '%s\n' "--dim 8" "--init-scale 0.01" ;;
	deepfm) printf '%s\n' "--dim 16" "--hidden 128,64" "--init-scale 0.05" ;;
	dlrm) printf '%s\n' "--dim 16" "--bottom 64" "--hidden 128,64" "--init-scale 0.05" ;;
	esac
	printf '%s\n' "--batch 512" "--lr 0.05" "--dense-lr 0.001" "--threads $threads" \
		"--epochs $epochs" "--seed 1"
}

# epoch_rate FILE: examples/s over all of rec-train's epochs, from its stderr
epoch_rate() {
	awk '/examples\/s/ { e = ""; r = ""
		for (i = 2; i <= NF; i++)
			if ($i ~ /^examples\/s/) r = $(i - 1)
			else if ($i ~ /^examples/ && e == "") e = $(i - 1)
		if (e + 0 > 0 && r + 0 > 0) { n += e; t += e / r } }
		END { if (t > 0) printf "%.0f", n / t }' "$1"
}

# recpipe DATASET MODEL [pe]: sets r_eps r_rss r_auc r_ll (n/a when it cannot
# run); r_eps is the best of BENCH_RUNS runs, the rest come from the first.
# pe: without --batch (lr and fm then update after every example)
recpipe() {
	r_eps=n/a r_rss=n/a r_auc=n/a r_ll=n/a
	w=$out/$1/$2${3:+.$3}
	if ! has_model "$2"; then
		echo "- recpipe $2: rec-train has no --model $2 yet: n/a." >> "$notes"
		return 0
	fi
	args="--model $2" dropped=""
	while read -r o v; do
		if [ "${3:-}" = pe ] && [ "$o" = --batch ]; then continue; fi
		if has_opt "$o"; then args="$args $o $v"; else dropped="$dropped $o"; fi
	done <<EOF
$(model_opts "$2")
EOF
	case $2:${3:-} in lr: | fm:)
		if ! printf '%s\n' "$rec_help" | grep -e '--batch' | grep -q 'lr, fm'; then
			echo "- recpipe lr, fm: rec-train's --batch applies to its deep models only (its help): lr and fm update after every example, PyTorch's after each batch of 512." >> "$notes"
		fi ;;
	esac
	if [ -n "$dropped" ]; then
		case $2 in
		lr | fm) echo "- recpipe $2: rec-train does not take$dropped yet; run without (its defaults)." >> "$notes" ;;
		*)
			echo "- recpipe $2: rec-train does not take$dropped yet: n/a." >> "$notes"
			return 0
			;;
		esac
	fi
	echo "ctr: $1 $2 rec-train$args" >&2
	rc=0
	# shellcheck disable=SC2086
	${timer:+$timer -f %M -o "$w.rss"} $pin rec-train $args -o "$w.recm" "$out/$1/train.rec" 2> "$w.err" || rc=$?
	if [ "$rc" = 2 ] && { [ "$2" = lr ] || [ "$2" = fm ]; }; then
		# a usage error: drop the options it names (say --dense-lr for lr) and retry
		again="" named=""
		# shellcheck disable=SC2086
		set -- "$1" "$2" $args
		a1=$1 a2=$2
		shift 2
		while [ $# -gt 0 ]; do
			if grep -q -e "$1" "$w.err" && [ "$1" != --model ]; then named="$named $1"; else again="$again $1 $2"; fi
			shift 2
		done
		set -- "$a1" "$a2"
		if [ -n "$named" ]; then
			echo "- recpipe $2 on $1: rec-train refuses$named here; run without." >> "$notes"
			args=$again
			rc=0
			# shellcheck disable=SC2086
			${timer:+$timer -f %M -o "$w.rss"} $pin rec-train $args -o "$w.recm" "$out/$1/train.rec" 2> "$w.err" || rc=$?
		fi
	fi
	if [ "$rc" != 0 ]; then
		echo "- recpipe $2 on $1 failed: $(grep -v '^Command exited' "$w.err" | head -n 1)" >> "$notes"
		return 0
	fi
	r_eps=$(epoch_rate "$w.err")
	run=1
	while [ "$run" -lt "$runs" ] && [ -n "$r_eps" ]; do
		# shellcheck disable=SC2086
		$pin rec-train $args -o "$w.recm" "$out/$1/train.rec" 2> "$w.err.again" || break
		r_eps=$(printf '%s\n%s\n' "$r_eps" "$(epoch_rate "$w.err.again")" | sort -n | tail -n 1)
		run=$((run + 1))
	done
	[ -n "$r_eps" ] || r_eps=n/a
	[ -z "$timer" ] || r_rss=$(awk '/^[0-9]+$/ { x = $1 } END { if (x) printf "%.1f", x / 1024 }' "$w.rss")
	if rec-eval -m "$w.recm" --json "$out/$1/test.rec" > "$w.eval.json" 2> "$w.eval.err"; then
		r_auc=$(json auc "$w.eval.json")
		r_ll=$(json logloss "$w.eval.json")
	else
		echo "- recpipe $2 on $1: rec-eval failed: $(head -n 1 "$w.eval.err")" >> "$notes"
	fi
}

# torchrun DATASET MODEL: sets t_eps t_rss t_auc t_ll, t_eps the best of
# BENCH_RUNS runs as for recpipe
torchrun() {
	t_eps=n/a t_rss=n/a t_auc=n/a t_ll=n/a t_flops=n/a
	[ "$have_torch" = 1 ] || return 0
	w=$out/$1/$2
	echo "ctr: $1 $2 torch" >&2
	# shellcheck disable=SC2046,SC2086
	if ! env $torch_env $pin "$py" "$tpy" train --data "$out/$1/prep" --model "$2" --max-train-rows "$cap" \
		$(model_opts "$2") > "$w.torch.json" 2> "$w.torch.err"; then
		echo "- PyTorch $2 on $1 failed: $(tail -n 1 "$w.torch.err")" >> "$notes"
		return 0
	fi
	t_eps=$(json examples_per_s "$w.torch.json")
	t_rss=$(json peak_rss_mib "$w.torch.json")
	t_auc=$(json auc "$w.torch.json")
	t_ll=$(json logloss "$w.torch.json")
	t_flops=$(json dense_flops "$w.torch.json")
	run=1
	while [ "$run" -lt "$runs" ]; do
		# shellcheck disable=SC2046,SC2086
		env $torch_env $pin "$py" "$tpy" train --data "$out/$1/prep" --model "$2" --max-train-rows "$cap" \
			$(model_opts "$2") > "$w.torch.again.json" 2> "$w.torch.err" || break
		t_eps=$(printf '%s\n%s\n' "$t_eps" "$(json examples_per_s "$w.torch.again.json")" | sort -g | tail -n 1)
		run=$((run + 1))
	done
}

for ds in $datasets; do
	prep=$out/$ds/prep
	if [ "$have_torch" = 1 ]; then
		if [ ! -s "$prep/meta.json" ] ||
			[ -n "$(find "$out/$ds/train.rec" "$out/$ds/test.rec" "$tpy" -newer "$prep/meta.json")" ]; then
			echo "ctr: $ds: rec-cat into numpy arrays for torch..." >&2
			rm -rf "$prep"
			"$py" "$tpy" prep --rec-cat "$(command -v rec-cat)" --train "$out/$ds/train.rec" \
				--test "$out/$ds/test.rec" --out "$prep" > "$out/$ds/prep.json"
		fi
	fi
	case $ds in ml100k) label="MovieLens-100K" ;; *) label="Criteo-shaped" ;; esac
	for m in lr fm deepfm dlrm; do
		recpipe "$ds" "$m"
		torchrun "$ds" "$m"
		ratio=n/a
		case "$r_eps$t_eps" in *n/a*) ;; *) ratio=$(printf '%.2f' "$(echo "$r_eps / $t_eps" | bc -l)") ;; esac
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$m" \
			"$(fmt "$r_eps" %.0f)" "$(fmt "$t_eps" %.0f)" "$ratio" \
			"$(fmt "$r_rss" %.0f)" "$(fmt "$t_rss" %.0f)" \
			"$(fmt "$r_auc" %.4f)" "$(fmt "$t_auc" %.4f)" \
			"$(fmt "$r_ll" %.4f)" "$(fmt "$t_ll" %.4f)" >> "$out/rows"
		case "$m:$t_flops" in deepfm:[1-9]* | dlrm:[1-9]*)
			echo "$label|$m|$t_flops|$r_eps|$t_eps" >> "$out/flops" ;;
		esac
		case $m in lr | fm)
			t_batch=$t_eps
			recpipe "$ds" "$m" pe
			ratio=n/a
			case "$r_eps$t_batch" in *n/a*) ;; *) ratio=$(printf '%.2f' "$(echo "$r_eps / $t_batch" | bc -l)") ;; esac
			printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$m" "$(fmt "$r_eps" %.0f)" "$ratio" \
				"$(fmt "$r_rss" %.0f)" "$(fmt "$r_auc" %.4f)" "$(fmt "$r_ll" %.4f)" >> "$out/rows_pe" ;;
		esac
	done
done

# ---- the table -------------------------------------------------------------

# dense_table: the deep models' dense arithmetic against what the cores can
# do: 5x PyTorch is a target only where the cores have that many FLOP/s.
dense_table() {
	[ -s "$out/flops" ] || return 0
	peak=$(printf '%s\n' "$peak_out" | awk '$1 == "avx512_fma" && $2 + 0 > 0 { print $2 }')
	echo "Dense layers (MLPs; dlrm's pairwise dots too) per training example: one multiply-add"
	echo "forward and two backward per weight, 2 flops each; GFLOP/s = that x examples/s."
	if [ -n "$peak" ]; then
		echo "Peak: $threads x $peak GFLOP/s, one core's fp32 AVX-512 FMA throughput (bench/peak)."
	fi
	echo
	echo "| data | model | MFLOP/example | recpipe GFLOP/s | PyTorch GFLOP/s | 5x PyTorch needs | of peak |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	awk -F'|' -v peak="${peak:-0}" -v threads="$threads" '{
		f = $3 / 1e9; need = 5 * $5 * f
		r = ($4 + 0 > 0) ? sprintf("%.1f", $4 * f) : "n/a"
		share = peak > 0 ? sprintf("%.0f%%", 100 * need / (peak * threads)) : "n/a"
		printf "| %s | %s | %.3f | %s | %.1f | %.1f | %s |\n", $1, $2, $3 / 1e6, r, $5 * f, need, share
	}' "$out/flops"
	echo
	echo "FLOPs are the reference's. recpipe's deepfm runs fewer: a numeric field enters its first"
	echo "layer as one input, not k (rec-train(1), deepfm), so on Criteo-shaped rows (13 numeric"
	echo "fields of 39) its products are 0.379 MFLOP an example, and its column is a rate of the model."
	echo
}

# what one core can do, and the kernels rec-train runs (bench/peak)
peak_out=""
# shellcheck disable=SC2086
[ ! -x "$peakbin" ] || peak_out=$($pin "$peakbin")
info=""
# shellcheck disable=SC2086
[ "$have_torch" = 0 ] || info=$(env $torch_env $pin "$py" "$tpy" info --threads "$threads" 2> /dev/null || true)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
minutes=$(( ($(date +%s) - t_start + 59) / 60 ))
{
	echo "## rec-train against a PyTorch reference of the same models"
	echo
	echo "Generated by \`bench/ctr.sh\` on $(date -u +%Y-%m-%d): $threads threads each"
	echo "($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
	echo "$epochs epoch(s), batch 512, in file order. Examples/s: training only;"
	echo "RSS: peak resident set of the process, MiB. AUC and logloss on the test set."
	echo
	echo "| data | model | recpipe ex/s | PyTorch ex/s | recpipe/PyTorch | recpipe RSS | PyTorch RSS | recpipe AUC | PyTorch AUC | recpipe logloss | PyTorch logloss |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	cat "$out/rows"
	echo
	if [ -s "$out/rows_pe" ]; then
		echo "recpipe's \`lr\` and \`fm\` as they train by default, an update after every example"
		echo "(no \`--batch\`), against the same PyTorch run (batch 512):"
		echo
		echo "| data | model | recpipe ex/s | / PyTorch ex/s | recpipe RSS | recpipe AUC | recpipe logloss |"
		echo "|---|---|---:|---:|---:|---:|---:|"
		cat "$out/rows_pe"
		echo
	fi
	dense_table
	echo "Data:"
	for ds in $datasets; do
		case $ds in
		ml100k) echo "- MovieLens-100K: the pipeline of \`tests/cli/real-data.sh\` (rating >= 4 is a click; user age, gender, occupation and item genres joined in; item x gender x age cross), sorted by time, first 80% train, last 20% test." ;;
		criteo) echo "- Criteo-shaped: \`rec-gen criteo --rows $((rows + test_rows)) --seed 1\`, first $rows rows train, last $test_rows test, \`rec-hash --preset criteo --bits 24\`. The label is planted: logit = -1.9 + 0.3 ln(1 + I1) + 0.2 [I1 missing] + effects of C1, C5, C9, C14, C17, C23." ;;
		esac
		j=$out/$ds/prep.json
		if [ -s "$j" ]; then
			awk -v n="$(json n_ids "$j")" -v f="$(json test_values "$j")" -v a="$(json test_values_all "$j")" \
				-v s="$(json prep_seconds "$j")" 'BEGIN { printf "  %d distinct IDs in training; %.1f%% of the test values have a row; rec-cat, parsing and ID mapping for PyTorch took %.0f s (not counted).\n", n, 100 * f / (a + !a), s }'
		fi
		j=$out/$ds/fm.torch.json
		if [ -s "$j" ]; then
			echo "  PyTorch's RSS counts the training set held as numpy arrays, $(json train_data_mib "$j") MiB, and the interpreter with torch and scikit-learn loaded, $(json base_rss_mib "$j") MiB."
		fi
	done
	echo
	echo "Models and settings (the same for both): lr; fm with k = 8 (feature-level FM);"
	echo "deepfm with k = 16, MLP 128-64-1 on the field vectors; dlrm with k = 16, bottom MLP"
	echo "64-16, top MLP 128-64-1 on [bottom output, pairwise dots]; sum pooling; numeric x ="
	echo "sign(v) ln(1 + |v|). Embedding rows: row-wise Adagrad, lr 0.05, L2 1e-5, eps 1e-7, init"
	echo "uniform +-0.01 (lr, fm) or +-0.05 (deepfm, dlrm). Dense layers: Adam, lr 0.001. Mean"
	echo "logistic loss over a batch of 512. IDs not seen in training are absent at test time."
	echo
	echo "Notes:"
	echo "- examples/s: the best of $runs runs of each side (BENCH_RUNS); RSS, AUC and logloss: the first run."
	echo "- recpipe examples/s is rec-train's own epoch figure (it includes reading and decoding the zstd stream);"
	echo "  recpipe RSS is \`/usr/bin/time -f %M\`; AUC and logloss from \`rec-eval --json\`."
	if [ -n "$peak_out" ]; then
		smm=$(printf '%s\n' "$peak_out" | sed -n 's/^smm_kernels //p')
		blas=$(printf '%s\n' "$peak_out" | sed -n 's/^sgemm_kernels //p')
		echo "  rec-train's MLP products: ${smm:-on its BLAS}; its BLAS: $blas, one BLAS thread inside each of its own threads."
	fi
	echo "- PyTorch examples/s times the training loop only (batches sliced from numpy arrays in memory, the"
	echo "  forward, backward and both optimizers); its RSS (getrusage ru_maxrss) includes those arrays and"
	echo "  the torch runtime. lr/fm's bias w0 is a one-element row of Adagrad without L2, as in rec-train."
	if [ -n "$info" ]; then
		tv=$(printf '%s' "$info" | sed -n 's/.*"torch": "\([^"]*\)".*/\1/p')
		tt=$(printf '%s' "$info" | sed -n 's/.*"threads": \([0-9]*\).*/\1/p')
		tb=$(printf '%s' "$info" | sed -n 's/.*"blas": \[\([^]]*\)\].*/\1/p' | tr -d '"')
		tg=$(printf '%s' "$info" | sed -n 's/.*"matmul_1024_gflops": \([0-9.]*\).*/\1/p')
		echo "- PyTorch $tv (Debian python3-torch, CPU), torch.set_num_threads($tt); BLAS loaded: $tb"
		echo "  (a 1024 x 1024 fp32 matmul runs at $tg GFLOP/s on $tt threads). $blas_note"
	fi
	[ "$cap" = 0 ] || echo "- BENCH_TORCH_MAX_ROWS=$cap: PyTorch trained on the first $cap training rows only (recpipe on all of them)."
	awk '!seen[$0]++' "$notes"
	echo "- OMP_WAIT_POLICY=$OMP_WAIT_POLICY for both (idle OpenMP threads sleep rather than spin)."
	echo "- Load average (1, 5, 15 min) before: $load0; after: $load1. Whole run: about $minutes min."
} > "$md"
echo "ctr: shrinking the models (bench/shrink.sh)..." >&2
{ echo; sh "$here/shrink.sh" "$out" || echo "bench/shrink.sh failed"; } >> "$md"
rm -f "$out"/*/*.recm
# MovieLens-derived streams are not kept (its terms: no redistribution); they take a second to remake
rm -rf "$out/ml100k/train.rec" "$out/ml100k/test.rec" "$out/ml100k/prep"
cat "$md"
