#!/usr/bin/env python3
"""Builds data/fashion-mnist-mini: a stratified, seeded subset of Fashion-MNIST.

1,000 images per class from the training set (10,000) and 200 per class from the test
set (2,000), in the original order, written as gzipped IDX files identical in format to
the originals. Source: Debian package `dataset-fashion-mnist`. Standard library only.

Usage: python3 tools/make_fashion_mnist_mini.py [/usr/share/datasets/fashion-mnist] [data/fashion-mnist-mini]
"""
import gzip
import random
import struct
import sys
from pathlib import Path

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist")
DST = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).resolve().parent.parent / "data" / "fashion-mnist-mini")
SEED = 20261128


def read_idx(path):
    data = gzip.open(path, "rb").read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return data[:4], dims, data[4 + 4 * ndim:]


def write_idx(path, magic, dims, payload):
    header = magic + struct.pack(">" + "I" * len(dims), *dims)
    # mtime=0 keeps the output byte-identical across runs.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(header + payload)


def subset(split, per_class, rng):
    mi, di, images = read_idx(SRC / f"{split}-images-idx3-ubyte.gz")
    ml, dl, labels = read_idx(SRC / f"{split}-labels-idx1-ubyte.gz")
    n, rows, cols = di
    by_class = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    chosen = sorted(i for c in sorted(by_class) for i in rng.sample(by_class[c], per_class))
    size = rows * cols
    img = b"".join(images[i * size:(i + 1) * size] for i in chosen)
    lab = bytes(labels[i] for i in chosen)
    prefix = "train" if split == "train" else "t10k"
    write_idx(DST / f"{prefix}-images-idx3-ubyte.gz", mi, (len(chosen), rows, cols), img)
    write_idx(DST / f"{prefix}-labels-idx1-ubyte.gz", ml, (len(chosen),), lab)
    print(f"{split}: {len(chosen)} images")


if __name__ == "__main__":
    DST.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    subset("train", 1000, rng)
    subset("t10k", 200, rng)
