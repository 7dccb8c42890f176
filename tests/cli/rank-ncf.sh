# rec-rank top-K lists of an ncf model against brute force: every user x
# catalogue item pair scored on its own by rec-eval --predict, sorted
# (tests/rank-brute.py); the users' items left out or kept, --users with
# an unknown user, a repeat and a user the input lacks, K beyond the
# catalogue, --similar, rec-eval --top-k over the same lists, bad input.
. "$TESTDIR/lib.sh"
samples_ctr
brute() { /usr/bin/python3 "$top_srcdir/tests/rank-brute.py" "$@" >&2; }
rec-train -q --model ncf --threads 1 --seed 1 --dim 8 --hidden 32,16 -o ncf.recm train.rec
head -n 201 "$SAMPLES/ctr-test.tsv" > small.tsv
rec-hash $cols small.tsv > small.rec
tail -n +2 small.tsv | cut -f 3,4 > seen.tsv

# the catalogue: the input's items the model has rows for (training's)
tail -n +2 "$SAMPLES/ctr-train.tsv" | cut -f 4 | sort -u > trained
cut -f 2 seen.tsv | sort -u | comm -12 - trained > items
# a user of training the input lacks, an unknown one, a repeat, a blank
cut -f 1 seen.tsv | sort -u > users
lacks=$(tail -n +2 "$SAMPLES/ctr-train.tsv" | cut -f 3 | sort -u | comm -23 - users | head -n 1)
first=$(head -n 1 seen.tsv | cut -f 1)
printf '%s\nnobody\n\n%s\n%s\n' "$lacks" "$first" "$lacks" > listed
{ cat users; echo "$lacks"; echo nobody; } > all-users
cat all-users items > names

# every pair, scored by rec-eval --predict
{ head -n 1 small.tsv
  awk -F'\t' 'NR == FNR { i[++n] = $1; next } { for (j = 1; j <= n; j++) printf "0\t0\t%s\t%s\t\t\tc1\t1\t\t1\n", $1, i[j] }' items all-users
} > pairs.tsv
rec-hash $cols pairs.tsv > pairs.rec
rec-eval -m ncf.recm --predict pairs.rec 2> /dev/null | cut -f 1 > p
tail -n +2 pairs.tsv | cut -f 3,4 | paste - p > scores.tsv

rec-rank -m ncf.recm -k 5 --names names small.rec > top.tsv
brute scores.tsv seen.tsv top.tsv 5
rec-rank -m ncf.recm -k 7 --keep-seen --names names small.rec > keep.tsv
brute scores.tsv seen.tsv keep.tsv 7 keep
# K beyond the catalogue: every item left, with a warning
ni=$(wc -l < items)
rec-rank -m ncf.recm -k 100000 --names names -o all.tsv small.rec 2> err
expect_grep "K = 100000 is more than the $ni catalogue items" err
brute scores.tsv seen.tsv all.tsv 100000
# --users: the list's users in its order, printed as given, each once; the
# unknown one ranked as the model scores a user it knows nothing about
rec-rank -m ncf.recm -k 4 --users listed --names names -o listed.tsv small.rec 2> err
expect_grep "1 of 3 users have no feature the model knows" err
brute scores.tsv seen.tsv listed.tsv 4 users=listed
expect_lines 12 listed.tsv
# without --names the listed users still print as given
rec-rank -m ncf.recm -k 2 --users listed small.rec 2> /dev/null | cut -f 1 | uniq > u
printf '%s\nnobody\n%s\n' "$lacks" "$first" | cmp - u || fail "--users names"

# --similar: the catalogue's items by the cosine of their rows, never
# themselves, best first
rec-rank -m ncf.recm --similar -k 3 small.rec > sim.tsv
expect_lines $((3 * ni)) sim.tsv
awk -F'\t' '$1 == $2 || $4 > 1.000001 || $4 < -1.000001 || ($1 == q && $4 > s + 1e-6) { exit 1 }
	{ q = $1; s = $4 }' sim.tsv || fail "--similar lists"
