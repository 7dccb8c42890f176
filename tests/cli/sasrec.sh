# sasrec through rec-train and rec-eval on the planted sequences of
# data/samples/seq.tsv (next item = succ(previous) with probability 0.6):
# the model comes near the planted HR@10 ceiling, far above popularity;
# a fixed seed gives the same model; rec-eval's ranks and metrics agree
# with an independent NumPy forward pass (tests/seq-ref.py); bad input is
# named and leaves no model behind.
. "$TESTDIR/lib.sh"
truth="$SAMPLES/seq.truth"
ceiling=$(sed -n 's/^hr10_ceiling = //p' "$truth")
pop=$(sed -n 's/^pop_hr10 = //p' "$truth")
tab=$(printf '\t')
sort -t "$tab" -k1,1 -s "$SAMPLES/seq.tsv" \
  | rec-cross --columns user,item,rating,time --group-by user --order-by time --categorical item \
  | rec-hash > seq.rec
# at_least A B: A >= B
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b) }'; }
hr10() { sed 's/.*"hr@10": \([0-9.]*\).*/\1/' "$1"; }

set -- --model sasrec --dim 32 --batch 32 --lr 0.005 --seed 1
rec-train -q "$@" --loss softmax --epochs 20 -o s.recm seq.rec
rec-eval -m s.recm --json seq.rec > s.json
hr=$(hr10 s.json)
echo "sasrec softmax: test HR@10 $hr (ceiling $ceiling, popularity $pop)" >&2
at_least "$hr" "$(awk -v c="$ceiling" 'BEGIN { print c - 0.06 }')" || fail "HR@10 $hr, far below $ceiling"
expect_grep '"users": 500, "skipped": 0' s.json

# bce with SASRec's one negative per target, sampled softmax with 20
for loss in bce:1 sampled-softmax:20; do
	rec-train -q "$@" --loss ${loss%:*} --negatives ${loss#*:} --epochs 12 -o l.recm seq.rec
	rec-eval -m l.recm --json --sampled 0 seq.rec > l.json
	hr=$(hr10 l.json)
	echo "sasrec $loss: test HR@10 $hr" >&2
	at_least "$hr" "$(awk -v p="$pop" 'BEGIN { print p + 0.4 }')" || fail "$loss: HR@10 $hr"
done

tar -xOf s.recm MANIFEST > manifest
expect_grep "^model.kind = sasrec$" manifest
expect_grep "^model.loss = softmax$" manifest
expect_grep "^tensor.items.ids = u64 300$" manifest
expect_grep "^tensor.token_embd.weight = f32 301 32$" manifest
expect_grep "^tensor.blk.1.attn_qkv.weight = f32 96 32$" manifest

# a fixed seed gives the same model
rec-train -q "$@" --epochs 2 --dropout 0.3 --activation gelu -o a.recm seq.rec
rec-train -q "$@" --epochs 2 --dropout 0.3 --activation gelu -o b.recm seq.rec
rec-eval -m a.recm --ranks seq.rec > a.tsv 2> /dev/null
rec-eval -m b.recm --ranks seq.rec > b.tsv 2> /dev/null
expect_lines 500 a.tsv
cmp a.tsv b.tsv || fail "the same seed gave different models"
# and so does any thread count (passive waits: the cores may be shared)
OMP_WAIT_POLICY=passive rec-train -q "$@" --epochs 2 --dropout 0.3 --activation gelu --threads 2 -o c.recm seq.rec
cmp a.recm c.recm || fail "--threads 2 gave another model"

# bad input: named, exit 2, no model
rec-hash --header --label click --categorical user,item "$SAMPLES/ctr-test.tsv" > ctr.rec
expect_status 2 rec-train --model sasrec -o x.recm ctr.rec 2> err
expect_grep "field 'item' is cat, not a sequence" err
expect_status 2 rec-train --model sasrec --item-field nosuch -o x.recm seq.rec 2> err
expect_grep "no field 'nosuch'" err
expect_status 2 rec-train --model sasrec --dim 32 --heads 3 -o x.recm seq.rec 2> err
expect_grep "must divide --dim" err
expect_status 2 rec-train --model sasrec --valid seq.rec -o x.recm seq.rec 2> err
expect_grep "does not apply to sasrec: it validates on each sequence.s second-to-last item" err
expect_status 2 rec-train --model fm --heads 2 -o x.recm ctr.rec 2> err
expect_grep "apply to --model sasrec" err
[ ! -e x.recm ] || fail "a failed run left x.recm"
expect_status 2 rec-eval -m s.recm ctr.rec 2> err
expect_grep "not a sequence" err
expect_status 2 rec-eval -m s.recm --predict seq.rec 2> err
expect_grep "do not apply" err
expect_status 2 rec-export -o x.npz s.recm 2> err
expect_grep "a sasrec model: only rec-eval and rec-rank read it" err
rec-train -q --model lr -o lr.recm ctr.rec
expect_status 2 rec-eval -m lr.recm --keep-seen ctr.rec 2> err
expect_grep "need sasrec" err

# rec-eval against NumPy, with and without the history's items
/usr/bin/python3 -c 'import numpy' 2> /dev/null || { echo "skipped: no numpy" >&2; exit 77; }
zstd -d -q -c s.recm > s.tar
rec-cat seq.rec > seq.txt
rec-eval -m s.recm --ranks --top-k 5 seq.rec > ranks.tsv 2> /dev/null
rec-eval -m s.recm --json --top-k 5 seq.rec > m.json
/usr/bin/python3 "$top_srcdir/tests/seq-ref.py" s.tar seq.txt ranks.tsv m.json 5
rec-eval -m s.recm --ranks --keep-seen seq.rec > ranks.tsv 2> /dev/null
rec-eval -m s.recm --json --keep-seen seq.rec > m.json
/usr/bin/python3 "$top_srcdir/tests/seq-ref.py" s.tar seq.txt ranks.tsv m.json 10 keep
