"""seq-ref.py - an independent NumPy check of rec-eval and rec-rank on a
sasrec model.

usage: seq-ref.py MODEL.tar CAT.txt RANKS.tsv JSON K [keep]
       seq-ref.py --top MODEL.tar CAT.txt TOP.tsv K [keep]
       seq-ref.py --similar MODEL.tar TOP.tsv K [all]
       seq-ref.py --rerank MODEL.tar CAT.txt RAW.txt CANDS.tsv OUT.tsv
       seq-ref.py --heldout MODEL.tar HIST.txt TEST.txt TOP.tsv JSON K

MODEL.tar is the model file decompressed (zstd -d), CAT.txt rec-cat's text of the hashed sequence stream, RANKS.tsv what
rec-eval --ranks wrote and JSON its metrics (--json). The script runs the
transformer forward itself from the model file's tensors (float64), ranks
each user's last item against all items (its history left out unless
keep), and checks: every rank agrees with rec-eval's (up to ties within
1e-4), the cross-entropy to 1e-3, and HR@K, NDCG@K, MRR, the sampled
metrics and the history-length slices recomputed from the ranks agree
with the JSON to 1e-6.

--top checks rec-rank's TSV (user item rank score, items as IDs): each
user's state after its whole history (the known items; none: the
padding row alone), its K best items (history left out unless keep) by
h . E[j]. Near-ties may swap: each printed score must be the item's own
NumPy score and the NumPy score of that rank, both to 1e-4 relative.
--similar checks the K nearest items by cosine of the item table's rows
(every item a query with all, else the queries rec-rank printed).
--rerank checks the re-ranked candidates (CANDS.tsv 'user item' raw
values, OUT.tsv rec-rank's lines, items as given): RAW.txt is rec-cat
of the stream before rec-hash, which names each hashed ID.
--heldout checks rec-eval --top-k K --seen HIST TEST's metrics (JSON) of
a held-out period against rec-rank's lists for TEST's users after their
HIST histories (TOP.tsv): precision, recall, NDCG, MAP over the users
with test items that have a row and were not in their history."""
import json
import sys

import numpy as np

from recm import open_model

SLICES = [1, 5, 10, 20, 50]


def load(path):
    man, get = open_model(path)
    w = {}
    for k in man:
        if k.startswith("tensor.") and not k.endswith(("items.ids", "sasrec.adam")):
            name, shape = k[len("tensor."):], [int(x) for x in man[k].split()[1:]]
            w[name] = get(name, "<f4").astype(np.float64).reshape(shape)
    ids = [int(i) for i in get("items.ids", "<u8")]
    return man, w, {i: r + 1 for r, i in enumerate(ids)}


def layernorm(x, g, b):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-5) * g + b


def act(x, kind):
    if kind == "gelu":
        return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))
    return np.maximum(x, 0)


def encode(man, w, rows):
    d, H, L, T = (int(man["model." + k]) for k in ("dim", "heads", "blocks", "max_len"))
    rows = rows[-T:]
    t = len(rows)
    x = w["token_embd.weight"][rows] + w["pos_embd.weight"][T - t:]
    hd = d // H
    mask = np.tril(np.ones((t, t), dtype=bool))
    for l in range(L):
        p = lambda n: w["blk.%d.%s" % (l, n)]
        a = layernorm(x, p("attn_norm.weight"), p("attn_norm.bias"))
        qkv = a @ p("attn_qkv.weight").T + p("attn_qkv.bias")
        out = np.zeros((t, d))
        for h in range(H):
            q, k, v = (qkv[:, j * d + h * hd:j * d + (h + 1) * hd] for j in range(3))
            s = np.where(mask, q @ k.T / np.sqrt(hd), -np.inf)
            s = np.exp(s - s.max(1, keepdims=True))
            out[:, h * hd:(h + 1) * hd] = (s / s.sum(1, keepdims=True)) @ v
        x = x + out @ p("attn_output.weight").T + p("attn_output.bias")
        c = layernorm(x, p("ffn_norm.weight"), p("ffn_norm.bias"))
        f = act(c @ p("ffn_up.weight").T + p("ffn_up.bias"), man["model.activation"])
        x = x + f @ p("ffn_down.weight").T + p("ffn_down.bias")
    return layernorm(x, w["output_norm.weight"], w["output_norm.bias"])[-1]


def sequences(cat):
    for line in open(cat):
        f = line.rstrip("\n").split("\t")
        user = next((x[6:] for x in f if x.startswith("group=")), "")
        yield user, [int(x[5:]) for x in f if x.startswith("item=")]


def fail(msg):
    print("seq-ref: " + msg, file=sys.stderr)
    sys.exit(1)


