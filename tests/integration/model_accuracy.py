#!/usr/bin/python3
"""Test accuracy of a published shoal MLP, computed outside shoal.

Reads model.safetensors by the format's public specification (an 8-byte little-endian header
length, a JSON header of {name: {dtype, shape, data_offsets}}, then the raw tensors) with numpy,
normalizes Fashion-MNIST as the job's spec says (pixels / 255, then the training set's mean and
standard deviation), runs the MLP's forward pass (ReLU between layers) on the test set and prints
the accuracy. Used by registry_test to check that a published model reproduces its job's
accuracy.

usage: model_accuracy.py MODEL.safetensors IDX_DIR
"""
import gzip
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[base + begin:base + end], dtype="<f4").reshape(
            info["shape"])
    return tensors


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def main():
    model, idx_dir = sys.argv[1], sys.argv[2]
    tensors = read_safetensors(model)
    layers = sorted({int(n.split(".")[1]) for n in tensors if n.startswith("layers.")})
    train = read_idx(idx_dir + "/train-images-idx3-ubyte.gz").reshape(60000, -1)
    test = read_idx(idx_dir + "/t10k-images-idx3-ubyte.gz").reshape(10000, -1)
    labels = read_idx(idx_dir + "/t10k-labels-idx1-ubyte.gz")
    scaled = train.astype(np.float64) / 255.0
    mean, std = scaled.mean(), scaled.std()
    x = ((test.astype(np.float64) / 255.0 - mean) / std).astype(np.float32)
    for i, l in enumerate(layers):
        x = x @ tensors["layers.%d.weight" % l].T + tensors["layers.%d.bias" % l]
        if i + 1 < len(layers):
            x = np.maximum(x, 0)
    accuracy = float((x.argmax(axis=1) == labels).mean())
    print("%.6f" % accuracy)


if __name__ == "__main__":
    main()
