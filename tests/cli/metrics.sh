# AUC (ties included), logloss and group AUC agree with scikit-learn.
. "$TESTDIR/lib.sh"
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || { echo "skipped: python3-sklearn not installed" >&2; exit 77; }
for seed in 1 2 3; do
	/usr/bin/python3 - "$seed" > data.txt 3> want.txt <<'PY'
import sys, os
import numpy as np
from sklearn.metrics import roc_auc_score, log_loss
rng = np.random.default_rng(int(sys.argv[1]))
n = 5000
group = rng.integers(0, 200, n)
label = (rng.random(n) < 0.3).astype(int)
# rounded scores: many ties, the case AUC implementations get wrong
score = np.round(np.clip(rng.random(n) * 0.6 + label * 0.3, 0, 1), 2).astype(np.float32)
score[:50] = 0.0  # probabilities at the clip
score[50:60] = 1.0
for s, l, g in zip(score, label, group):
    print(f"{s:.9g} {l} {g}")
gauc, w = 0.0, 0
for g in np.unique(group):
    m = group == g
    if label[m].min() != label[m].max():
        gauc += roc_auc_score(label[m], score[m]) * m.sum()
        w += m.sum()
out = os.fdopen(3, "w")
out.write(f"{roc_auc_score(label, score):.10f}\n{log_loss(label, score.astype(np.float64)):.10f}\n{gauc / w:.10f}\n")
PY
	"$top_builddir/tests/metrics-ref" < data.txt > got.txt
	/usr/bin/python3 - <<'PY'
want = [float(x) for x in open("want.txt").read().split()]
got = dict(l.split() for l in open("got.txt"))
for name, w in zip(["auc", "logloss", "gauc"], want):
    g = float(got[name])
    assert abs(g - w) < 1e-6, (name, g, w)
PY
done
