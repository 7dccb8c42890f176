# The deep models on data/samples: deepfm and dlrm find the planted gender x
# category cross; one thread and one seed give the same scores twice; a
# checkpointed run resumed gives what an uninterrupted one gives; fine-tuning
# a pre-trained model beats training from scratch on a small slice; frozen
# embeddings stay as they were; early stopping keeps the best epoch.
. "$TESTDIR/lib.sh"
samples_ctr
auc() { rec-eval -m "$1" --json test.rec | sed 's/.*"auc": \([0-9.]*\).*/\1/'; }
# at_least A B D: A >= B + D
at_least() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { exit !(a + 0 >= b + d) }'; }

rec-train -q --model deepfm --threads 1 --lr 0.02 --epochs 2 --seed 1 -o deepfm.recm train.rec
rec-train -q --model dlrm --threads 1 --batch 64 --lr 0.02 --epochs 2 --seed 1 -o dlrm.recm train.rec
d=$(auc deepfm.recm)
l=$(auc dlrm.recm)
echo "bayes $bayes nocross $nocross: deepfm $d dlrm $l" >&2
at_least "$d" "$bayes" -0.01 || fail "deepfm AUC $d, Bayes $bayes"
at_least "$l" "$nocross" 0.05 || fail "dlrm AUC $l misses the cross ($nocross without)"
# given the columns that carry signal (user and item are noise the models
# would memorize), every model with interactions gets within 0.01 of Bayes
sig="--header --label click --categorical gender,age,category --numeric price --list tags:|"
rec-hash $sig "$SAMPLES/ctr-train.tsv" > sig-train.rec
rec-hash $sig "$SAMPLES/ctr-test.tsv" > sig-test.rec
for m in "fm --epochs 2" "ffm --lr 0.02 --epochs 2" "deepfm --epochs 2" "dlrm --epochs 3"; do
	rec-train -q --model $m --threads 1 --seed 1 -o sig.recm sig-train.rec
	a=$(rec-eval -m sig.recm --json sig-test.rec | sed 's/.*"auc": \([0-9.]*\).*/\1/')
	echo "signal columns, $m: $a" >&2
	at_least "$a" "$bayes" -0.01 || fail "$m: AUC $a, Bayes $bayes"
done

tar -xOf deepfm.recm MANIFEST > manifest
expect_grep "^model.kind = deepfm$" manifest
expect_grep "^model.hidden = 128,64$" manifest
expect_grep "^tensor.deep.0.weight = f32 128 112$" manifest

# --threads 1 --seed S: the same scores, twice
rec-train -q --model deepfm --threads 1 --seed 7 -o a.recm train.rec
rec-train -q --model deepfm --threads 1 --seed 7 -o b.recm train.rec
rec-eval -m a.recm --predict test.rec > a.tsv 2> /dev/null
rec-eval -m b.recm --predict test.rec > b.tsv 2> /dev/null
cmp a.tsv b.tsv || fail "two runs with --threads 1 --seed 7 differ"
# two threads share each batch: the same numbers for the same count, and
# the same model up to rounding
rec-train -q --model dlrm --threads 2 --seed 7 -o c.recm train.rec
rec-train -q --model dlrm --threads 2 --seed 7 -o d.recm train.rec
rec-train -q --model dlrm --threads 1 --seed 7 -o e.recm train.rec
rec-eval -m c.recm --predict test.rec > c.tsv 2> /dev/null
rec-eval -m d.recm --predict test.rec > d.tsv 2> /dev/null
rec-eval -m e.recm --predict test.rec > e.tsv 2> /dev/null
cmp c.tsv d.tsv || fail "two runs with --threads 2 --seed 7 differ"
paste c.tsv e.tsv | awk '{ d = $1 - $3; if (d < 0) d = -d; if (d > m) m = d } END { exit !(m < 0.01) }' ||
	fail "--threads 2 and --threads 1 disagree by more than rounding"

# checkpoint after the first half, resume over both halves: the same model
head -n 20001 "$SAMPLES/ctr-train.tsv" | rec-hash $cols > half1.rec
{ head -n 1 "$SAMPLES/ctr-train.tsv"; tail -n +20002 "$SAMPLES/ctr-train.tsv"; } | rec-hash $cols > half2.rec
# (settings other than the defaults: the checkpoint carries them)
for m in deepfm fm "fm --batch 256"; do
	# shellcheck disable=SC2086
	set -- --model $m --threads 1 --seed 2 --lr 0.03 --l2 1e-4 --dense-lr 0.002 --warmup 3000
	rec-train -q "$@" -o whole.recm half1.rec half2.rec
	rec-train -q "$@" --checkpoint ck.recm --checkpoint-every 5000 half1.rec
	tar -xOf ck.recm MANIFEST | grep -q '^train.records = 20000$' || fail "$m: checkpoint not at 20000"
	rec-train -q --threads 1 --checkpoint ck.recm --resume -o resumed.recm half1.rec half2.rec
	rec-eval -m whole.recm --predict test.rec > whole.tsv 2> /dev/null
	rec-eval -m resumed.recm --predict test.rec > resumed.tsv 2> /dev/null
	cmp whole.tsv resumed.tsv || fail "$m: resumed run differs from the uninterrupted one"
