# rec-export --format onnx: ONNX Runtime itself (npm's onnxruntime-node,
# which scripts/setup.sh installs) scores the test records with each exported
# graph, and every score equals rec-eval --predict's within 1e-5: lr (Adagrad
# and FTRL), fm, deepfm, dlrm, ncf and lightfm on the samples, deepfm and dlrm on
# Criteo-shaped rows with 13 numeric fields and missing values, and shrunken
# models (fp16, bf16, int8, pruned) against the same shrinking written back
# as a model. ffm and bad models fail cleanly, leaving no file.
. "$TESTDIR/lib.sh"
need_ort
samples_ctr
rec-gen criteo --rows 3000 --seed 9 > criteo.tsv
head -n 2000 criteo.tsv | rec-hash --preset criteo > ctrain.rec
tail -n 1000 criteo.tsv | rec-hash --preset criteo > ctest.rec

# agree NAME.onnx REFERENCE.recm TEST.rec : ONNX Runtime's scores of the
# records equal rec-eval --predict's with the reference model.
agree() {
	rec-cat --schema "$3" > schema.txt
	rec-cat "$3" | NODE_PATH=$ort node "$top_srcdir/tests/onnx-score.js" "$1" schema.txt > ort.txt
	rec-eval -m "$2" --predict "$3" 2> /dev/null | cut -f1 > want.txt
	[ -s want.txt ] || fail "rec-eval gave no scores for $2"
	paste want.txt ort.txt | awk -v m="$1" '
		NF != 2 { print m ": line " NR " has " NF " scores"; bad = 1; exit }
		{ d = $1 - $2; if (d < 0) d = -d; if (d > max) max = d }
		END { if (bad) exit 1
		      if (max > 1e-5) { print m ": scores differ by " max; exit 1 }
		      print m ": " NR " scores, largest difference " max }' >&2 ||
		fail "$1 does not score as rec-eval does"
	# a graph that ignored its inputs would give one score for all
	[ "$(sort -u ort.txt | wc -l)" -gt 100 ] || fail "$1 gives too few distinct scores"
}

for m in lr fm deepfm dlrm ncf; do
	rec-train -q --model "$m" --epochs 1 -o $m.recm train.rec
	rec-export -q -o $m.onnx $m.recm
	agree $m.onnx $m.recm test.rec
done
rec-train -q --model lr --optimizer ftrl --l1 0.1 -o ftrl.recm train.rec
rec-export -q --format onnx -o ftrl.model ftrl.recm
agree ftrl.model ftrl.recm test.rec
# lightfm: user and item features pooled apart in the graph
rec-train -q --model lightfm --user-features gender,age --item-features category,tags \
	--dim 8 --epochs 1 -o lightfm.recm train.rec
rec-export -q -o lightfm.onnx lightfm.recm
agree lightfm.onnx lightfm.recm test.rec
for m in deepfm dlrm; do
	rec-train -q --model $m --epochs 2 -o c$m.recm ctrain.rec
	rec-export -q -o c$m.onnx c$m.recm
	agree c$m.onnx c$m.recm ctest.rec
done

# shrunken: the graph holds the rows as the written-back model does
shrink() {
	rec-export -q "$@" -o s.onnx "$model"
	rec-export -q "$@" -o s.recm "$model"
	agree s.onnx s.recm "$data"
	echo "$model $*: ok" >&2
}
model=fm.recm data=test.rec shrink --precision bf16
model=deepfm.recm data=test.rec shrink --precision fp16 --top-rows 1500
model=cdlrm.recm data=ctest.rec shrink --precision int8 --min-norm 0.05
model=ncf.recm data=test.rec shrink --precision int8 --top-rows 2000
model=lightfm.recm data=test.rec shrink --precision fp16

# the table is half the size in fp16
full=$(wc -c < deepfm.onnx)
rec-export -q --precision fp16 -o half.onnx deepfm.recm
half=$(wc -c < half.onnx)
[ "$half" -lt $((full * 7 / 10)) ] || fail "fp16 graph $half bytes, fp32 $full"

# refusals: nothing written
rec-train -q --model ffm --epochs 1 -o ffm.recm train.rec
expect_status 2 rec-export -o ffm.onnx ffm.recm 2> err
expect_grep "^rec-export: 'ffm.recm': ffm models cannot be exported to onnx" err
export_refuses_damage deepfm.recm
for f in ffm.onnx cut.onnx; do
	[ ! -e $f ] || fail "$f was left behind"
done
ls | grep -q '\.tmp\.' && fail "a temporary file was left behind"
exit 0
