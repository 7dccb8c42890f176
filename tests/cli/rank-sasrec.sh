# rec-rank on a sasrec model, over the planted sequences of
# data/samples/seq.tsv and two more users: one whose history holds items
# the model never saw among known ones, one with none it knows. Each
# user's top K after its whole history, with and without its items, the
# nearest items by cosine and re-ranked candidates agree with an
# independent NumPy forward pass (tests/seq-ref.py); K above the
# catalogue, --users, --names and --format stream; bad input is named.
# rec-eval --top-k --seen measures the lists against a held-out period.
. "$TESTDIR/lib.sh"
tab=$(printf '\t')
# the samples' users, then "zmix" (known and unknown items) and "znew" (unknown only)
{ cat "$SAMPLES/seq.tsv"; printf 'zmix\ti5\t5\t1\nzmix\tnosuch1\t5\t2\nzmix\ti7\t4\t3\n'
  printf 'znew\tnosuch2\t5\t1\nznew\tnosuch3\t5\t2\n'; } | sort -t "$tab" -k1,1 -s > all.tsv
set -- --columns user,item,rating,time --group-by user --order-by time --categorical item
grep -v '^z' all.tsv | rec-cross "$@" | rec-hash > seq.rec
rec-cross "$@" all.tsv > raw.rec
rec-hash < raw.rec > all.rec
rec-train -q --model sasrec --dim 16 --batch 32 --lr 0.005 --loss softmax --epochs 3 --seed 1 \
	-o s.recm seq.rec

# every user's top 10 (502 users, 300 items); the one with no known item warned of
rec-rank -m s.recm all.rec > top.tsv 2> err
expect_lines 5020 top.tsv
expect_grep "1 of 502 users have no item the model knows" err
rec-rank -m s.recm --keep-seen -k 7 all.rec > keep.tsv 2> /dev/null
# K above the catalogue: every item left, warned
rec-rank -m s.recm -k 1000 --keep-seen all.rec > every.tsv 2> err
expect_lines 150600 every.tsv
expect_grep "K = 1000 is more than the 300 catalogue items" err
rec-rank -m s.recm --similar --all-items -k 5 > sim.tsv
expect_lines 1500 sim.tsv
rec-rank -m s.recm --similar -k 5 all.rec > sim-in.tsv 2> err
cmp sim.tsv sim-in.tsv || fail "--similar over the input's items differs from --all-items"
expect_grep "3 history entries are items the model never saw" err
printf 'u0\ti5\nu0\ti7\nu0\tnosuch1\nzmix\ti9\nzmix\ti5\nzmix\ti7\nghost\ti5\nghost\ti9\n' > cands.tsv
rec-rank -m s.recm --rerank --candidates cands.tsv all.rec > rr.tsv 2> err
expect_lines 7 rr.tsv
expect_grep "^zmix${tab}i[0-9]*${tab}3${tab}" rr.tsv
expect_grep "1 of 3 users have no item the model knows" err
expect_grep "1 candidates name items the model has no row for" err
rec-rank -m s.recm --rerank --candidates cands.tsv -k 1 all.rec 2> /dev/null > rr1.tsv
expect_lines 3 rr1.tsv

# --users: its order, a user the input lacks gets the empty-history list;
# --names prints items by their raw values
printf 'zmix\nghost\nzmix\n\nu3\n' > users.txt
cut -f 2 all.tsv | sort -u > names.txt
rec-rank -m s.recm --users users.txt --names names.txt -k 2 all.rec > listed.tsv 2> err
expect_lines 6 listed.tsv
[ "$(cut -f 1 listed.tsv | uniq | tr '\n' ' ')" = "zmix ghost u3 " ] || fail "--users order: $(cut -f 1 listed.tsv | uniq)"
expect_grep "^u3${tab}i[0-9]*${tab}1${tab}" listed.tsv
expect_grep "1 of 3 users have no item the model knows" err
# --format stream: the same lists, the user as the group key
rec-rank -m s.recm --format stream -k 3 all.rec > top.rec 2> /dev/null
rec-cat --schema top.rec > schema
expect_grep "^group: yes" schema
rec-cat top.rec | sed 's/^[^\t]*\tgroup=\([^\t]*\)\titem=\([0-9]*\)\trank=\([0-9]*\)\t.*/\1 \2 \3/' > stream.txt
awk -F '\t' '$3 <= 3 { print $1, $2, $3 }' top.tsv | cmp - stream.txt || fail "the stream's lists differ"

