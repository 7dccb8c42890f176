"""torch_sasrec.py - the PyTorch reference for bench/seq.sh: the model of
rec-train --model sasrec (libcommon/sasrec.h), written with torch.nn:

  x = drop(E[item_i] + P[max_len - t + i])       learned positions, right-aligned
  per block, pre-LayerNorm (eps 1e-5):
    x += drop(W_o attn(LN_1(x)) + b_o)           causal, one qkv Linear, scale 1/sqrt(dim/heads)
    x += drop(W_2 relu(W_1 LN_2(x) + b_1) + b_2) FFN width = dim
  h = LN_f(x); item j scores h . E[j]            output tied to the item table

No dropout on the attention probabilities (rec-train has none). Init:
tables and weights uniform in +-1/sqrt(fan-in), biases 0, LayerNorm gains 1.
Loss, a mean over the rows with a target: BCE of the target against
--negatives items drawn uniformly from the items outside the user's
training sequence (as SASRec and rec-train), or the full softmax. Adam, betas (0.9, 0.98), eps 1e-8, no
weight decay, dense gradients for every table.

Leave-one-out on each line of SEQS (items separated by spaces, oldest
first): the last item is the test target, the one before the validation
target, the rest trains (item i + 1 is the target of input i; the latest
--max-len inputs). A batch is --batch sequences in a shuffled order,
padded on the left to its longest; padded keys are masked out and padded
rows carry no loss. Evaluation as rec-eval: the test target ranked among
all items less the history's, and against 100 negatives drawn uniformly
without repeats from the items the user never had.

usage: torch_sasrec.py SEQS [--dim 50 --blocks 2 --heads 1 --max-len 200
       --dropout 0.2 --batch 128 --lr 0.001 --epochs 1 --loss bce
       --negatives 1 --threads 1 --seed 1]
Prints one JSON line: epoch_s (the training loop of each epoch only),
targets (per epoch), hr@10, ndcg@10, sampled100_hr@10, sampled100_ndcg@10,
peak_rss_mib, torch, threads, blas (the BLAS libraries mapped)."""
import argparse
import json
import math
import os
import resource
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read(path):
    """Sequences as arrays of item rows 1..V-1 (0 is padding), and V."""
    vocab, seqs = {}, []
    for line in open(path):
        items = line.split()
        seqs.append(np.array([vocab.setdefault(x, len(vocab) + 1) for x in items], np.int64))
    return seqs, len(vocab) + 1


def uniform_(t, fan_in):
    with torch.no_grad():
        t.uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))


