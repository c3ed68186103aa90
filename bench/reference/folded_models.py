"""The PyTorch networks the distillation and recovery benchmarks use as "models users bring", and
the recipe that trains them. Imported by make_folded_exports.py and distill_reference.py.

* CNN3(w1, w2, w3): conv3x3(1->w1)+BN+ReLU+maxpool2, conv3x3(w1->w2)+BN+ReLU+maxpool2,
  conv3x3(w2->w3)+BN+ReLU, global average pool, linear w3->10. (32, 64, 128) is the 3-conv CNN,
  (8, 16, 32) its width-8 student (6.6% of its parameters).
* ResNet8(w1, w2, w3) from train_resnet_pytorch.py: (16, 32, 64) and (32, 64, 128).

torch.onnx.export with its defaults (eval mode, constant folding, opset 13) folds every BatchNorm
into the conv before it, so the ONNX files have Conv (with bias), Relu, MaxPool, Add,
GlobalAveragePool/ReduceMean, Flatten and Gemm, and no BatchNormalization: deploy form.
"""
import sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

from train_resnet_pytorch import ResNet8


class CNN3(nn.Module):
    def __init__(self, widths=(32, 64, 128), classes=10, batchnorm=True):
        super().__init__()
        w1, w2, w3 = widths
        norm = (lambda c: nn.BatchNorm2d(c)) if batchnorm else (lambda c: nn.Identity())
        self.conv1, self.bn1 = nn.Conv2d(1, w1, 3, padding=1), norm(w1)
        self.conv2, self.bn2 = nn.Conv2d(w1, w2, 3, padding=1), norm(w2)
        self.conv3, self.bn3 = nn.Conv2d(w2, w3, 3, padding=1), norm(w3)
        self.fc = nn.Linear(w3, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def train(model, xtr, ytr, epochs, lr=2e-3, batch=128, seed=0, loss_fn=None, log=None):
    """AdamW (weight decay 0.01) with cosine annealing per step, batch 128, seed 0: the recipe of
    train_resnet_pytorch.py. loss_fn(x, logits, y) replaces cross-entropy (distillation)."""
    steps = epochs * ((len(xtr) + batch - 1) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(seed)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        total = 0.0
        for i in range(0, len(xtr), batch):
            b = perm[i:i + batch]
            logits = model(xtr[b])
            loss = F.cross_entropy(logits, ytr[b]) if loss_fn is None else loss_fn(xtr[b], logits, ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        if log:
            print(f"{log} epoch {epoch + 1}: loss {total / len(xtr):.4f} ({time.time() - start:.0f} s)", file=sys.stderr)
    return time.time() - start


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    return sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000)) / len(x)


def export(model, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)


def make(name):
    torch.manual_seed(0)
    return {"cnn3": lambda: CNN3((32, 64, 128)), "cnn3w8": lambda: CNN3((8, 16, 32)),
            "resnet8w1": lambda: ResNet8((16, 32, 64)), "resnet8w2": lambda: ResNet8((32, 64, 128))}[name]()
