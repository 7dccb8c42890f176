# rec-eval --scaling-law: noisy points of a known law give it back, with the
# same E, A, alpha, standard errors and predictions of the held-out sizes as
# SciPy's curve_fit (tests/law-ref.py); the SVG is XML with every point;
# bench/scaling.sh trains a ladder of sasrec sizes end to end on the sample
# sequences; bad points and options are named, and nothing is half-written.
. "$TESTDIR/lib.sh"
# close_to A B TOL : |A - B| <= TOL * max(1, |B|)
close_to() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; m = b < 0 ? -b : b
		if (d < 0) d = -d; if (m < 1) m = 1; exit !(d <= t * m) }'
}
key() { sed "s/.*\"$1\": \([-0-9.e+]*\).*/\1/" "$2"; }

# L = 2.5 + 40 N^-0.35 times a fixed pattern of +-0.3% errors
awk 'BEGIN { print "params\tloss"; for (i = 0; i < 8; i++) { n = 1e4 * 2.25 ^ i
	printf "%d\t%.6f\n", n, (2.5 + 40 * n ^ -0.35) * (1 + 0.003 * ((i * 7) % 5 - 2) / 2) } }' > pts.tsv
rec-eval --scaling-law --json --hold-out 0 pts.tsv > all.json
close_to "$(key alpha all.json)" 0.35 0.05 || fail "alpha $(key alpha all.json), planted 0.35"
close_to "$(key E all.json)" 2.5 0.05 || fail "E $(key E all.json), planted 2.5"

rec-eval --scaling-law --json pts.tsv > fit.json
expect_grep '"points": 8, "fitted": 6' fit.json
if /usr/bin/python3 "$top_srcdir/tests/law-ref.py" pts.tsv 2 > ref.txt; then
	set -- $(head -n 1 ref.txt)
	for k in E A alpha se_E se_A se_alpha; do
		close_to "$(key $k fit.json)" "$1" 1e-4 || fail "$k: $(key $k fit.json), SciPy $1"
		shift
	done
	# the held-out predictions, in order
	sed 's/}, {/\n/g' fit.json | sed -n 's/.*"predicted": \([-0-9.e+]*\).*/\1/p' > pred.txt
	cut -d ' ' -f 2 ref.txt | tail -n +2 | paste - pred.txt > both.txt
	expect_lines 2 both.txt
	while read -r want got; do
		close_to "$got" "$want" 1e-5 || fail "held-out prediction $got, SciPy $want"
	done < both.txt
else
	echo "skipped the SciPy comparison: no python3-scipy" >&2
fi
# the text table: the held-out sizes predicted within 2% of their losses
rec-eval --scaling-law pts.tsv > fit.txt
expect_grep '^points  *8, fitted 6' fit.txt
awk '/^held_out_N/ { on = 1; next } on { e = $4; sub(/%/, "", e); if (e < 0) e = -e
	if (e > 2) exit 1; n++ } END { exit n != 2 }' fit.txt || fail "held-out errors: $(cat fit.txt)"
# two files and stdin are one set of points
head -n 5 pts.tsv > a.tsv
tail -n 4 pts.tsv > b.tsv
rec-eval --scaling-law --json a.tsv - < b.tsv > ab.json
cmp fit.json ab.json || fail "points split over inputs fit differently"

# the plot: XML, 8 points, the held-out two hollow
rec-eval --scaling-law --plot law:fit.svg pts.tsv > /dev/null
[ "$(grep -c '<circle' fit.svg)" -eq 10 ] || fail "fit.svg: not 8 points and a 2-entry legend"
[ "$(grep -c 'fill="white" stroke="#d62728"' fit.svg)" -eq 3 ] || fail "fit.svg: held-out points"
if /usr/bin/python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' fit.svg 2> /dev/null; then :
else fail "fit.svg is not XML"; fi

# a ladder of sasrec sizes end to end on the sample sequences
tab=$(printf '\t')
sort -t "$tab" -k1,1 -s "$SAMPLES/seq.tsv" |
	rec-cross --columns user,item,rating,time --group-by user --order-by time --categorical item |
	rec-hash > seq.rec
SCALING_LADDER="4:1 6:1 8:1 12:1 16:1 48:2" SCALING_EPOCHS=2 \
	SCALING_ARGS="--heads 1 --batch 32 --lr 0.005" \
	sh "$top_srcdir/bench/scaling.sh" "$top_builddir/tools" ladder seq.rec > /dev/null 2> ladder.err
expect_lines 7 ladder/points.tsv
awk -F '\t' 'NR > 1 { if (NR == 2) lo = $1; hi = $1; if (!($2 > 0)) exit 1 }
	END { exit !(hi >= 100 * lo) }' ladder/points.tsv || fail "ladder: $(cat ladder/points.tsv)"
expect_grep '"points": 6, "fitted": 4' ladder/law.json
[ -s ladder/law.svg ] || fail "no ladder/law.svg"

# bad points and options
printf 'N\tloss\n100\t3\n200\tthree\n' > bad.tsv
expect_status 2 rec-eval --scaling-law bad.tsv 2> err
expect_grep "^rec-eval: bad.tsv:3: expected a size and a loss" err
printf '100\t3\n-5\t2\n' > neg.tsv
expect_status 2 rec-eval --scaling-law neg.tsv 2> err
expect_grep "neg.tsv:2: size -5 and loss 2 must both be positive" err
head -n 4 pts.tsv > few.tsv
expect_status 2 rec-eval --scaling-law --plot law:few.svg few.tsv 2> err
expect_grep "3 points: a law needs 3 to fit besides the 2 held out" err
[ ! -e few.svg ] || fail "a failed fit left few.svg"
expect_status 2 rec-eval --scaling-law nosuch.tsv 2> err
expect_grep "cannot open 'nosuch.tsv'" err
expect_status 2 rec-eval --scaling-law -m x.recm pts.tsv 2> err
expect_grep "only --hold-out, --plot law:<file> and --json apply" err
expect_status 2 rec-eval --hold-out 1 -m x.recm pts.tsv 2> err
expect_grep "hold-out goes with --scaling-law" err
expect_status 2 rec-eval --scaling-law --plot roc.svg pts.tsv 2> err
expect_grep "draws law:<file> plots only" err
expect_status 2 rec-eval -m x.recm --plot law.svg pts.tsv 2> err
expect_grep "goes with --scaling-law" err
