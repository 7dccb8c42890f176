# lightfm on real data (skipped without ../shared/data): the MovieLens-1M
# file, a rating of 4 or more a positive, the last 20% by time held out;
# three epochs of WARP give top-10 lists with a higher NDCG than the
# popularity ranking under the same protocol, and lists for every user.
. "$TESTDIR/lib.sh"
skip_unless_shared movielens-1m/ratings.dat.users1-2999.gz
zcat "$SHARED/movielens-1m/ratings.dat.users1-2999.gz" | sort -t : -k 7,7n -s > sorted
n=$(wc -l < sorted)
head -n $((n - n / 5)) sorted > train.txt
tail -n $((n / 5)) sorted > test.txt
set -- -F '::' --columns user,item,rating,time --label 'rating>=4' --categorical user,item
rec-hash "$@" train.txt > train.rec
rec-hash "$@" test.txt > test.rec
rec-train -q --model lightfm --epochs 3 --seed 1 -o l.recm train.rec
ndcg() { sed 's/.*"ndcg@10": \([0-9.]*\).*/\1/' "$1"; }
rec-eval -m l.recm --top-k 10 --seen train.rec --json test.rec > l.json 2> /dev/null
rec-eval -m l.recm --top-k 10 --seen train.rec --popularity --json test.rec > p.json 2> /dev/null
l=$(ndcg l.json)
p=$(ndcg p.json)
echo "MovieLens-1M NDCG@10: lightfm $l, popularity $p" >&2
awk -v a="$l" -v b="$p" 'BEGIN { exit !(a >= b + 0.01) }' || fail "lightfm $l does not beat popularity $p"
users=$(cut -d : -f 1 train.txt | sort -u | wc -l)
rec-rank -m l.recm -k 10 train.rec > top.tsv
[ "$(cut -f 1 top.tsv | uniq | wc -l)" -eq "$users" ] || fail "not every user has a list"
expect_lines $((users * 10)) top.tsv
