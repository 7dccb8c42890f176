#!/bin/sh
# seq.sh TOOLDIR OUTDIR - rec-train --model sasrec against a PyTorch
# reference of the same model (bench/torch_sasrec.py) on the MovieLens-1M
# sequences of ../shared/data (train_input.txt taken as the users' full
# histories, leave-one-out on it: last item test, the one before
# validation, the rest training), in the SASRec paper's setting: dim 50, 2
# blocks, 1 head, max length 200, dropout 0.2, BCE with one negative, Adam
# lr 0.001, batch 128. Both train the same number of epochs for the timing
# and the equal-epoch quality; recpipe alone then trains longer for the
# quality figure, and once more with the full softmax. Writes OUTDIR/seq.md
# and works in OUTDIR/seq/ (the MovieLens-derived stream is removed at the end).
#   BENCH_SEQ_THREADS        threads of both (1; the process is pinned to as many cores)
#   BENCH_SEQ_TORCH_EPOCHS   epochs of the timed comparison, both tools (2)
#   BENCH_SEQ_EPOCHS         recpipe's epochs for the quality figure at most (40; the
#                            SASRec paper's 200 take about half an hour)
#   BENCH_SEQ_PATIENCE       its early stopping on the validation items (15)
#   BENCH_SEQ_SOFTMAX_EPOCHS recpipe's epochs with the full softmax (5; 0: skip)
#   BENCH_SEQ_LR             Adam's learning rate of every run (0.001)
#   BENCH_PEAK_GFLOPS        one core's fp32 peak (default: bench/peak's AVX-512 FMA figure,
#                            measured in this run, else its AVX2 one)
#   BENCH_BIN                where bench/peak is (default: TOOLDIR/../bench)
#   BENCH_REAL               the shared data folder (default: ../shared/data beside the source tree)
#   BENCH_PYTHON             a Python with numpy and torch (/usr/bin/python3)
#   BENCH_TORCH_BLAS         system (default) or same: PyTorch's BLAS (bench/blas-env.sh)
set -eu
tools=$1
top=$2
here=$(cd "$(dirname "$0")" && pwd)
PATH=$tools:$PATH
threads=${BENCH_SEQ_THREADS:-1}
tep=${BENCH_SEQ_TORCH_EPOCHS:-2}
qep=${BENCH_SEQ_EPOCHS:-40}
pat=${BENCH_SEQ_PATIENCE:-15}
sep=${BENCH_SEQ_SOFTMAX_EPOCHS:-5}
lr=${BENCH_SEQ_LR:-0.001}
peakbin=${BENCH_BIN:-$tools/../bench}/peak
real=${BENCH_REAL:-$here/../../shared/data}
py=${BENCH_PYTHON:-/usr/bin/python3}
src=$real/movielens-1m/sequences/train_input.txt
out=$top/seq
md=$top/seq.md
mkdir -p "$out"
if [ ! -r "$src" ]; then
	echo "## Sequences: sasrec (bench/seq.sh)" > "$md"
	echo >> "$md"
	echo "Skipped: $src not found." >> "$md"
	exit 0
fi
cores=$(nproc --all)
# What one core can do, measured now: FMA throughput and the BLAS's sgemm
peak_fma=n/a peak_sgemm=n/a kernels=n/a smm=n/a
if [ -x "$peakbin" ]; then
	"$peakbin" > "$out/peak.txt"
	peak_fma=$(awk '$1 == "avx512_fma" && $2 != "n/a" { print $2 }' "$out/peak.txt")
	[ -n "$peak_fma" ] || peak_fma=$(awk '$1 == "avx2_fma" { print $2 }' "$out/peak.txt")
	peak_sgemm=$(awk '$1 == "sgemm" { print $2 }' "$out/peak.txt")
	kernels=$(awk '$1 == "sgemm_kernels" { sub(/^[^ ]* /, ""); print }' "$out/peak.txt")
	smm=$(awk '$1 == "smm_kernels" { sub(/^[^ ]* /, ""); print }' "$out/peak.txt")
fi
peak=${BENCH_PEAK_GFLOPS:-$peak_fma}
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
pin=""
command -v taskset >/dev/null && pin="taskset -c 0-$((threads - 1))"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)
have_torch=1
"$py" -c 'import torch, numpy' 2>/dev/null || have_torch=0
# shellcheck source=bench/blas-env.sh
. "$here/blas-env.sh"

# the paper's setting, as "option value" pairs both tools take
d=50 L=2 H=1 T=200 neg=1
set -- --dim $d --blocks $L --heads $H --max-len $T --dropout 0.2 --batch 128 --lr "$lr" --seed 1
common="$*"

