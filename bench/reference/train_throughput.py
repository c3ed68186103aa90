#!/usr/bin/env python3
"""PyTorch reference for bench/Whittle.Bench EngineTrainingBenchmark: training samples/s of the
zoo ConvNet architecture (two blocks of two Conv-BN-ReLU, max pooling, 128-wide hidden layer,
dropout 0.25) with AdamW on random data. Prints one JSON line. Needs python3-torch (Debian).
"""
import argparse
import json
import time

import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("--c1", type=int, default=16)
p.add_argument("--c2", type=int, default=32)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--steps", type=int, default=120)
p.add_argument("--batch", type=int, default=128)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


model = nn.Sequential(*block(1, a.c1), *block(a.c1, a.c1), nn.MaxPool2d(2), *block(a.c1, a.c2), *block(a.c2, a.c2), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(a.c2 * 49, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))
opt = torch.optim.AdamW(model.parameters(), 1e-3)
x = torch.randn(a.batch, 1, 28, 28)
y = torch.randint(0, 10, (a.batch,))
model.train()


def step():
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()


for _ in range(3):
    step()
start = time.perf_counter()
for _ in range(a.steps):
    step()
seconds = time.perf_counter() - start
print(json.dumps({"torch": torch.__version__, "samples_per_second": a.steps * a.batch / seconds, "steps": a.steps, "batch": a.batch, "threads": a.threads}))