class Block(nn.Module):
    def __init__(self, d, heads, p):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-5), nn.LayerNorm(d, eps=1e-5)
        self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.up, self.down = nn.Linear(d, d), nn.Linear(d, d)
        self.drop, self.heads = nn.Dropout(p), heads
        for lin in (self.qkv, self.o, self.up, self.down):
            uniform_(lin.weight, lin.in_features)
            nn.init.zeros_(lin.bias)

    def forward(self, x, allowed):
        B, T, d = x.shape
        H = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(B, T, H, d // H).transpose(1, 2) for z in (q, k, v))
        a = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // H))
        a = a.masked_fill(~allowed, float("-inf")).softmax(-1)
        y = (a @ v).transpose(1, 2).reshape(B, T, d)
        x = x + self.drop(self.o(y))
        return x + self.drop(self.down(F.relu(self.up(self.ln2(x)))))


class SASRec(nn.Module):
    def __init__(self, V, d, blocks, heads, max_len, p):
        super().__init__()
        self.E = nn.Embedding(V, d, padding_idx=0)
        self.P = nn.Embedding(max_len, d)
        uniform_(self.E.weight, d)
        uniform_(self.P.weight, d)
        with torch.no_grad():
            self.E.weight[0].zero_()
        self.blocks = nn.ModuleList(Block(d, heads, p) for _ in range(blocks))
        self.lnf = nn.LayerNorm(d, eps=1e-5)
        self.drop, self.max_len = nn.Dropout(p), max_len

    def forward(self, items):
        """items (B, T), left-padded with 0: final hidden states (B, T, d)."""
        B, T = items.shape
        pos = torch.arange(self.max_len - T, self.max_len)
        x = self.drop(self.E(items) + self.P(pos)[None])
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        # a padded row may see itself only, so that no row's softmax is empty
        allowed = (causal & ((items != 0)[:, None, :] | torch.eye(T, dtype=torch.bool)))[:, None]
        for blk in self.blocks:
            x = blk(x, allowed)
        return self.lnf(x)


def pad_left(rows, T):
    out = np.zeros((len(rows), T), np.int64)
    for b, r in enumerate(rows):
        if len(r):
            out[b, T - len(r):] = r
    return out


def negatives(whole, real, V, count):
    """count items per real row, uniform over 1..V-1 less the row's user's
    training sequence (redrawn where they hit it)."""
    seen = torch.zeros(len(whole), V, dtype=torch.bool)
    for b, q in enumerate(whole):
        seen[b, torch.as_tensor(q)] = True
    owner = torch.arange(len(whole))[:, None].expand(real.shape)[real][:, None]
    j = torch.randint(1, V, (owner.shape[0], count))
    hit = seen[owner, j]
    while hit.any():
        j[hit] = torch.randint(1, V, (int(hit.sum()),))
        hit = seen[owner, j]
    return j


def train_epoch(model, opt, seqs, V, a, rng):
    model.train()
    order = rng.permutation(len(seqs))
    targets = 0
    t0 = time.perf_counter()
    for s in range(0, len(order), a.batch):
        ins, outs, whole = [], [], []
        for i in order[s:s + a.batch]:
            q = seqs[i]
            q = q[:-2] if len(q) >= 3 else q
            if len(q) < 2:
                continue
            ins.append(q[:-1][-a.max_len:])
            outs.append(q[1:][-a.max_len:])
            whole.append(q)
        if not ins:
            continue
        T = max(len(r) for r in ins)
        x = torch.from_numpy(pad_left(ins, T))
        y = torch.from_numpy(pad_left(outs, T))
        h = model(x)
        real = y != 0
        hr, yr = h[real], y[real]
        n = yr.shape[0]
        targets += n
        E = model.E.weight
        if a.loss == "bce":
            j = negatives(whole, real, V, a.negatives)
            pos = (hr * E[yr]).sum(-1)
            neg = (hr[:, None, :] * E[j]).sum(-1)
            loss = (F.softplus(-pos) + F.softplus(neg).sum(-1)).mean()
        else:
            logits = hr @ E.t()
            logits[:, 0] = float("-inf")
            loss = F.cross_entropy(logits, yr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0, targets


@torch.no_grad()
def evaluate(model, seqs, V, a, k=10, sampled=100):
    model.eval()
    E = model.E.weight
    users = [i for i, q in enumerate(seqs) if len(q) >= 3]
    rng = np.random.default_rng(a.seed)
    hr = ndcg = shr = sndcg = 0.0
    for s in range(0, len(users), 256):
        idx = users[s:s + 256]
        ins = [seqs[i][:-1][-a.max_len:] for i in idx]
        x = torch.from_numpy(pad_left(ins, max(len(r) for r in ins)))
        h = model(x)[:, -1, :]
        scores = (h @ E.t()).numpy()
        for b, i in enumerate(idx):
            q, sc = seqs[i], scores[b]
            t, hist = q[-1], q[:-1]
            ts = sc[t]
            left = np.zeros(V, bool)
            left[0] = True
            left[hist] = True
            left[t] = True
            r = 1 + int(np.count_nonzero((sc > ts) & ~left))
            hr += r <= k
            ndcg += 1 / math.log2(r + 1) if r <= k else 0
            pool = np.flatnonzero(~left)
            neg = rng.choice(pool, size=min(sampled, len(pool)), replace=False)
            sr = 1 + int(np.count_nonzero(sc[neg] > ts))
            shr += sr <= k
            sndcg += 1 / math.log2(sr + 1) if sr <= k else 0
    n = len(users)
    return {"users": n, "hr@10": hr / n, "ndcg@10": ndcg / n,
            "sampled100_hr@10": shr / n, "sampled100_ndcg@10": sndcg / n}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("seqs")
    for name, typ, default in (("dim", int, 50), ("blocks", int, 2), ("heads", int, 1),
                               ("max-len", int, 200), ("dropout", float, 0.2), ("batch", int, 128),
                               ("lr", float, 0.001), ("epochs", int, 1), ("loss", str, "bce"),
                               ("negatives", int, 1), ("threads", int, 1), ("seed", int, 1)):
        p.add_argument("--" + name, type=typ, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    seqs, V = read(a.seqs)
    model = SASRec(V, a.dim, a.blocks, a.heads, a.max_len, a.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98), eps=1e-8)
    rng = np.random.default_rng(a.seed)
    epoch_s, targets = [], 0
    for _ in range(a.epochs):
        secs, targets = train_epoch(model, opt, seqs, V, a, rng)
        epoch_s.append(round(secs, 3))
    res = {"epoch_s": epoch_s, "targets": targets, "items": V - 1, "sequences": len(seqs)}
    res.update(evaluate(model, seqs, V, a))
    res["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    res["torch"] = torch.__version__
    libs = set()
    with open("/proc/self/maps") as f:     # the BLAS torch really loaded
        for line in f:
            path = line.split()[-1]
            if "blas" in os.path.basename(path).lower() and path.startswith("/"):
                libs.add(os.path.realpath(path))
    res["blas"] = sorted(libs)
    res["threads"] = torch.get_num_threads()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