# a held-out period: the last fifth of the log by time; rec-eval's metrics
# of the lists after the earlier histories (checked against NumPy below)
sort -t "$tab" -k4,4n "$SAMPLES/seq.tsv" > bytime.tsv
n=$(wc -l < bytime.tsv)
head -n $((n - n / 5)) bytime.tsv | sort -t "$tab" -k1,1 -s | rec-cross "$@" | rec-hash > hist.rec
tail -n $((n / 5)) bytime.tsv | sort -t "$tab" -k1,1 -s | rec-cross "$@" | rec-hash > test.rec
rec-train -q --model sasrec --dim 16 --batch 32 --lr 0.005 --loss softmax --epochs 3 --seed 1 \
	-o h.recm hist.rec
rec-eval -m h.recm --top-k 10 --seen hist.rec --json test.rec > h.json 2> err
expect_grep '"model": "sasrec", "k": 10, "precision@10": 0\.[0-9]' h.json
expect_grep "users have no item the model knows in --seen" err
rec-eval -m h.recm --top-k 10 --seen hist.rec --popularity --json test.rec > p.json
expect_grep '"model": "popularity"' p.json
rec-cat test.rec | sed 's/^[^\t]*\tgroup=\([^\t]*\).*/\1/' > test-users.txt
rec-rank -q -m h.recm --users test-users.txt hist.rec > h-top.tsv
expect_status 2 rec-eval -m h.recm --top-k 10 --seen hist.rec --ranks test.rec 2> err
expect_grep "apply to leave-one-out only" err

# bad input: named, exit 2, nothing written
rec-hash --header --label click --categorical user,item "$SAMPLES/ctr-test.tsv" > ctr.rec
expect_status 2 rec-rank -m s.recm -o x.tsv ctr.rec 2> err
expect_grep "field 'item' is cat, not a sequence" err
expect_status 2 rec-rank -m s.recm all.rec missing.rec > out 2> err
expect_grep "missing.rec" err
[ ! -s out ] || fail "lists written from part of the input"
expect_status 2 rec-rank -m s.recm --rerank all.rec 2> err
expect_grep "candidates from --candidates" err
printf 'u0\n' > short.tsv
expect_status 2 rec-rank -m s.recm --rerank --candidates short.tsv all.rec 2> err
expect_grep "short.tsv:1: expected 2 fields" err
rec-train -q --model lightfm --epochs 1 -o l.recm ctr.rec
expect_status 2 rec-rank -m l.recm --rerank --candidates cands.tsv ctr.rec 2> err
expect_grep "needs a sasrec model" err
expect_status 2 rec-rank -m s.recm --candidates cands.tsv all.rec 2> err
expect_grep "goes with --rerank" err
[ ! -e x.tsv ] || fail "a failed run left x.tsv"

# the lists against NumPy
/usr/bin/python3 -c 'import numpy' 2> /dev/null || { echo "skipped: no numpy" >&2; exit 77; }
zstd -d -q -c s.recm > s.tar
rec-cat all.rec > all.txt
rec-cat raw.rec > raw.txt
ref() { /usr/bin/python3 "$top_srcdir/tests/seq-ref.py" "$@"; }
ref --top s.tar all.txt top.tsv 10
ref --top s.tar all.txt keep.tsv 7 keep
ref --similar s.tar sim.tsv 5 all
ref --rerank s.tar all.txt raw.txt cands.tsv rr.tsv
zstd -d -q -c h.recm > h.tar
rec-cat hist.rec > hist.txt
rec-cat test.rec > test.txt
ref --heldout h.tar hist.txt test.txt h-top.tsv h.json 10