json() { sed -n "s/.*\"$1\": \(-\{0,1\}[0-9.e+-]*\).*/\1/p" "$2" | head -n 1; }
f4() { case $1 in "" | n/a) echo n/a ;; *) printf '%.4f' "$1" ;; esac; }
f1() { case $1 in "" | n/a) echo n/a ;; *) printf '%.1f' "$1" ;; esac; }

echo "seq: MovieLens-1M sequences into a stream..." >&2
awk -v OFS='\t' '{ for (i = 1; i <= NF; i++) print NR, $i, i }' "$src" \
	| rec-cross --columns user,item,time --group-by user --order-by time --categorical item \
	| rec-hash > "$out/ml1m.rec"

# GEMM FLOPs of one epoch, forward + backward (backward = 2 x forward):
# per block 2N(3d^2 + d^2 + 2 d f) for qkv, output, FFN, and 2 t^2 d each
# for Q K^T and P V of a sequence of t inputs (the full t x t square);
# the output layer 2 N d per candidate (BCE: target + negatives; softmax:
# every item). N = inputs of the epoch.
read -r N S2 V <<EOF
$(awk -v T=$T '{ m = NF >= 3 ? NF - 2 : NF; t = m - 1; if (t > T) t = T; if (t > 0) { n += t; s2 += t * t }
	for (i = 1; i <= NF; i++) v[$i] = 1 } END { print n, s2, length(v) }' "$src")
EOF
flops() { # CANDIDATES: GFLOP of one epoch
	awk -v N="$N" -v S2="$S2" -v d=$d -v L=$L -v c="$1" \
		'BEGIN { printf "%.1f", 3 * (L * (2 * N * (4 * d * d + 2 * d * d) + 4 * d * S2) + 2 * N * d * c) / 1e9 }'
}
gf_bce=$(flops $((neg + 1)))
gf_sm=$(flops "$V")

# recpipe RUN EPOCHS [OPTIONS]: trains OUT/RUN.recm, evaluates it into
# OUT/RUN.json; prints the mean training seconds of an epoch
recpipe() {
	r=$1 e=$2
	shift 2
	echo "seq: recpipe $r, $e epoch(s)..." >&2
	# shellcheck disable=SC2086
	$pin rec-train --model sasrec $common --threads "$threads" --epochs "$e" "$@" \
		-o "$out/$r.recm" "$out/ml1m.rec" 2> "$out/$r.err"
	rec-eval -m "$out/$r.recm" --json "$out/ml1m.rec" > "$out/$r.json" 2> /dev/null
	awk '/ targets\/s/ { for (i = 2; i <= NF; i++) { if ($(i + 1) == "targets," && !n) n = $i
		if ($(i + 1) == "targets/s,") s += n / $i } k++ ; n = 0 } END { printf "%.2f", s / k }' "$out/$r.err"
}

r_s=$(recpipe same "$tep")
t_s=n/a
if [ "$have_torch" = 1 ]; then
	echo "seq: PyTorch, $tep epoch(s)..." >&2
	# shellcheck disable=SC2086
	env $torch_env $pin "$py" "$here/torch_sasrec.py" "$src" $common --epochs "$tep" --threads "$threads" \
		> "$out/torch.json" 2> "$out/torch.err"
	t_s=$(sed -n 's/.*"epoch_s": \[\([^]]*\)\].*/\1/p' "$out/torch.json" | tr ',' '\n' |
		awk '{ s += $1; n++ } END { printf "%.2f", s / n }')
fi
r_q=$(recpipe long "$qep" --patience "$pat")
qbest=$(sed -n 's/.*best: epoch \([0-9]*\).*/\1/p' "$out/long.err")
r_sm=n/a
[ "$sep" = 0 ] || r_sm=$(recpipe softmax "$sep" --loss softmax)

