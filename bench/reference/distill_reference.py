"""PyTorch reference for `bench -- distill`: the width-8 student of the 3-conv CNN (folded_models.CNN3
(8, 16, 32), with its BatchNorms, as a PyTorch user trains it) trained alone and by Hinton logit
distillation from the BN-folded teacher export (weights read from the ONNX file), with the recipe
of folded_models.train (AdamW 2e-3, cosine per step, batch 128, seed 0) for the same epochs, and
the alpha policies Whittle offers:

* fixed: alpha throughout;
* early: alpha for the first 60 % of the epochs (rounded half up, at least one), then labels only, the limit of
  Whittle's adaptive policy (Cho & Hariharan 2019, "On the efficacy of knowledge distillation": stopping KD
  early closes the capacity gap);

Loss: alpha*T^2*KL(softmax(t/T) || softmax(s/T)) + (1-alpha)*CE(s, y); with a fourth field "ls"
(T:ALPHA:POLICY:ls) the KL compares Z-scored logits (logit standardization, Sun et al. CVPR 2024:
(z - mean) / (std + 1e-7) per sample, for student and teacher), CE stays on the raw logits.

Usage: /usr/bin/python3 bench/reference/distill_reference.py TEACHER.onnx EPOCHS [THREADS] [--seeds N] [T:ALPHA:POLICY[:ls] ...]
Default runs: alone, then 4:0.5:fixed 4:0.9:fixed 4:0.5:early. Every run for seeds 0..N-1 (default 1).
Prints one JSON line per run and seed.
"""
import json, sys
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F

from fashion_mnist import load
from folded_models import CNN3, accuracy, train


def folded_teacher(path):
    """The BN-folded CNN3 of an ONNX export: Conv and Gemm weights in graph order."""
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    layers = [n for n in m.graph.node if n.op_type in ("Conv", "Gemm")]
    w = [inits[n.input[1]] for n in layers]
    teacher = CNN3((w[0].shape[0], w[1].shape[0], w[2].shape[0]), batchnorm=False)
    state = {}
    for name, node in zip(["conv1", "conv2", "conv3", "fc"], layers):
        state[f"{name}.weight"] = torch.from_numpy(inits[node.input[1]].copy())
        state[f"{name}.bias"] = torch.from_numpy(inits[node.input[2]].copy())
    teacher.load_state_dict(state)
    return teacher.eval()


def main():
    args = sys.argv[1:]
    seeds = 1
    if "--seeds" in args:
        i = args.index("--seeds")
        seeds = int(args[i + 1])
        del args[i:i + 2]
    teacher_path, epochs = args[0], int(args[1])
    torch.set_num_threads(int(args[2]) if len(args) > 2 else 2)
    runs = args[3:] or ["4:0.5:fixed", "4:0.9:fixed", "4:0.5:early"]
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    teacher = folded_teacher(teacher_path)
    print(json.dumps({"teacher": teacher_path, "test_accuracy": accuracy(teacher, xte, yte)}), flush=True)

    for seed in range(seeds):
        torch.manual_seed(seed)
        student = CNN3((8, 16, 32))
        seconds = train(student, xtr, ytr, epochs, seed=seed, log="alone")
        print(json.dumps({"run": "alone", "seed": seed, "epochs": epochs, "test_accuracy": accuracy(student, xte, yte), "seconds": round(seconds, 1)}), flush=True)

    steps_per_epoch = (len(xtr) + 127) // 128
    distilled_epochs = max(1, int(0.6 * epochs + 0.5))
    for spec, seed in [(spec, seed) for spec in runs for seed in range(seeds)]:
        fields = spec.split(":")
        t, alpha, policy = float(fields[0]), float(fields[1]), fields[2]
        standardize = len(fields) > 3 and fields[3] == "ls"
        step = [0]

        def loss_fn(x, s, y):
            epoch = step[0] // steps_per_epoch
            step[0] += 1
            a = alpha if policy == "fixed" or epoch < distilled_epochs else 0.0
            hard = F.cross_entropy(s, y)
            if a == 0:
                return hard
            with torch.no_grad():
                logits = teacher(x)
            zs, zt = (standardized(s), standardized(logits)) if standardize else (s, logits)
            soft = F.kl_div(F.log_softmax(zs / t, 1), F.softmax(zt / t, 1), reduction="batchmean")
            return a * t * t * soft + (1 - a) * hard

        torch.manual_seed(seed)
        student = CNN3((8, 16, 32))
        seconds = train(student, xtr, ytr, epochs, seed=seed, loss_fn=loss_fn, log=spec)
        print(json.dumps({"run": spec, "seed": seed, "temperature": t, "alpha": alpha, "policy": policy, "standardized": standardize, "epochs": epochs,
                          "test_accuracy": accuracy(student, xte, yte), "seconds": round(seconds, 1)}), flush=True)


def standardized(z):
    return (z - z.mean(dim=1, keepdim=True)) / (z.std(dim=1, keepdim=True) + 1e-7)


if __name__ == "__main__":
    main()
