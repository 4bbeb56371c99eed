#!/usr/bin/python3
"""PyTorch side of bench/run.py --target gpt: the same GPT-2-style model as models/gpt/gpt.h
(pre-LayerNorm blocks, causal attention, tanh-GELU MLP of 4C, tied embeddings), the same step
(forward, backward of the mean next-token cross-entropy, AdamW lr 3e-4 betas (0.9, 0.95)
weight decay 0.1) on the same random tokens, with torch.set_num_threads(--threads). Prints one
JSON object like shoal-gpt-bench. Debian's python3-torch (1.13) has no
scaled_dot_product_attention; attention is the explicit masked softmax, as llm.c's reference."""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, nh):
        super().__init__()
        self.nh = nh
        self.ln_1, self.ln_2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.c_attn, self.attn_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def forward(self, x, mask):
        b, t, c = x.shape
        hs = c // self.nh
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.nh, hs).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask[:t, :t], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, v, t, layers, nh, c):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(v, c), nn.Embedding(t, c)
        self.h = nn.ModuleList(Block(c, nh) for _ in range(layers))
        self.ln_f = nn.LayerNorm(c)
        # A plain attribute, not a buffer: DDP (gloo) cannot broadcast bool buffers.
        self.mask = torch.tril(torch.ones(t, t, dtype=torch.bool))

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for block in self.h:
            x = block(x, self.mask)
        logits = self.ln_f(x) @ self.wte.weight.T
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def main():
    p = argparse.ArgumentParser()
    for name, default in (("vocab", 256), ("context", 128), ("layers", 4), ("heads", 4),
                          ("embed", 128), ("batch", 8), ("iters", 10), ("warmup", 2),
                          ("threads", 1)):
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Gpt(a.vocab, a.context, a.layers, a.heads, a.embed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=0.1)
    idx = torch.randint(0, a.vocab, (a.batch, a.context))
    targets = torch.randint(0, a.vocab, (a.batch, a.context))
    ms = []
    loss = None
    for i in range(a.warmup + a.iters):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(idx, targets)
        loss.backward()
        opt.step()
        if i >= a.warmup:
            ms.append((time.perf_counter() - t0) * 1000)
    median = sorted(ms)[len(ms) // 2]
    print(json.dumps({"impl": "pytorch " + torch.__version__,
                      "params": sum(q.numel() for q in model.parameters()),
                      "threads": a.threads, "step_ms": ms, "median_ms": median,
                      "tokens_per_sec": a.batch * a.context / (median / 1000),
                      "last_loss": loss.item()}))


if __name__ == "__main__":
    main()
