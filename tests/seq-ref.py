"""seq-ref.py - an independent NumPy check of rec-eval on a sasrec model.

usage: seq-ref.py MODEL.tar CAT.txt RANKS.tsv JSON K [keep]

MODEL.tar is the model file decompressed (zstd -d), CAT.txt rec-cat's text of the hashed sequence stream, RANKS.tsv what
rec-eval --ranks wrote and JSON its metrics (--json). The script runs the
transformer forward itself from the model file's tensors (float64), ranks
each user's last item against all items (its history left out unless
keep), and checks: every rank agrees with rec-eval's (up to ties within
1e-4), the cross-entropy to 1e-3, and HR@K, NDCG@K, MRR, the sampled
metrics and the history-length slices recomputed from the ranks agree
with the JSON to 1e-6."""
import json
import sys
import tarfile

import numpy as np

SLICES = [1, 5, 10, 20, 50]


def load(path):
    t = tarfile.open(path)
    man = {}
    for line in t.extractfile("MANIFEST").read().decode().splitlines():
        if " = " in line:
            k, v = line.split(" = ", 1)
            man[k] = v
    get = lambda name, dt: np.frombuffer(t.extractfile(name).read(), dtype=dt)
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


main()
