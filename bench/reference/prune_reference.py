"""PyTorch reference for `bench -- prune`: torch.nn.utils.prune.global_unstructured (L1, one-shot)
at the same sparsity on the same trained zoo ConvNet (weights read from the ONNX file), then the
same fine-tuning budget as Whittle (AdamW, cosine per step, same epochs, batch and learning rate,
full Fashion-MNIST training set), test accuracy on the 10k test set.

Usage: /usr/bin/python3 bench/reference/prune_reference.py MODEL.onnx SPARSITY EPOCHS LR BATCH [THREADS]
Prints one JSON line. Needs python3-torch and python3-onnx (Debian); Whittle itself never does.
"""
import json, math, sys, time
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.utils.prune as prune

from fashion_mnist import load


class ConvNet(nn.Module):
    """The zoo ConvNet (blocks of two Conv-BN-ReLU with max pooling, fc1-ReLU-Dropout-fc2), names as in the ONNX file."""

    def __init__(self, w):
        super().__init__()
        c1, c2 = w["block1.conv1.weight"].shape[0], w["block2.conv1.weight"].shape[0]
        hidden, classes = w["fc1.weight"].shape[0], w["fc2.weight"].shape[0]
        def block(cin, c):
            return nn.Sequential(nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                 nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2))
        self.block1, self.block2 = block(1, c1), block(c1, c2)
        self.fc1, self.fc2 = nn.Linear(w["fc1.weight"].shape[1], hidden), nn.Linear(hidden, classes)
        self.drop = nn.Dropout(0.25)
        names = {"block1.0": "block1.conv1", "block1.1": "block1.bn1", "block1.3": "block1.conv2", "block1.4": "block1.bn2",
                 "block2.0": "block2.conv1", "block2.1": "block2.bn1", "block2.3": "block2.conv2", "block2.4": "block2.bn2",
                 "fc1": "fc1", "fc2": "fc2"}
        state = {}
        for k in self.state_dict():
            prefix, field = k.rsplit(".", 1)
            if field == "num_batches_tracked":
                state[k] = torch.tensor(0)
                continue
            state[k] = torch.from_numpy(w[f"{names[prefix]}.{field}"].copy())
        self.load_state_dict(state)

    def forward(self, x):
        x = self.block2(self.block1(x)).flatten(1)
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def main():
    path, sparsity, epochs, lr, batch = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(int(sys.argv[6]) if len(sys.argv) > 6 else 1)
    torch.manual_seed(0)
    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    model = ConvNet(weights)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    dense = accuracy(model, xte, yte)
    layers = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=sparsity)
    oneshot = accuracy(model, xte, yte)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(xtr) / batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    start = time.time()
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), batch):
            j = order[i:i + batch]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xtr[j]), ytr[j]).backward()
            opt.step()
            sched.step()
    seconds = time.time() - start
    for m, name in layers:
        prune.remove(m, name)
    total = sum(m.weight.numel() for m, _ in layers)
    zeros = sum((m.weight == 0).sum().item() for m, _ in layers)
    print(json.dumps({"torch": torch.__version__, "denseAccuracy": dense, "oneShotAccuracy": oneshot, "fineTunedAccuracy": accuracy(model, xte, yte),
                      "sparsity": zeros / total, "epochs": epochs, "fineTuneSeconds": seconds}))


if __name__ == "__main__":
    main()
