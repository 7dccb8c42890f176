# rec-eval --plot draws a ROC curve and a reliability diagram as standalone
# SVG files: well-formed XML, the ROC area the reported AUC, atomic output.
. "$TESTDIR/lib.sh"
cols="--header --label click --categorical user,item,gender,age,category --numeric price --list tags:|"
rec-hash $cols "$SAMPLES/ctr-train.tsv" > train.rec
rec-hash $cols "$SAMPLES/ctr-test.tsv" > test.rec
rec-train --model fm --epochs 1 --seed 1 -o fm.recm train.rec 2> /dev/null

rec-eval -m fm.recm --json --plot roc.svg --plot calibration.svg test.rec > eval.json
auc=$(sed -n 's/.*"auc": \([0-9.]*\),.*/\1/p' eval.json)
# the kind from KIND:FILE, with --predict and stdin
rec-eval -m fm.recm --predict --plot calibration:c.svg --plot ROC:r.svg \
	< test.rec > pred.tsv 2> /dev/null
expect_lines 10000 pred.tsv
cmp roc.svg r.svg || fail "roc:FILE differs from roc.svg"
cmp calibration.svg c.svg || fail "calibration:FILE differs from calibration.svg"
ls *.tmp.* 2> /dev/null && fail "temporary files left"

if [ -x /usr/bin/python3 ]; then
	/usr/bin/python3 - "$auc" <<'PY'
import sys
import xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
auc = float(sys.argv[1])

def load(name):
    root = ET.parse(name).getroot()
    assert root.tag == NS + "svg", root.tag
    assert root.get("viewBox") == "0 0 600 600", root.get("viewBox")
    texts = [t.text for t in root.iter(NS + "text")]
    assert "0" in texts and "0.2" in texts and "1" in texts, texts
    for e in root.iter():  # nothing fetched from elsewhere
        assert not any(k.endswith("href") for k in e.attrib), e.attrib
    line = root.find(NS + "polyline")
    pts = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    return root, texts, pts

root, texts, pts = load("roc.svg")
assert "False positive rate" in texts and "True positive rate" in texts, texts
assert any("AUC %.4f" % auc in t for t in texts), (auc, texts)
assert 100 < len(pts) <= 2002, len(pts)
# back to rates: the plot area is 450 px wide at (80, 76)
xy = [((x - 80) / 450, (526 - y) / 450) for x, y in pts]
assert xy[0] == (0, 0) and xy[-1] == (1, 1), (xy[0], xy[-1])
area = sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in zip(xy, xy[1:]))
assert abs(area - auc) < 2e-3, (area, auc)

root, texts, pts = load("calibration.svg")
assert "Mean predicted probability" in texts and "Observed click rate" in texts, texts
assert any(t.startswith("20 equal-count bins of 500 records") for t in texts), texts
assert len(pts) == 20 and len(list(root.iter(NS + "circle"))) == 20
PY
fi

# a kind that cannot be told: exit 2 before scoring, naming the option
expect_status 2 rec-eval -m fm.recm --plot foo.svg test.rec > out 2> err
[ ! -s out ] || fail "bad --plot wrote to stdout"
expect_grep "^rec-eval: cannot tell the kind of --plot 'foo.svg'" err
expect_grep "Try 'rec-eval --help'" err
[ ! -e foo.svg ] || fail "foo.svg written"
expect_status 2 rec-eval -m fm.recm --plot roc:- test.rec > out 2> err
expect_grep "--plot 'roc:-'" err

# a plot that cannot be written: reported, the others drawn, exit 2
rm -f roc.svg
expect_status 2 rec-eval -m fm.recm --plot roc:nodir/x.svg --plot roc.svg test.rec > out 2> err
expect_grep "^rec-eval: cannot create 'nodir/x.svg': No such file or directory$" err
expect_grep "^auc " out
[ -s roc.svg ] || fail "the other plot was not drawn"
# ... and a failed --min-auc gate still exits 2 when a plot failed
expect_status 2 rec-eval -m fm.recm --min-auc 0.99 --plot roc:nodir/x.svg test.rec \
	> /dev/null 2> err
