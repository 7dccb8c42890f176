"""rank-brute.py - checks rec-rank's top-K lists (any model, printed with
--names) against brute force: every user x catalogue item pair scored on
its own (rec-eval --predict), sorted, the user's items left out.

usage: rank-brute.py SCORES.tsv SEEN.tsv OUT.tsv K [keep] [users=FILE]
  SCORES.tsv  'user item score' for every user and every catalogue item
  SEEN.tsv    'user item' for each input record (raw values)
  OUT.tsv     rec-rank's lines 'user item rank score'
  users=FILE  the --users list: its users in its order; else the users
              of SEEN.tsv in order of first sight

Scores must agree to 2e-6; where two items' scores tie within that, their
order may differ (the tower runs other batches than rec-eval's)."""
import sys

TOL = 2e-6


def main():
    scores_path, seen_path, out_path, k = sys.argv[1:5]
    k = int(k)
    keep = "keep" in sys.argv[5:]
    listed = [a[6:] for a in sys.argv[5:] if a.startswith("users=")]
    score = {}
    for line in open(scores_path):
        u, i, s = line.rstrip("\n").split("\t")
        score.setdefault(u, {})[i] = float(s)
    seen, order = {}, []
    for line in open(seen_path):
        u, i = line.rstrip("\n").split("\t")[:2]
        if u not in seen:
            order.append(u)
            seen[u] = set()
        seen[u].add(i)
    if listed:
        order = []
        for line in open(listed[0]):
            u = line.rstrip("\n").split("\t")[0]
            if u and u not in order:
                order.append(u)
    got = {}
    for line in open(out_path):
        u, i, r, s = line.rstrip("\n").split("\t")
        got.setdefault(u, []).append((i, float(s)))
        assert int(r) == len(got[u]), "%s: ranks not 1, 2, 3 ..." % u
    assert [u for u in order if u in got] == list(got), "users out of order: %s" % list(got)[:5]
    n = swaps = 0
    for u in order:
        skip = set() if keep else seen.get(u, set())
        want = sorted(((s, i) for i, s in score[u].items() if i not in skip), key=lambda x: -x[0])[:k]
        lg = got.get(u, [])
        assert len(lg) == len(want), "%s: %d items, want %d" % (u, len(lg), len(want))
        for r, ((sw, iw), (ig, sg)) in enumerate(zip(want, lg)):
            assert abs(sw - sg) <= TOL, "%s rank %d: score %g, want %g" % (u, r + 1, sg, sw)
            assert ig not in skip, "%s rank %d: %s, an item the user has" % (u, r + 1, ig)
            if ig != iw:
                assert abs(score[u][ig] - sw) <= TOL, "%s rank %d: %s, want %s" % (u, r + 1, ig, iw)
                swaps += 1
            n += 1
    assert n > 0, "nothing compared"
    print("top-%d: %d list entries of %d users agree (%d near-tie swaps)" % (k, n, len(order), swaps))


if __name__ == "__main__":
    main()