def metrics(ranks, k):
    r = np.asarray(ranks, dtype=np.float64)
    if not len(r):
        return None, None, None
    return (np.mean(r <= k), np.mean(np.where(r <= k, 1 / np.log2(r + 1), 0)), np.mean(1 / r))


def close(key, got, want, tol):
    if want is None:
        if got is not None:
            fail("%s: %s, expected null" % (key, got))
    elif got is None or abs(got - want) > tol:
        fail("%s: rec-eval %s, NumPy %s" % (key, got, want))


def main():
    model, cat, ranks_path, json_path, k = sys.argv[1:6]
    k, keep = int(k), len(sys.argv) > 6 and sys.argv[6] == "keep"
    man, w, row_of = load(model)
    E = w["token_embd.weight"]
    ranks = {}
    for line in open(ranks_path):
        f = line.split("\t")
        ranks[f[0]] = [int(x) for x in f[1:6]] + [float(f[6])]
    checked = 0
    for user, items in sequences(cat):
        if len(items) < 3:
            continue
        hist, target = [row_of[i] for i in items[:-1]], row_of[items[-1]]
        s = E @ encode(man, w, hist)
        ce = np.logaddexp.reduce(s[1:]) - s[target]
        out = set() if keep else set(hist) - {target}
        cand = [j for j in range(1, len(E)) if j not in out]
        better = sum(1 for j in cand if j != target and s[j] > s[target] + 1e-4)
        near = sum(1 for j in cand if j != target and abs(s[j] - s[target]) <= 1e-4)
        got = ranks.get(user)
        if got is None:
            fail("user %s missing from the ranks" % user)
        if got[0] != len(items) - 1 or got[2] != len(cand):
            fail("user %s: history %d, candidates %d; NumPy %d, %d" % (user, got[0], got[2],
                                                                       len(items) - 1, len(cand)))
        if not (better + 1 <= got[1] <= better + 1 + near):
            fail("user %s: rank %d, NumPy %d" % (user, got[1], better + 1))
        close("cross-entropy of " + user, got[5], ce, 1e-3)
        # the sampled negatives are items the user never had: a subset of
        # the full ranking's candidates when the history is left out
        never = len(E) - 1 - len(set(hist) | {target})
        if got[4] != min(100, never) + 1 or (not keep and got[3] > got[1]):
            fail("user %s: sampled rank %d of %d (full rank %d, %d items never had)"
                 % (user, got[3], got[4], got[1], never))
        checked += 1
    if checked != len(ranks):
        fail("%d users ranked, NumPy has %d" % (len(ranks), checked))
    j = json.load(open(json_path))
    full = [r[1] for r in ranks.values()]
    for name, v in zip(("hr@%d" % k, "ndcg@%d" % k, "mrr"), metrics(full, k)):
        close(name, j[name], v, 1e-6)
    samp = [r[3] for r in ranks.values()]
    for name, v in zip(("hr@%d" % k, "ndcg@%d" % k, "mrr"), metrics(samp, k)):
        close("sampled100_" + name, j["sampled100_" + name], v, 1e-6)
    close("cross_entropy", j["cross_entropy"], np.mean([r[5] for r in ranks.values()]), 1e-5)
    for i, lo in enumerate(SLICES):
        hi = SLICES[i + 1] if i + 1 < len(SLICES) else None
        pre = "history_%d-%d_" % (lo, hi - 1) if hi else "history_%d+_" % lo
        sl = [r[1] for r in ranks.values() if r[0] >= lo and (hi is None or r[0] < hi)]
        close(pre + "users", j[pre + "users"], len(sl), 0)
        for name, v in zip(("hr@%d" % k, "ndcg@%d" % k, "mrr"), metrics(sl, k)):
            close(pre + name, j[pre + name], v, 1e-6)
    print("seq-ref: %d users, ranks and metrics agree" % checked, file=sys.stderr)


def near(a, b):
    return abs(a - b) <= 1e-4 * max(1.0, abs(b))


def read_lists(path):
    """rec-rank's lines as {query: [(item, score), ...]} in rank order."""
    lists = {}
    for line in open(path):
        q, item, rank, score = line.rstrip("\n").split("\t")
        got = lists.setdefault(q, [])
        if int(rank) != len(got) + 1:
            fail("%s: rank %s after %d entries" % (q, rank, len(got)))
        got.append((item, float(score)))
    return lists


def check_list(who, got, s, cand, k):
    """got (row, score) pairs against scores s over the candidate rows."""
    want = sorted((s[j] for j in cand), reverse=True)[:k]
    if len(got) != len(want):
        fail("%s: %d items listed, NumPy %d" % (who, len(got), len(want)))
    if len(set(r for r, _ in got)) != len(got):
        fail("%s: an item listed twice" % who)
    for r, (row, score) in enumerate(got):
        if row not in cand:
            fail("%s: rank %d is an item that must not be listed" % (who, r + 1))
        if not near(score, s[row]) or not near(score, want[r]):
            fail("%s: rank %d scores %g; NumPy: that item %g, rank %d %g"
                 % (who, r + 1, score, s[row], r + 1, want[r]))


