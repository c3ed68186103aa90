"""Makes the BatchNorm-folded PyTorch exports the distillation and recovery benchmarks start from
(bench/models/*-pytorch-fmnist.onnx): trains each network of folded_models.py with BatchNorm in
PyTorch on the full Fashion-MNIST (AdamW 2e-3, cosine per step, batch 128, seed 0), exports it with
torch.onnx.export's defaults, and exports the width-8 student freshly initialized (its BatchNorms,
at their initial statistics, fold to a per-channel identity).

Usage: /usr/bin/python3 bench/reference/make_folded_exports.py OUTDIR [THREADS]
Prints one JSON line per model (test accuracy in PyTorch, parameters, epochs, seconds).
"""
import json, os, sys
import torch

from fashion_mnist import load
from folded_models import accuracy, export, make, train

# name -> epochs; 0 exports the initialized network.
MODELS = [("cnn3", 3), ("resnet8w1", 3), ("cnn3w8", 0)]


def main():
    out = sys.argv[1]
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    os.makedirs(out, exist_ok=True)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    for name, epochs in MODELS:
        model = make(name)
        seconds = train(model, xtr, ytr, epochs, log=name) if epochs else 0.0
        suffix = "pytorch-fmnist" if epochs else "init-pytorch"
        path = os.path.join(out, f"{name}-{suffix}.onnx")
        export(model, path)
        print(json.dumps({"model": path, "epochs": epochs, "test_accuracy": accuracy(model, xte, yte),
                          "parameters": sum(p.numel() for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for p in m.parameters()),
                          "seconds": round(seconds, 1)}), flush=True)


if __name__ == "__main__":
    main()
