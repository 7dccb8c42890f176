"""rank-ref.py - an independent NumPy computation of what rec-rank and
rec-eval --top-k write, from the model file's tensors and rec-cat's text of
the input; checks the tool's output against it.

usage: rank-ref.py top|similar|rerank MODEL.tar CAT.txt OUT.tsv K [keep]
       rank-ref.py metrics MODEL.tar TEST-CAT.txt SEEN-CAT.txt JSON K [popularity]

The scores must agree to 1e-4 (relative above 1); the items at each rank
must be the same unless two scores tie within that tolerance, where the
order may differ between BLAS and NumPy."""
import json
import sys

import numpy as np

from recm import open_model

TOL = 1e-4


def load(path):
    man, get = open_model(path)
    dim = int(man["model.dim"])
    m = {"man": man, "dim": dim}
    m["rows"] = get("embd.rows", "<f4").reshape(-1, dim + 1).astype(np.float64)
    m["row_of"] = {int(i): r for r, i in enumerate(get("embd.ids", "<u8"))}
    m["item_ids"] = [int(i) for i in get("items.ids", "<u8")]
    m["item_of"] = {i: n for n, i in enumerate(m["item_ids"])}
    off, feat = get("items.offsets", "<u4"), get("items.features", "<u8")
    val, m["count"] = get("items.values", "<f4"), get("items.counts", "<u4")
    m["Q"] = np.array([vector(m, zip(feat[off[i]:off[i + 1]], val[off[i]:off[i + 1]]))
                       for i in range(len(m["item_ids"]))]).reshape(-1, dim + 1)
    fields = lambda role: [f for f in [man["model.%s_field" % role]] +
                           man["model.%s_features" % role].split(",") if f]
    m["ufields"], m["ifields"] = fields("user"), fields("item")
    return m


def vector(m, feats):
    """[sum x v, sum x b] over the features that have a row."""
    v = np.zeros(m["dim"] + 1)
    for f, x in feats:
        r = m["row_of"].get(int(f))
        if r is not None:
            v[:-1] += x * m["rows"][r, 1:]
            v[-1] += x * m["rows"][r, 0]
    return v


def records(path):
    """rec-cat lines as (label, {field: [ids]})."""
    out = []
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        d = {}
        for p in parts[1:]:
            k, v = p.split("=", 1)
            if not k.startswith("group"):
                d.setdefault(k, []).append(v)
        out.append((float(parts[0]), d))
    return out


def feats(d, fields):
    return [(int(i), 1.0) for f in fields for i in d.get(f, [])]


def users(m, recs, positives=False, only=None):
    """users in first-sight order: ids, vectors [p, 1], their item sets."""
    ids, vec, items, index = [], [], [], {}
    uf = m["man"]["model.user_field"]
    for label, d in recs:
        if uf not in d:
            continue
        u = int(d[uf][0])
        if u not in index:
            if only is not None:
                continue
            index[u] = len(ids)
            ids.append(u)
            p = vector(m, feats(d, m["ufields"]))
            p[-1] = 1
            vec.append(p)
            items.append(set())
        it = d.get(m["man"]["model.item_field"])
        if it and int(it[0]) in m["item_of"] and (label > 0 or not positives):
            items[index[u]].add(m["item_of"][int(it[0])])
    return ids, np.array(vec).reshape(-1, m["dim"] + 1), items, index


def topk(S, k, skip):
    lists = []
    for q in range(S.shape[0]):
        s = S[q].copy()
        s[list(skip[q])] = np.nan
        order = [i for i in np.argsort(-s, kind="stable") if not np.isnan(s[i])]
        lists.append([(i, s[i]) for i in order[:k]])
    return lists


def close(a, b):
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def compare(want, got, S, qrow, name):
    """want: {query: [(item, score)]}; got: tool lines per query."""
    assert list(want) == list(got), "%s: queries differ: %s vs %s" % (name, list(want)[:5], list(got)[:5])
    n = swaps = 0
    for q, lw in want.items():
        lg = got[q]
        assert len(lg) == len(lw), "%s: %s has %d items, want %d" % (name, q, len(lg), len(lw))
        for r, ((iw, sw), (ig, sg)) in enumerate(zip(lw, lg)):
            assert close(sw, sg), "%s: %s rank %d score %g, want %g" % (name, q, r + 1, sg, sw)
            if iw != ig:
                assert close(S[qrow[q], ig], sw), "%s: %s rank %d item %s" % (name, q, r + 1, ig)
                swaps += 1
            n += 1
    assert n > 0, name + ": nothing compared"
    print("%s: %d list entries agree (%d near-tie swaps)" % (name, n, swaps))


def read_lines(path):
    """{query ID: [(item ID, score)]}, checking the ranks run 1, 2, 3 ..."""
    got = {}
    for line in open(path):
        a, b, r, s = line.split("\t")
        got.setdefault(int(a), []).append((int(b), float(s)))
        assert int(r) == len(got[int(a)]), "ranks not 1, 2, 3 ..."
    return got


