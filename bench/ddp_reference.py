#!/usr/bin/python3
"""The anchor for shoal's end-to-end benchmark: the same job trained by PyTorch
DistributedDataParallel with the gloo backend (Debian's python3-torch).

Mirrors configs/jobs/fashion-mnist-mlp.yaml: 784-256-128-10 MLP with ReLU, softmax
cross-entropy, AdamW(lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0), batch 128 per
rank, global batch sharded across ranks each step, Fashion-MNIST scaled by 1/255 then
standardized with the train set's scalar mean/std (what shoal's normalize does).

One process per rank; bench/run.py starts them:
  /usr/bin/python3 bench/ddp_reference.py --rank R --world N --port P --epochs E --threads T
Rank 0 prints one JSON line: samples/s over training steps, per-epoch test accuracy and the
seconds from process start to the end of each epoch (for time-to-accuracy).
"""
import argparse
import gzip
import json
import os
import struct
import time

T_START = time.time()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn as nn  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(prefix):
    x = read_idx(f"{DATA}/{prefix}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(f"{DATA}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return x, y


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--world", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(a.port)
    dist.init_process_group("gloo", rank=a.rank, world_size=a.world)

    xtr, ytr = load("train")
    xte, yte = load("t10k")
    mean, std = float(xtr.mean()), float(xtr.std())
    xtr = torch.from_numpy((xtr - mean) / std)
    xte = torch.from_numpy((xte - mean) / std)
    ytr = torch.from_numpy(ytr)
    yte = torch.from_numpy(yte)

    torch.manual_seed(a.seed)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(ddp.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.0)
    loss_fn = nn.CrossEntropyLoss()

    global_batch = a.batch * a.world
    steps = len(xtr) // global_batch
    train_time, samples = 0.0, 0
    epochs = []
    gen = torch.Generator().manual_seed(a.seed)
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(len(xtr), generator=gen)  # same on every rank (same seed)
        dist.barrier()
        t0 = time.time()
        ddp.train()
        for s in range(steps):
            idx = order[s * global_batch + a.rank * a.batch: s * global_batch + (a.rank + 1) * a.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(ddp(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        train_time += time.time() - t0
        samples += steps * global_batch
        with torch.no_grad():
            model.eval()
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        epochs.append({"epoch": epoch, "testAccuracy": acc, "secondsSinceStart": time.time() - T_START})
    if a.rank == 0:
        print(json.dumps({"samplesPerSec": samples / train_time, "epochs": epochs,
                          "torch": torch.__version__, "threads": a.threads, "world": a.world}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
