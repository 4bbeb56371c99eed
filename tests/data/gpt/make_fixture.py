#!/usr/bin/python3
"""Writes tests/data/gpt/tiny_gpt.safetensors: a tiny GPT-2-style model in PyTorch, with every
number shoal's own GPT (models/gpt/gpt.h) must reproduce -- the llm.c test_gpt2 discipline.

The model is written here from its definition (pre-LayerNorm blocks, causal self-attention,
tanh-GELU MLP of 4 x C, learned positions, tied embeddings), with the parameter names and
[out, in] layouts of models/gpt/gpt.h. The file holds:
  param.<name>        the initial parameters (random, larger than GPT-2's init so that every
                      gradient is sizeable)
  tokens, targets     [B, T] token ids, stored as F32
  logits              [B, T, V] of the initial parameters
  loss                [1], the mean next-token cross-entropy
  grad.<name>         d loss / d param (of the mean loss)
  adamw_losses        [10]: the loss before each of 10 AdamW steps (lr 1e-2, betas (0.9, 0.999),
                      eps 1e-8, weight decay 0.1 on every parameter)
Run it with Debian's python3-torch (1.13): /usr/bin/python3 tests/data/gpt/make_fixture.py
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

V, T_MAX, L, NH, C = 32, 16, 2, 2, 16
B, T = 2, 16
torch.manual_seed(20240520)
torch.use_deterministic_algorithms(True)


def names():
    out = [("wte.weight", (V, C)), ("wpe.weight", (T_MAX, C))]
    for l in range(L):
        p = f"h.{l}."
        out += [(p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
                (p + "attn.c_attn.weight", (3 * C, C)), (p + "attn.c_attn.bias", (3 * C,)),
                (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
                (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
                (p + "mlp.c_fc.weight", (4 * C, C)), (p + "mlp.c_fc.bias", (4 * C,)),
                (p + "mlp.c_proj.weight", (C, 4 * C)), (p + "mlp.c_proj.bias", (C,))]
    return out + [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]


params = {}
for name, shape in names():
    t = torch.randn(shape, dtype=torch.float32) * 0.2
    if "ln_" in name and name.endswith(".weight"):
        t = 1.0 + t
    params[name] = t.requires_grad_(True)


def forward(p, tokens):
    hs = C // NH
    x = p["wte.weight"][tokens] + p["wpe.weight"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        q = f"h.{l}."
        h = F.layer_norm(x, (C,), p[q + "ln_1.weight"], p[q + "ln_1.bias"], eps=1e-5)
        qkv = F.linear(h, p[q + "attn.c_attn.weight"], p[q + "attn.c_attn.bias"])
        qq, kk, vv = qkv.split(C, dim=2)
        qq = qq.view(B, T, NH, hs).transpose(1, 2)
        kk = kk.view(B, T, NH, hs).transpose(1, 2)
        vv = vv.view(B, T, NH, hs).transpose(1, 2)
        att = (qq @ kk.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ vv).transpose(1, 2).contiguous().view(B, T, C)
        x = x + F.linear(y, p[q + "attn.c_proj.weight"], p[q + "attn.c_proj.bias"])
        h = F.layer_norm(x, (C,), p[q + "ln_2.weight"], p[q + "ln_2.bias"], eps=1e-5)
        h = F.gelu(F.linear(h, p[q + "mlp.c_fc.weight"], p[q + "mlp.c_fc.bias"]),
                   approximate="tanh")
        x = x + F.linear(h, p[q + "mlp.c_proj.weight"], p[q + "mlp.c_proj.bias"])
    x = F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"], eps=1e-5)
    return x @ p["wte.weight"].T


tokens = torch.randint(0, V, (B, T), dtype=torch.int64)
targets = torch.randint(0, V, (B, T), dtype=torch.int64)
initial = {k: v.detach().clone() for k, v in params.items()}
logits = forward(params, tokens)
loss = F.cross_entropy(logits.view(-1, V), targets.view(-1))
loss.backward()
grads = {k: v.grad.detach().clone() for k, v in params.items()}

opt = torch.optim.AdamW(list(params.values()), lr=1e-2, betas=(0.9, 0.999), eps=1e-8,
                        weight_decay=0.1)
losses = []
for step in range(10):
    opt.zero_grad()
    l10 = F.cross_entropy(forward(params, tokens).view(-1, V), targets.view(-1))
    losses.append(l10.item())
    l10.backward()
    opt.step()

tensors = {}
for k, v in initial.items():
    tensors["param." + k] = v
for k, v in grads.items():
    tensors["grad." + k] = v
# Token ids as F32 (exact below 2^24): shoal's safetensors reader takes F32 only.
tensors["tokens"] = tokens.to(torch.float32)
tensors["targets"] = targets.to(torch.float32)
tensors["logits"] = logits.detach()
tensors["loss"] = loss.detach().reshape(1)
tensors["adamw_losses"] = torch.tensor(losses, dtype=torch.float32)

# safetensors, written by its public specification (no extra package): an 8-byte little-endian
# header length, a JSON header, then the raw little-endian data.
header, blobs, offset = {}, [], 0
for name in sorted(tensors):
    t = tensors[name].contiguous()
    data = t.numpy().tobytes()
    header[name] = {"dtype": "I32" if t.dtype == torch.int32 else "F32",
                    "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
header["__metadata__"] = {"config": json.dumps({"vocabSize": V, "contextLength": T_MAX,
                                                "layers": L, "heads": NH, "embedDim": C,
                                                "B": B, "T": T}),
                          "torch": torch.__version__}
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny_gpt.safetensors")
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for b in blobs:
        f.write(b)
print(f"wrote {out}: loss {loss.item():.6f}, adamw losses {[round(x, 5) for x in losses]}")