def top(model, cat, path, k, keep):
    man, w, row_of = load(model)
    E = w["token_embd.weight"]
    lists = read_lists(path)
    users = 0
    for user, items in sequences(cat):
        hist = [row_of[i] for i in items if i in row_of]
        s = E @ encode(man, w, hist or [0])
        cand = set(range(1, len(E))) - (set() if keep else set(hist))
        got = [(row_of.get(int(i), -1), x) for i, x in lists.pop(user, [])]
        check_list("user " + user, got, s, cand, k)
        users += 1
    if lists:
        fail("rec-rank listed users the stream lacks: %s" % sorted(lists)[:3])
    print("seq-ref: top %d of %d users agree" % (k, users), file=sys.stderr)


def similar(model, path, k, every):
    _, w, row_of = load(model)
    E = w["token_embd.weight"][1:]
    E = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-300)
    lists = read_lists(path)
    if every and len(lists) != len(E):
        fail("%d items have lists, the model has %d" % (len(lists), len(E)))
    for q, got in lists.items():
        i = row_of[int(q)] - 1
        cand = set(range(len(E))) - {i}
        check_list("item " + q, [(row_of[int(j)] - 1, x) for j, x in got], E @ E[i], cand, k)
    print("seq-ref: %d nearest of %d items agree" % (k, len(lists)), file=sys.stderr)


def rerank(model, cat, raw, cands, path):
    man, w, row_of = load(model)
    E = w["token_embd.weight"]
    hashed = {}
    for (user, items), (_, names) in zip(sequences(cat), raw_sequences(raw)):
        hashed.update(zip(names, items))
        hashed.setdefault("user:" + user, items)
    want = {}
    for line in open(cands):
        user, name = line.rstrip("\n").split("\t")[:2]
        if name in hashed and hashed[name] in row_of:
            want.setdefault(user, set()).add(name)
    lists = read_lists(path)
    if set(lists) != set(want):
        fail("re-ranked users %s, NumPy %s" % (sorted(lists)[:3], sorted(want)[:3]))
    for user, names in want.items():
        hist = [row_of[i] for i in hashed.get("user:" + user, []) if i in row_of]
        s = E @ encode(man, w, hist or [0])
        rows = {n: row_of[hashed[n]] for n in names}
        got = [(rows.get(n, -1), x) for n, x in lists[user]]
        check_list("user " + user, got, s, set(rows.values()), len(rows))
    print("seq-ref: candidates of %d users agree" % len(want), file=sys.stderr)


def heldout(model, hist, test, path, json_path, k):
    _, _, row_of = load(model)
    had = {}
    for user, items in sequences(hist):
        had.setdefault(user, set(row_of[i] for i in items if i in row_of))
    truth = {}
    for user, items in sequences(test):
        truth.setdefault(user, set()).update(row_of[i] for i in items if i in row_of)
    lists = read_lists(path)
    sums, users = np.zeros(4), 0
    for user, t in truth.items():
        t -= had.get(user, set())
        if not t:
            continue
        rows = [row_of[int(i)] for i, _ in lists.get(user, [])]
        hits = [r in t for r in rows]
        dcg = sum(1 / np.log2(r + 2) for r, h in enumerate(hits) if h)
        idcg = sum(1 / np.log2(r + 2) for r in range(min(k, len(t))))
        ap = sum(sum(hits[:r + 1]) / (r + 1) for r, h in enumerate(hits) if h)
        sums += [sum(hits) / k, sum(hits) / len(t), dcg / idcg, ap / min(k, len(t))]
        users += 1
    j = json.load(open(json_path))
    close("users", j["users"], users, 0)
    for name, v in zip(("precision", "recall", "ndcg", "map"), sums / max(users, 1)):
        close("%s@%d" % (name, k), j["%s@%d" % (name, k)], v, 2e-6)
    print("seq-ref: held-out metrics of %d users agree" % users, file=sys.stderr)


def raw_sequences(cat):
    for line in open(cat):
        f = line.rstrip("\n").split("\t")
        user = next((x[6:] for x in f if x.startswith("group=")), "")
        yield user, [x[5:] for x in f if x.startswith("item=")]


if sys.argv[1] == "--top":
    top(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6:7] == ["keep"])
elif sys.argv[1] == "--similar":
    similar(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:6] == ["all"])
elif sys.argv[1] == "--heldout":
    heldout(*sys.argv[2:7], int(sys.argv[7]))
elif sys.argv[1] == "--rerank":
    rerank(*sys.argv[2:7])
else:
    main()
