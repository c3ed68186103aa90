"""Full Fashion-MNIST (Debian's dataset-fashion-mnist) as the reference scripts here feed it to
PyTorch: float32 [N, 1, 28, 28] scaled to [0, 1] and normalized with mean 0.2860, std 0.3530 (the
`--normalize 0.2860,0.3530` Whittle uses), int64 labels. Imported by prune_reference.py and
train_resnet_pytorch.py, which run from this folder's path (`python3 bench/reference/X.py`).
"""
import gzip
import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(path):
    """An IDX file (gzipped) as a uint8 array of its declared shape."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split):
    """split is "train" or "t10k"; returns (images, labels) as torch tensors."""
    x = idx(f"{DATA}/{split}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = idx(f"{DATA}/{split}-labels-idx1-ubyte.gz").astype(np.int64)
    x = (x - MEAN) / STD
    return torch.from_numpy(x[:, None, :, :].copy()), torch.from_numpy(y.copy())
