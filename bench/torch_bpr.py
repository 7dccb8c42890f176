"""torch_bpr.py - the PyTorch reference for bench/rank.sh: BPR matrix
factorization (user and item vectors, item bias, one uniform negative per
positive, Adam, mini-batches), evaluated under rec-eval --top-k's protocol:
every user of the test stream, its truth the test positives less what it
had in training, training items left out of its list, unknown users ranked
by item bias.

usage: torch_bpr.py TRAIN.txt TEST.txt DIM EPOCHS THREADS [K]
TRAIN.txt, TEST.txt: rec-cat text of the hashed streams. Prints one JSON
line: train_s (the training loop only), precision@K, recall@K, ndcg@K."""
import json
import sys
import time

import numpy as np
import torch


def read(path):
    """(label, user, item) per record, in order."""
    out = []
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        d = dict(p.split("=", 1) for p in parts[1:] if p.split("=", 1)[0] in ("user", "item"))
        if "user" in d and "item" in d:
            out.append((float(parts[0]), d["user"], d["item"]))
    return out


def main():
    train, test = read(sys.argv[1]), read(sys.argv[2])
    dim, epochs, threads = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    k = int(sys.argv[6]) if len(sys.argv) > 6 else 10
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    users, items = {}, {}
    for _, u, i in train:
        users.setdefault(u, len(users))
        items.setdefault(i, len(items))
    pos = np.array([(users[u], items[i]) for y, u, i in train if y > 0], dtype=np.int64)
    nu, ni = len(users), len(items)
    P = torch.nn.Embedding(nu, dim)
    Q = torch.nn.Embedding(ni, dim)
    B = torch.nn.Embedding(ni, 1)
    for e in (P, Q):
        torch.nn.init.uniform_(e.weight, -0.05, 0.05)
    torch.nn.init.zeros_(B.weight)
    opt = torch.optim.Adam(list(P.parameters()) + list(Q.parameters()) + list(B.parameters()), lr=0.01)
    pu, pi = torch.from_numpy(pos[:, 0]), torch.from_numpy(pos[:, 1])
    batch = 1024
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(pos))
        for s in range(0, len(pos), batch):
            idx = perm[s:s + batch]
            u, i = pu[idx], pi[idx]
            j = torch.randint(0, ni, (len(idx),))
            pv = P(u)
            x = (pv * Q(i)).sum(1) + B(i).squeeze(1) - (pv * Q(j)).sum(1) - B(j).squeeze(1)
            loss = -torch.nn.functional.logsigmoid(x).mean() + 1e-6 * (pv.pow(2).sum() + Q(i).pow(2).sum() + Q(j).pow(2).sum()) / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
    train_s = time.perf_counter() - t0
    print(json.dumps({"train_s": round(train_s, 3), **evaluate(train, test, users, items, P, Q, B, k)}))


def evaluate(train, test, users, items, P, Q, B, k):
    seen, truth, order = {}, {}, []
    for _, u, i in train:
        if i in items:
            seen.setdefault(u, set()).add(items[i])
    for y, u, i in test:
        if u not in truth:
            truth[u] = set()
            order.append(u)
        if y > 0 and i in items:
            truth[u].add(items[i])
    Qw, Bw, Pw = Q.weight.detach().numpy(), B.weight.detach().numpy()[:, 0], P.weight.detach().numpy()
    prec = rec = ndcg = 0.0
    n = 0
    for u in order:
        s_u = seen.get(u, set())
        t = truth[u] - s_u
        if not t:
            continue
        s = (Qw @ Pw[users[u]] + Bw) if u in users else Bw.copy()
        s = s.astype(np.float64)
        s[list(s_u)] = -np.inf
        top = np.argsort(-s, kind="stable")[:k]
        hit = [1.0 if i in t else 0.0 for i in top]
        prec += sum(hit) / k
        rec += sum(hit) / len(t)
        ndcg += sum(g / np.log2(r + 2) for r, g in enumerate(hit)) / sum(1 / np.log2(r + 2) for r in range(min(k, len(t))))
        n += 1
    return {"users": n, "precision@%d" % k: prec / n, "recall@%d" % k: rec / n, "ndcg@%d" % k: ndcg / n}


if __name__ == "__main__":
    main()
