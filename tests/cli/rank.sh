# rec-rank against an independent NumPy computation (tests/rank-ref.py, from
# the model file's tensors and rec-cat's text): top-K lists with and
# without the items users have, similar items by cosine, re-ranked
# candidates (cold-start items scored from their attributes); names;
# unknown users, K beyond the catalogue and bad input.
. "$TESTDIR/lib.sh"
samples_ctr
ref() { /usr/bin/python3 "$top_srcdir/tests/rank-ref.py" "$@" >&2; }
feat="--user-features gender,age --item-features category,tags"
rec-train -q --model lightfm $feat --dim 8 --epochs 2 -o l.recm train.rec
zstd -d -q -c l.recm > l.tar
rec-cat test.rec > test.txt

rec-rank -m l.recm -k 10 test.rec > top.tsv
ref top l.tar test.txt top.tsv 10
rec-rank -m l.recm -k 7 --keep-seen test.rec > keep.tsv
ref top l.tar test.txt keep.tsv 7 keep
rec-rank -m l.recm --similar --all-items -k 5 > sim.tsv
ref similar l.tar /dev/null sim.tsv 5
rec-rank -m l.recm --rerank test.rec > rerank.tsv
ref rerank l.tar test.txt rerank.tsv 0
# --similar for the items of a stream: the same lists, those items only
rec-rank -m l.recm --similar -k 5 test.rec > sim2.tsv
cut -f 1 sim2.tsv | sort -u > q2
[ "$(wc -l < q2)" -gt 100 ] || fail "too few items in sim2.tsv"
# (the same items and ranks; GEMM over other blocks may round the last digit)
awk 'NR == FNR { q[$1]; next } $1 in q' q2 sim.tsv | cut -f 1-3 | sort > a
cut -f 1-3 sim2.tsv | sort > b
cmp a b || fail "--similar over test.rec differs from --all-items"

# names: the raw values, hashed as the model hashes them
tail -n +2 "$SAMPLES/ctr-test.tsv" | cut -f 3,4 | tr '\t' '\n' > names
rec-rank -m l.recm -k 3 --names names -o named.tsv test.rec
expect_grep "^u[0-9]*	i[0-9]*	1	" named.tsv
[ "$(wc -l < named.tsv)" -eq "$(head -n "$(wc -l < named.tsv)" top.tsv | wc -l)" ] || fail "named lines"
! grep -q "^[0-9]" named.tsv || fail "a user without its name"

# an unknown user (no feature with a row) ranks by item bias, with a
# warning; K beyond the catalogue gives every item left, with a warning
printf 'click\tp\tuser\titem\tgender\tage\tcategory\tprice\ttags\thour\n0\t0\tnobody\ti1\t\t\tc1\t1\t\t1\n' > odd.tsv
rec-hash $cols odd.tsv > odd.rec
rec-cat odd.rec > odd.txt
n=$(tar -xOf l.recm MANIFEST | sed -n 's/^tensor.items.ids = u64 //p')
rec-rank -m l.recm -k 100000 odd.rec > odd.tsv 2> err
expect_grep "1 of 1 users have no feature" err
expect_grep "K = 100000 is more than the $n catalogue items" err
expect_lines $((n - 1)) odd.tsv
ref top l.tar odd.txt odd.tsv 100000

# --rerank of an ncf model: its probabilities, those rec-eval predicts,
# in order within each user
rec-train -q --model ncf --threads 1 --seed 1 -o ncf.recm train.rec
rec-rank -m ncf.recm --rerank test.rec > ncf.tsv
rec-eval -m ncf.recm --predict test.rec 2> /dev/null | cut -f 1 | sort -g > want
cut -f 4 ncf.tsv | sort -g > got
expect_lines 10000 got
paste want got | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 2e-6) exit 1 }' ||
	fail "ncf --rerank scores are not rec-eval's"
awk -F'\t' '$1 == u && $4 > s + 0 { exit 1 } { u = $1; s = $4 }' ncf.tsv || fail "ncf --rerank out of order"
[ "$(cut -f 1 ncf.tsv | uniq | wc -l)" -eq "$(cut -f 1 ncf.tsv | sort -u | wc -l)" ] ||
	fail "a user's candidates are not together"

# a model whose catalogue is empty (no record had an item), a test period
# without positives: empty lists, metrics undefined (null), no crash
printf 'u1\t\t1\nu2\t\t0\n' | rec-hash --columns user,item,click --label click --categorical user,item > noitem.rec
rec-train -q --model lightfm -o empty.recm noitem.rec
tar -xOf empty.recm MANIFEST | grep -q '^tensor.items.ids = u64 0$' || fail "catalogue not empty"
rec-rank -m empty.recm noitem.rec > e.tsv 2> err
[ ! -s e.tsv ] || fail "lists from an empty catalogue"
expect_grep "more than the 0 catalogue items" err
rec-rank -m empty.recm --similar --all-items > e.tsv 2> err
[ ! -s e.tsv ] || fail "neighbours from an empty catalogue"
rec-eval -m empty.recm --top-k 5 --json noitem.rec > e.json 2> err
expect_grep "nothing to measure" err
/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["users"] == 0 and d["ndcg@5"] is None))' e.json ||
	fail "metrics of nothing: $(cat e.json)"

# bad input: a clear message, exit 2, no output left behind
expect_status 2 rec-rank -m nosuch.recm test.rec 2> err
expect_grep "nosuch.recm" err
rec-train -q --model fm -o fm.recm train.rec
expect_status 2 rec-rank -m fm.recm test.rec 2> err
expect_grep "needs a lightfm or ncf model, not fm" err
head -c 3000 test.rec > cut.rec
expect_status 2 rec-rank -m l.recm -o out.tsv test.rec cut.rec 2> err
expect_grep "cut.rec" err
[ ! -e out.tsv ] || fail "a failed run left out.tsv"
expect_status 2 rec-rank -m l.recm -k 0 test.rec 2> err
expect_grep "for --top" err
expect_status 2 rec-rank -m l.recm --all-items test.rec 2> err
expect_grep "goes with --similar" err
rec-hash --seed 9 $cols "$SAMPLES/ctr-test.tsv" > seed9.rec
expect_status 2 rec-rank -m l.recm seed9.rec 2> err
expect_grep "is not the model's" err

# rec-eval --top-k: ranking metrics of the lists against the test clicks,
# the training items left out, as NumPy computes them; and the popularity
# baseline under the same protocol
rec-cat train.rec > train.txt
rec-eval -m l.recm --top-k 10 --seen train.rec --json test.rec > m.json
ref metrics l.tar test.txt train.txt m.json 10
rec-eval -m l.recm --top-k 5 --seen train.rec --popularity --json test.rec > p.json
ref metrics l.tar test.txt train.txt p.json 5 popularity
# K beyond the catalogue: every item left, precision still over K
rec-eval -m l.recm --top-k 5000 --seen train.rec --json test.rec > big.json
ref metrics l.tar test.txt train.txt big.json 5000
rec-eval -m l.recm --top-k 10 --seen train.rec test.rec > m.txt
expect_grep "^ndcg@10 *0\.[0-9]*$" m.txt
expect_grep "^users *[0-9]*$" m.txt
expect_status 2 rec-eval -m fm.recm --top-k 10 test.rec 2> err
expect_grep "needs a lightfm or ncf model" err
expect_status 2 rec-eval -m l.recm --top-k 10 --predict test.rec 2> err
expect_grep "do not apply" err
expect_status 2 rec-eval -m l.recm --seen train.rec test.rec 2> err
expect_grep "go with --top-k" err