gflops() { case $2 in n/a) echo n/a ;; *) awk -v f="$1" -v s="$2" 'BEGIN { printf "%.1f", f / s }' ;; esac; }
# the share of the peak of the cores the run has (one core's times threads)
pct() { case $1$peak in *n/a*) echo n/a ;; *) awk -v g="$1" -v p="$peak" -v t="$threads" 'BEGIN { printf "%.0f%%", 100 * g / (p * t) }' ;; esac; }
ratio=n/a
[ "$t_s" = n/a ] || ratio=$(awk -v a="$t_s" -v b="$r_s" 'BEGIN { printf "%.1f", a / b }')
row() { # LABEL EPOCHS SECS GFLOP JSON
	g=$(gflops "$4" "$3")
	printf '| %s | %s | %s | %s (%s) | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$g" "$(pct "$g")" \
		"$(f4 "$(json 'sampled100_hr@10' "$5")")" "$(f4 "$(json 'sampled100_ndcg@10' "$5")")" \
		"$(f4 "$(json 'hr@10' "$5")")" "$(f4 "$(json 'ndcg@10' "$5")")"
}
blas=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || echo unknown)
tv=n/a
[ "$have_torch" = 0 ] || tv=$(sed -n 's/.*"torch": "\([^"]*\)".*/\1/p' "$out/torch.json")
tblas=n/a
[ "$have_torch" = 0 ] || tblas=$(sed -n 's/.*"blas": \[\([^]]*\)\].*/\1/p' "$out/torch.json" | tr -d '"')
load1=$(cut -d' ' -f1-3 /proc/loadavg)
minutes=$(( ($(date +%s) - t_start + 59) / 60 ))
{
	echo "## Sequences: sasrec against PyTorch (bench/seq.sh)"
	echo
	echo "Generated by \`bench/seq.sh\` on $(date -u +%Y-%m-%d): $threads thread(s) each, pinned"
	echo "($cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')). MovieLens-1M"
	echo "sequences ($(wc -l < "$src") users, $V items), \`train_input.txt\` leave-one-out; paper setting:"
	echo "\`$common\`, BCE with $neg negative. Seconds: training loop of one epoch"
	echo "(mean over the run's epochs; $N inputs an epoch), no evaluation. GFLOP/s: the epoch's GEMM"
	echo "FLOPs, forward + backward ($gf_bce GFLOP with BCE, $gf_sm with the full softmax), over"
	echo "those seconds, and the share of the peak of $threads core(s), one core's $peak GFLOP/s (bench/peak: fp32 FMA"
	echo "throughput measured in this run; the installed BLAS's sgemm reaches $peak_sgemm GFLOP/s"
	echo "($kernels) on a 1024^3 product). Test items:"
	echo "HR@10 and NDCG@10 against 100 sampled negatives, then against all items (history left out)."
	echo
	echo "| run | epochs | s/epoch | GFLOP/s (of peak) | HR@10 (100 neg.) | NDCG@10 (100 neg.) | HR@10 (all) | NDCG@10 (all) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	row "recpipe, BCE" "$tep" "$r_s" "$gf_bce" "$out/same.json"
	if [ "$have_torch" = 1 ]; then
		row "PyTorch, BCE" "$tep" "$t_s" "$gf_bce" "$out/torch.json"
	else
		echo "| PyTorch, BCE | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
	fi
	row "recpipe, BCE (quality run)" "$qep" "$r_q" "$gf_bce" "$out/long.json"
	[ "$sep" = 0 ] || row "recpipe, full softmax" "$sep" "$r_sm" "$gf_sm" "$out/softmax.json"
	echo
	echo "recpipe is **${ratio}x** faster per epoch than PyTorch (PyTorch seconds / recpipe seconds)."
	echo
	echo "Notes:"
	echo "- PyTorch $tv (Debian python3-torch, CPU), torch.set_num_threads($threads). $blas_note"
	echo "  Mapped by torch: $tblas. The libblas.so.3 alternative is $blas."
	echo "  rec-train runs $kernels, one BLAS thread inside each of its own threads; the attention's and"
	echo "  the linear layers' small products on $smm."
	echo "- Same model, init distribution, loss and optimizer (bench/torch_sasrec.py's header); not the same"
	echo "  random draws. PyTorch pads each batch on the left to its longest sequence and masks the padding;"
	echo "  rec-train packs the sequences without padding. The FLOP count is the model's, not the padded one's."
	echo "- Attention is counted as full t x t products (a causal kernel needs about half of them; rec-train"
	echo "  computes the triangle in blocks of 32 rows, PyTorch the padded square)."
	echo "- recpipe's sampled negatives are its own (seeded per user), PyTorch's NumPy's: same distribution."
	echo "- The quality figure's recpipe run trains up to $qep epochs with --patience $pat (the model"
	echo "  written is its best validation epoch${qbest:+, $qbest}), PyTorch $tep (its epochs are slow);"
	echo "  the first rows compare the two after the same $tep epoch(s)."
	echo "- OMP_WAIT_POLICY=$OMP_WAIT_POLICY. Load average (1, 5, 15 min) before: $load0; after: $load1."
	echo "  Whole run: about $minutes min."
} > "$md"
rm -f "$out/ml1m.rec" "$out"/*.recm
cat "$md"
