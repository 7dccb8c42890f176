# rec-export --format onnx of sasrec models: ONNX Runtime itself (npm's
# onnxruntime-node, which scripts/setup.sh installs) runs the graph on each
# user's history of the planted sequences of data/samples/seq.tsv, and
# every catalogue item's score equals rec-rank's (-k the catalogue,
# --keep-seen) within 1e-4, with the same top 10: histories shorter and
# longer than --max-len, one of a single item, one with items the model
# never saw, one with none it knows and an empty one (rec-rank's
# empty-history list); ReLU with 2 heads and 2 blocks, GELU with 4 heads
# and 3 blocks. Models that cannot be exported fail in one line and leave
# no file.
. "$TESTDIR/lib.sh"
need_ort
tab=$(printf '\t')
# the samples' users (10 to 60 items), then "zone" (one item), "zmix"
# (known and unknown items) and "znew" (unknown items only)
{ cat "$SAMPLES/seq.tsv"; printf 'zone\ti3\t5\t1\n'
  printf 'zmix\ti5\t5\t1\nzmix\tnosuch1\t5\t2\nzmix\ti7\t4\t3\n'
  printf 'znew\tnosuch2\t5\t1\nznew\tnosuch3\t5\t2\n'; } | sort -t "$tab" -k1,1 -s > all.tsv
set -- --columns user,item,rating,time --group-by user --order-by time --categorical item
grep -v '^z' all.tsv | rec-cross "$@" | rec-hash > seq.rec
rec-cross "$@" all.tsv | rec-hash > all.rec
rec-cat all.rec > all.txt
users=$(($(wc -l < all.txt) + 1))   # and the empty history
# histories on both sides of --max-len 12
awk -F '\t' '{ n = NF - 2 } n < 12 { short++ } n > 12 { long++ }
	END { exit !(short >= 3 && long >= 100) }' all.txt || fail "no histories on both sides of 12"

# agree MODEL : ONNX Runtime's scores of every user and item equal
# rec-rank's, and so do the top 10 lists.
agree() {
	rec-export -q -o "$1.onnx" "$1.recm"
	NODE_PATH=$ort node "$top_srcdir/tests/onnx-sasrec.js" "$1.onnx" --empty zzempty \
		< all.txt > ort.tsv
	rec-rank -q -m "$1.recm" -k 300 --keep-seen all.rec > want.tsv
	expect_lines $(((users - 1) * 300)) want.tsv
	expect_lines $((users * 300)) ort.tsv
	# rec-rank prints scores to 6 digits: |score| < 10 keeps that within 5e-6
	awk -F '\t' -v m="$1" '
		NR == FNR { want[$1 FS $2] = $4; next }
		{ u = $1 == "zzempty" ? "znew" : $1; k = u FS $2 }
		!(k in want) { print m ": no rec-rank score of " k; bad = 1; exit }
		{ d = want[k] - $3; if (d < 0) d = -d; if (d > max) max = d; n++
		  a = $3 < 0 ? -$3 : $3; if (a > top) top = a }
		END { if (bad) exit 1
		      if (max > 1e-4) { print m ": scores differ by " max; exit 1 }
		      if (top >= 10) { print m ": a score of " top " is past rec-rank digits"; exit 1 }
		      print m ": " n " scores, largest difference " max }' want.tsv ort.tsv >&2 ||
		fail "$1.onnx does not score as rec-rank does"
	# the top 10: by ONNX Runtime's scores against rec-rank's ranks 1-10
	sort -t "$tab" -k1,1 -k3,3gr -s ort.tsv | awk -F '\t' '
		$1 != u { u = $1; r = 0 } ++r <= 10 { print (u == "zzempty" ? "znew" : u) "\t" $2 "\t" r }' \
		| sort > ort10.tsv
	awk -F '\t' '$3 <= 10 { print $1 "\t" $2 "\t" $3 }' want.tsv | sort > w10.tsv
	# znew twice: all its items unknown, and the empty history
	{ grep -v '^znew' w10.tsv; grep '^znew' w10.tsv | sed p; } | sort | cmp - ort10.tsv ||
		fail "$1.onnx: another top 10"
	# a graph that ignored the history would give every user one list
	[ "$(cut -f 2 w10.tsv | sort -u | wc -l)" -gt 50 ] || fail "$1: too few distinct items listed"
}

rec-train -q --model sasrec --dim 16 --max-len 12 --batch 32 --lr 0.005 --loss softmax \
	--epochs 3 --seed 1 -o relu.recm seq.rec
agree relu
rec-train -q --model sasrec --dim 16 --heads 4 --blocks 3 --max-len 8 --activation gelu \
	--batch 32 --lr 0.005 --loss softmax --epochs 8 --seed 2 -o gelu.recm seq.rec
agree gelu
# the ONNX checker, where Python has the onnx package: the graph is valid
# and its outputs' shapes infer
if /usr/bin/python3 -c 'import onnx' 2> /dev/null; then
	/usr/bin/python3 -c 'import onnx, sys
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
out = onnx.shape_inference.infer_shapes(m, strict_mode=True).graph.output
assert [o.type.tensor_type.shape.dim[0].dim_value for o in out] == [300, 300], out' gelu.onnx ||
		fail "gelu.onnx fails the ONNX checker"
fi

# refusals: one line, exit 2, nothing written
expect_status 2 rec-export --precision fp16 -o p.onnx relu.recm 2> err
expect_lines 1 err
expect_grep "^rec-export: 'relu.recm': a sasrec graph holds its item table whole and in fp32" err
expect_status 2 rec-export --top-rows 10 -o t.onnx relu.recm 2> err
expect_lines 1 err
expect_status 2 rec-export -o x.npz relu.recm 2> err
expect_lines 1 err
expect_grep "only rec-eval and rec-rank read it (rec-export writes it only as onnx)" err
export_refuses_damage relu.recm
for f in p.onnx t.onnx x.npz cut.onnx; do
	[ ! -e $f ] || fail "$f was left behind"
done
ls | grep -q '\.tmp\.' && fail "a temporary file was left behind"
exit 0