expect_status 2 rec-rank -m ncf.recm --similar --all-items 2> err
expect_grep "keeps no catalogue" err

# rec-eval --top-k: the metrics of the lists rec-rank keeps (no --seen:
# nothing left out), over the input's positives
rec-eval -m ncf.recm --top-k 7 --json small.rec > m.json
tail -n +2 small.tsv | awk -F'\t' '$1 > 0 { print $3 "\t" $4 }' > truth.tsv
/usr/bin/python3 - m.json truth.tsv keep.tsv items <<'PY'
import json, math, sys
got = json.load(open(sys.argv[1]))
truth, lists = {}, {}
for line in open(sys.argv[2]):
    u, i = line.rstrip("\n").split("\t")
    truth.setdefault(u, set()).add(i)
for line in open(sys.argv[3]):
    u, i, r, s = line.rstrip("\n").split("\t")
    lists.setdefault(u, []).append(i)
catalogue = {line.rstrip("\n") for line in open(sys.argv[4])}
nitems = len(catalogue)
k, n, prec, ndcg, shown = 7, 0, 0.0, 0.0, set()
for u, t in truth.items():
    t &= catalogue   # items without a row make no truth
    if not t:
        continue
    hits = [1.0 if i in t else 0.0 for i in lists[u]]
    prec += sum(hits) / k
    ndcg += sum(h / math.log2(r + 2) for r, h in enumerate(hits)) / sum(1 / math.log2(r + 2) for r in range(min(k, len(t))))
    shown.update(lists[u])
    n += 1
want = {"users": n, "precision@7": prec / n, "ndcg@7": ndcg / n, "coverage": len(shown) / nitems}
for key, w in want.items():
    assert abs(got[key] - w) <= 1e-5, "%s: %s, want %s" % (key, got[key], w)
assert got["model"] == "ncf" and n > 5, got
print("rec-eval --top-k agrees with rec-rank: %s" % want, file=sys.stderr)
PY
rec-eval -m ncf.recm --top-k 5 --seen train.rec --popularity --json small.rec > p.json
expect_grep '"model": "popularity"' p.json

# bad input: a clear message, exit 2, no output left behind
expect_status 2 rec-rank -m ncf.recm --users nosuch.txt -o out.tsv small.rec 2> err
expect_grep "nosuch.txt" err
[ ! -e out.tsv ] || fail "a failed run left out.tsv"
head -c 2000 test.rec > cut.rec
expect_status 2 rec-rank -m ncf.recm -o out.tsv small.rec cut.rec 2> err
expect_grep "cut.rec" err
[ ! -e out.tsv ] || fail "a failed run left out.tsv"
expect_status 2 rec-rank -m ncf.recm --rerank --users listed small.rec 2> err
expect_grep "applies to top-K lists" err
rec-train -q --model fm -o fm.recm train.rec
expect_status 2 rec-rank -m fm.recm small.rec 2> err
expect_grep "needs a lightfm or ncf model, not fm" err
expect_status 2 rec-eval -m fm.recm --top-k 5 small.rec 2> err
expect_grep "needs a lightfm or ncf model, not fm" err

# --format stream: the same lists as a hashed stream rec-cat reads
rec-rank -m ncf.recm -k 5 small.rec > ids.tsv
rec-rank -m ncf.recm -k 5 --format stream -o top.rec small.rec
rec-cat top.rec | sed 's/^[^\t]*\tuser=//; s/\titem=/\t/; s/\trank=/\t/; s/\tscore=.*//' > got
cut -f 1-3 ids.tsv | cmp - got || fail "--format stream lists differ from TSV"
expect_status 2 rec-rank -m ncf.recm --format stream --names names small.rec 2> err
expect_grep "applies to --format tsv" err
expect_status 2 rec-rank -m ncf.recm --format json small.rec 2> err
expect_grep "unknown --format 'json'" err