def main():
    mode, model = sys.argv[1], load(sys.argv[2])
    if mode == "metrics":
        return metrics(model, *sys.argv[3:])
    cat, out, k = sys.argv[3], sys.argv[4], int(sys.argv[5])
    recs = records(cat)
    raw = read_lines(out)
    m, Q = model, model["Q"]
    if mode == "rerank":
        return rerank(m, recs, raw)
    got = {q: [(m["item_of"][i], s) for i, s in lst] for q, lst in raw.items()}
    if mode == "top":
        ids, P, seen, index = users(m, recs)
        S = P @ Q.T
        lists = topk(S, k, [set()] * len(ids) if len(sys.argv) > 6 else seen)
        compare(dict(zip(ids, lists)), got, S, index, "top-%d" % k)
    elif mode == "similar":
        D = Q[:, :-1] / np.maximum(np.linalg.norm(Q[:, :-1], axis=1, keepdims=True), 1e-300)
        S = D @ D.T
        lists = topk(S, k, [{i} for i in range(len(Q))])
        compare(dict(zip(m["item_ids"], lists)), got, S, m["item_of"], "similar-%d" % k)


def rerank(m, recs, got_raw):
    uf, itf = m["man"]["model.user_field"], m["man"]["model.item_field"]
    want, order = {}, []
    for label, d in recs:
        p = vector(m, feats(d, m["ufields"]))
        q = vector(m, feats(d, m["ifields"]))
        u = int(d[uf][0])
        if u not in want:
            order.append(u)
            want[u] = []
        want[u].append((int(d[itf][0]), float(p[:-1] @ q[:-1] + q[-1])))
    n = 0
    for u in order:
        lw = sorted(want[u], key=lambda x: -x[1])
        lg = got_raw[u]
        for (iw, sw), (ig, sg) in zip(lw, lg):
            assert close(sw, sg), "rerank: %s score %g, want %g" % (u, sg, sw)
            assert iw == ig or any(i == ig and close(s, sw) for i, s in want[u]), "rerank: %s item %s" % (u, ig)
            n += 1
        assert len(lw) == len(lg), "rerank: user %s has %d candidates, want %d" % (u, len(lg), len(lw))
    assert list(got_raw) == order, "rerank: users out of order"
    print("rerank: %d candidates agree" % n)


def metrics(m, test_cat, seen_cat, json_path, k, popularity=None):
    k = int(k)
    ids, P, truth, index = users(m, records(test_cat), positives=True)
    _, _, seen_items, _ = users_seen(m, records(seen_cat), index, len(ids))
    truth = [t - s for t, s in zip(truth, seen_items)]
    S = P @ m["Q"].T
    if popularity:
        S = np.tile(m["count"].astype(np.float64), (len(ids), 1))
    lists = topk(S, k, seen_items)
    prec = rec = ndcg = ap = 0.0
    n = 0
    shown, pops = set(), []
    for q, lst in enumerate(lists):
        items = [i for i, _ in lst]
        t = truth[q]
        if not t:
            continue
        shown.update(items)
        pops += [int(m["count"][i]) for i in items]
        hit = [1.0 if i in t else 0.0 for i in items]
        h = sum(hit)
        prec += h / k
        rec += h / len(t)
        dcg = sum(g / np.log2(r + 2) for r, g in enumerate(hit))
        idcg = sum(1 / np.log2(r + 2) for r in range(min(k, len(t))))
        ndcg += dcg / idcg
        ap += sum(sum(hit[:r + 1]) / (r + 1) for r in range(len(hit)) if hit[r]) / min(k, len(t))
        n += 1
    want = {"users": n, "precision": prec / n, "recall": rec / n, "ndcg": ndcg / n, "map": ap / n,
            "coverage": len(shown) / len(m["Q"]),
            "popularity": float(np.mean(pops) / np.mean(m["count"].astype(np.float64)))}
    got = json.load(open(json_path))
    for key, w in want.items():
        g = got[key if key == "users" else "%s@%d" % (key, k) if key in ("precision", "recall", "ndcg", "map") else key]
        assert abs(g - w) <= 1e-5 * max(1, abs(w)), "%s: %s, want %s" % (key, g, w)
    assert n > 50 and want["ndcg"] > 0, "too little to compare: %s" % want
    print("metrics agree: %s" % want)


def users_seen(m, recs, index, n):
    seen = [set() for _ in range(n)]
    uf, itf = m["man"]["model.user_field"], m["man"]["model.item_field"]
    for label, d in recs:
        if uf in d and int(d[uf][0]) in index and itf in d and int(d[itf][0]) in m["item_of"]:
            seen[index[int(d[uf][0])]].add(m["item_of"][int(d[itf][0])])
    return None, None, seen, None


if __name__ == "__main__":
    main()
