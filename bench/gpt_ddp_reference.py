#!/usr/bin/python3
"""The anchor of bench/run.py --target gpt-ddp: the character-level GPT of
configs/jobs/gpt-fortunes.yaml trained by PyTorch DistributedDataParallel (gloo), one process
per rank, on the same token shards (llm.c format, as `shoal tokenize` writes them).

Same model as bench/gpt_reference.py (GPT-2 blocks, tied embeddings), same data layout as
shoal's token windows (window i = tokens[i*T : i*T+T], its labels shifted by one), a global batch
of batchSize x ranks windows sharded by rank each step from one seeded permutation per epoch,
AdamW (lr, betas 0.9/0.999, weight decay as the spec), the spec's warm-up + cosine schedule and
clipGradNorm, torch.set_num_threads(--threads). Evaluation is not timed.

  /usr/bin/python3 bench/gpt_ddp_reference.py --rank R --world N --port P --train SHARD \
      --epochs E --threads T
Rank 0 prints one JSON line: tokens/s and samples/s over the training steps, the last loss.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_reference import Gpt  # noqa: E402


def read_shard(path):
    """An llm.c token shard: 256 int32 header (magic 20240520, version 1, count), uint16 ids."""
    header = np.fromfile(path, dtype=np.int32, count=256)
    if header[0] != 20240520 or header[1] != 1:
        raise SystemExit(f"{path}: not an llm.c token shard")
    return np.fromfile(path, dtype=np.uint16, offset=1024, count=int(header[2])).astype(np.int64)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--world", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    # configs/jobs/gpt-fortunes.yaml
    for name, default in (("vocab", 256), ("context", 64), ("layers", 2), ("heads", 4),
                          ("embed", 64), ("batch", 16), ("warmup", 50)):
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--lr", type=float, default=0.003)
    p.add_argument("--min-lr", type=float, default=0.0003)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--clip", type=float, default=1.0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(a.port)
    dist.init_process_group("gloo", rank=a.rank, world_size=a.world)
    torch.manual_seed(1)
    model = Gpt(a.vocab, a.context, a.layers, a.heads, a.embed)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=a.weight_decay)
    tokens = torch.from_numpy(read_shard(a.train))
    T = a.context
    windows = (len(tokens) - 1) // T
    x_all = tokens[: windows * T].view(windows, T)
    y_all = tokens[1: windows * T + 1].view(windows, T)
    global_batch = a.batch * a.world
    steps_per_epoch = windows // global_batch
    total = steps_per_epoch * a.epochs

    def lr_at(step):  # 1-based, worker/train/lr_schedule.h
        if step <= a.warmup:
            return a.lr * step / a.warmup
        p_ = min(max((step - a.warmup) / max(total - a.warmup, 1), 0.0), 1.0)
        return a.min_lr + (a.lr - a.min_lr) * 0.5 * (1 + math.cos(math.pi * p_))

    step = 0
    train_sec = 0.0
    loss = None
    for epoch in range(a.epochs):
        order = torch.randperm(windows, generator=torch.Generator().manual_seed(epoch + 1))
        t0 = time.perf_counter()
        for s in range(steps_per_epoch):
            step += 1
            rows = order[s * global_batch + a.rank * a.batch: s * global_batch + (a.rank + 1) * a.batch]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            opt.zero_grad(set_to_none=True)
            loss = ddp(x_all[rows], y_all[rows])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
        train_sec += time.perf_counter() - t0
    samples = steps_per_epoch * a.epochs * global_batch
    if a.rank == 0:
        print(json.dumps({"impl": "pytorch " + torch.__version__ + " DDP (gloo)",
                          "samplesPerSec": samples / train_sec,
                          "tokensPerSec": samples * T / train_sec,
                          "steps": step, "lastLoss": loss.item()}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
