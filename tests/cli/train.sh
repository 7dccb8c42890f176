# Training finds the planted truth of data/samples/ctr-*.tsv: logistic
# regression cannot see the gender x category cross, a factorization machine
# learns it, and logistic regression given the cross as a feature gets close
# to the Bayes-optimal AUC the generator knows.
. "$TESTDIR/lib.sh"
samples_ctr
rec-hash $cols --cross category,gender "$SAMPLES/ctr-train.tsv" > trainx.rec
rec-hash $cols --cross category,gender "$SAMPLES/ctr-test.tsv" > testx.rec

# valid AUC after the last epoch
auc_of() { rec-train --seed 1 "$@" 2>&1 >/dev/null | sed -n 's/.*valid auc \([0-9.]*\).*/\1/p' | tail -n 1; }
lr=$(auc_of --model lr --epochs 2 --valid test.rec train.rec)
fm=$(auc_of --model fm --epochs 2 --valid test.rec train.rec)
lrx=$(auc_of --model lr --epochs 2 --valid testx.rec trainx.rec)
echo "bayes $bayes nocross $nocross: lr $lr fm $fm lr+cross $lrx" >&2
awk -v b="$bayes" -v n="$nocross" -v lr="$lr" -v fm="$fm" -v lrx="$lrx" 'BEGIN {
	if (lr == "" || fm == "" || lrx == "") exit 1
	if (lr > n + 0.01) exit 1          # no cross, no gain from it
	if (fm < n + 0.04) exit 1          # FM finds the cross ...
	if (lrx < b - 0.02) exit 1         # ... and so does LR handed the cross
	if (lrx > b + 0.01 || fm > b + 0.01) exit 1  # nobody beats Bayes
}' || fail "AUCs off: bayes $bayes nocross $nocross lr $lr fm $fm lr+cross $lrx"

# in mini-batches (the batch's mean loss, one update per distinct row) the
# FM finds the cross too (small batches: 40K rows are few steps of large ones)
fmb=$(auc_of --model fm --batch 8 --lr 0.1 --epochs 2 --valid test.rec train.rec)
echo "fm --batch 8: $fmb" >&2
awk -v n="$nocross" -v b="$bayes" -v f="$fmb" 'BEGIN { exit !(f != "" && f >= n + 0.04 && f <= b + 0.01) }' ||
	fail "fm --batch 8 AUC $fmb: bayes $bayes, nocross $nocross"

# fp16 rows cost 32 bytes less per row at dim 8 and lose little
fm16=$(auc_of --model fm --epochs 2 --row-precision fp16 --valid test.rec train.rec)
awk -v a="$fm" -v b="$fm16" 'BEGIN { exit !(b != "" && b > a - 0.01) }' || fail "fp16 FM AUC $fm16 vs fp32 $fm"

# same seed, same numbers; a raw stream is refused
a=$(rec-train --seed 3 --valid test.rec train.rec 2>&1 | grep 'valid auc')
b=$(rec-train --seed 3 --valid test.rec train.rec 2>&1 | grep 'valid auc')
[ "$a" = "$b" ] || fail "not reproducible"
rec-cross $cols "$SAMPLES/ctr-test.tsv" > raw.rec
expect_status 2 rec-train raw.rec 2> err
expect_grep "needs a hashed stream" err
expect_status 2 rec-train --valid testx.rec train.rec 2> err
expect_grep "is not the model's" err

# save -> load -> score gives the very AUC training saw on the same stream
rec-train --model fm --epochs 2 --seed 1 --valid test.rec -o fm.recm train.rec 2> /dev/null
tar -tf fm.recm | head -n 1 | grep -qx MANIFEST || fail "MANIFEST is not the first member"
saved=$(tar -xOf fm.recm MANIFEST | sed -n 's/^train.valid_auc = //p')
rec-eval -m fm.recm --json test.rec > eval.json
grep -q "\"auc\": $saved," eval.json || fail "rec-eval AUC differs from training's $saved: $(cat eval.json)"
# --predict: one score per record; scikit-learn agrees on the AUC
rec-eval -m fm.recm --predict test.rec > pred.tsv 2> eval.txt
expect_lines 10000 pred.tsv
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
	/usr/bin/python3 - "$saved" <<'PY'
import sys
from sklearn.metrics import roc_auc_score
rows = [l.split('\t') for l in open('pred.tsv')]
auc = roc_auc_score([float(r[1]) for r in rows], [float(r[0]) for r in rows])
assert abs(auc - float(sys.argv[1])) < 2e-6, (auc, sys.argv[1])
PY
fi
# release gates, schema and file checks
expect_status 0 rec-eval -m fm.recm --min-auc 0.7 test.rec > /dev/null
expect_status 1 rec-eval -m fm.recm --min-auc 0.95 test.rec > /dev/null
expect_status 2 rec-eval -m fm.recm testx.rec > /dev/null 2> err
expect_grep "is not the model's" err
head -c 300 fm.recm > cut.recm
expect_status 2 rec-eval -m cut.recm test.rec > /dev/null 2> err
expect_grep "cut.recm" err
expect_status 2 rec-eval -m train.rec test.rec > /dev/null 2> err
expect_grep "train.rec" err
expect_status 2 rec-eval test.rec 2> err
expect_grep "name the model with -m" err