done
expect_status 2 rec-train --resume --checkpoint nothing.recm train.rec 2> err
expect_grep "nothing.recm" err

# pre-train on 38000 rows, fine-tune on the other 2000: better than those
# 2000 alone
{ head -n 1 "$SAMPLES/ctr-train.tsv"; tail -n +2002 "$SAMPLES/ctr-train.tsv"; } | rec-hash $cols > big.rec
head -n 2001 "$SAMPLES/ctr-train.tsv" | rec-hash $cols > small.rec
rec-train -q --model deepfm --threads 1 --lr 0.02 --epochs 2 --seed 1 -o pre.recm big.rec
rec-train -q --model deepfm --threads 1 --lr 0.02 --epochs 2 --seed 1 -o scratch.recm small.rec
rec-train -q --init pre.recm --threads 1 --lr 0.01 --epochs 1 -o tuned.recm small.rec
s=$(auc scratch.recm)
t=$(auc tuned.recm)
echo "fine-tuned $t, from scratch $s" >&2
at_least "$t" "$s" 0.02 || fail "fine-tuning ($t) does not beat scratch ($s)"
tar -xOf tuned.recm MANIFEST | grep -q '^train.init = pre.recm$' || fail "no train.init provenance"
# frozen embeddings: the rows come out as they went in
rec-train -q --init pre.recm --freeze embeddings --threads 1 -o frozen.recm small.rec
tar -xOf pre.recm embd.rows > pre.rows
tar -xOf frozen.recm embd.rows > frozen.rows
cmp pre.rows frozen.rows || fail "--freeze embeddings changed rows"
tar -xOf pre.recm deep.0.weight > pre.w
tar -xOf frozen.recm deep.0.weight > frozen.w
! cmp -s pre.w frozen.w || fail "the dense part did not train"
expect_status 2 rec-train --freeze embeddings train.rec 2> err
expect_grep "needs --init" err
rec-train -q --model fm -o fm.recm small.rec
expect_status 2 rec-train --init fm.recm --freeze dense small.rec 2> err
expect_grep "applies to the deep models" err

# early stopping: overfitting starts after two epochs
rec-train --model deepfm --threads 1 --lr 0.02 --epochs 8 --patience 1 --valid test.rec \
	-o early.recm train.rec 2> log
expect_grep "stopping after epoch" log
best=$(sed -n 's/.*valid auc [0-9.]* logloss \([0-9.]*\).*/\1/p' log | sort -n | head -n 1)
kept=$(tar -xOf early.recm MANIFEST | sed -n 's/^train.valid_logloss = //p')
[ "$(printf '%.4f' "$kept")" = "$best" ] || fail "early-stopped model has logloss $kept, the best epoch $best"

# the schema and hash seed travel with the model
rec-hash $cols --seed 9 "$SAMPLES/ctr-test.tsv" > seed9.rec
expect_status 2 rec-eval -m deepfm.recm seed9.rec 2> err
expect_grep "is not the model's" err
expect_status 2 rec-train --model ncf --user-field nobody train.rec 2> err
expect_grep "ncf needs" err

# one class only: the AUC is undefined, null in the JSON (which stays JSON)
awk -F'\t' 'NR == 1 || $1 == 0' "$SAMPLES/ctr-test.tsv" | head -n 200 | rec-hash $cols > neg.rec
rec-eval -m deepfm.recm --json neg.rec > neg.json
/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["auc"] is None and d["model"] == "deepfm" and d["records"] == 199))' neg.json ||
	fail "one-class JSON: $(cat neg.json)"

# a flipped bit in a tensor is caught by its checksum (the archive has none)
zstd -d -q -c deepfm.recm > m.tar
/usr/bin/python3 - m.tar <<'PY'
import sys, tarfile
path = sys.argv[1]
with tarfile.open(path) as t:
    off = t.getmember("deep.0.weight").offset_data
with open(path, "r+b") as f:
    f.seek(off + 100)
    b = f.read(1)
    f.seek(off + 100)
    f.write(bytes([b[0] ^ 1]))
PY
zstd -q -c m.tar > damaged.recm
expect_status 2 rec-eval -m damaged.recm test.rec 2> err
expect_grep "tensor 'deep.0.weight' is damaged" err
tar -xOf deepfm.recm MANIFEST | grep -q '^checksum.embd.rows = [0-9a-f]\{16\}$' || fail "no checksum.embd.rows"

# options that do not apply are named, not silently dropped
rec-train -q --model deepfm --optimizer ftrl --threads 1 -o w.recm small.rec 2> err
expect_grep "apply to lr, fm and ffm" err
rec-train -q --init w.recm --dim 4 --threads 1 -o w2.recm small.rec 2> err
expect_grep "come from --init" err
