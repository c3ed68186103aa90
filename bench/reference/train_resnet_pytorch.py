"""Trains a CIFAR-style ResNet-8 in PyTorch on the full Fashion-MNIST and exports it to ONNX with
torch.onnx.export's defaults (eval mode, constant folding: PyTorch folds each BatchNorm into its
Conv), the way a PyTorch user hands a model to ONNX Runtime. `bench -- prune` prunes this file as
"a PyTorch-exported model"; it is kept in bench/models/ so the bench does not need PyTorch.

Architecture: conv3x3(1->32)+BN+ReLU, three BasicBlocks (32, 64 stride 2, 128 stride 2; the last
two with a 1x1 conv+BN downsample), global average pool, linear 128->10. Channel counts are
multiples of 16 so that half of each is still a multiple of ONNX Runtime's NCHWc block (16 with
AVX-512, 8 with AVX2).

Usage: /usr/bin/python3 bench/reference/train_resnet_pytorch.py OUT.onnx [EPOCHS] [THREADS]
Prints one JSON line (test accuracy in PyTorch, parameters, seconds). Needs python3-torch.
"""
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

from fashion_mnist import load


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet8(nn.Module):
    def __init__(self, widths=(32, 64, 128), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.layer1 = Block(widths[0], widths[0], 1)
        self.layer2 = Block(widths[0], widths[1], 2)
        self.layer3 = Block(widths[1], widths[2], 2)
        self.fc = nn.Linear(widths[2], classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    out = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    torch.manual_seed(0)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    model = ResNet8()
    batch, lr = 128, 2e-3
    steps = epochs * ((len(xtr) + batch - 1) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    start = time.time()
    g = torch.Generator().manual_seed(0)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        total = 0.0
        for i in range(0, len(xtr), batch):
            b = perm[i:i + batch]
            loss = F.cross_entropy(model(xtr[b]), ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        print(f"epoch {epoch + 1}: loss {total / len(xtr):.4f} ({time.time() - start:.0f} s)", file=sys.stderr)
    model.eval()
    with torch.no_grad():
        correct = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000))
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    print(json.dumps({"model": out, "epochs": epochs, "test_accuracy": correct / len(xte),
                      "parameters": sum(p.numel() for p in model.parameters()), "seconds": round(time.time() - start, 1)}))


if __name__ == "__main__":
    main()
