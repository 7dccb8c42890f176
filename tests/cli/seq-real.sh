# sasrec on real data (skipped without ../shared/data): the raw
# '::'-separated MovieLens-1M ratings of users 1-2999 go through sort,
# rec-cross --group-by user --order-by time and rec-hash into one
# sequence per user; a small sasrec (1 block, dim 32, 10 epochs of BCE
# with one negative, a few seconds) beats popularity clearly on the
# leave-one-out test items, over all items and against 100 sampled
# negatives. Popularity is computed here with awk from rec-cat: items
# ranked by their count in the users' histories, the history's items left
# out, as rec-eval does for the model.
. "$TESTDIR/lib.sh"
skip_unless_shared movielens-1m/ratings.dat.users1-2999.gz
zcat "$SHARED/movielens-1m/ratings.dat.users1-2999.gz" | sort -t : -k 1,1n -s \
  | rec-cross -F '::' --columns user,item,rating,time --group-by user --order-by time --categorical item \
  | rec-hash > seq.rec
rec-train -q --model sasrec --dim 32 --heads 1 --blocks 1 --max-len 50 --batch 64 --lr 0.005 \
	--epochs 10 --seed 1 -o s.recm seq.rec
rec-eval -m s.recm --json seq.rec > s.json
expect_grep '"users": 2999, "skipped": 0' s.json

# popularity: "full-HR@10 sampled-HR@10" (its own 100 uniform negatives a user)
rec-cat seq.rec | awk '
{
	n[NR] = 0
	for (i = 2; i <= NF; i++) if ($i ~ /^item=/) it[NR, ++n[NR]] = substr($i, 6)
	for (j = 1; j < n[NR]; j++) cnt[it[NR, j]]++
	for (j = 1; j <= n[NR]; j++) if (!(it[NR, j] in known)) { known[it[NR, j]] = 1; voc[++V] = it[NR, j] }
}
END {
	for (v = 1; v <= V; v++) above[cnt[voc[v]] + 0]++
	srand(1)
	for (u = 1; u <= NR; u++) {
		if (n[u] < 3) continue
		split("", seen)
		for (j = 1; j <= n[u]; j++) seen[it[u, j]] = 1
		c = cnt[it[u, n[u]]] + 0
		if (!(c in gt)) { gt[c] = 0; for (x in above) if (x + 0 > c) gt[c] += above[x] }
		r = 1 + gt[c]
		for (x in seen) if (cnt[x] + 0 > c) r--
		s = 1
		split("", pick)
		for (k = 0; k < 100; ) {
			x = voc[int(rand() * V) + 1]
			if ((x in seen) || (x in pick)) continue
			pick[x] = 1; k++
			if (cnt[x] + 0 > c) s++
		}
		users++; hr += r <= 10; shr += s <= 10
	}
	printf "%.4f %.4f\n", hr / users, shr / users
}' > pop.txt
read -r pop spop < pop.txt
hr=$(sed 's/.*"hr@10": \([0-9.]*\).*/\1/' s.json)
shr=$(sed 's/.*"sampled100_hr@10": \([0-9.]*\).*/\1/' s.json)
echo "MovieLens-1M sequences, test HR@10: sasrec $hr (popularity $pop), 100 sampled: sasrec $shr (popularity $spop)" >&2
awk -v a="$hr" -v b="$pop" 'BEGIN { exit !(a >= b + 0.05) }' || fail "sasrec HR@10 $hr does not beat popularity $pop"
awk -v a="$shr" -v b="$spop" 'BEGIN { exit !(a >= b + 0.15) }' || fail "sasrec sampled HR@10 $shr does not beat popularity $spop"
