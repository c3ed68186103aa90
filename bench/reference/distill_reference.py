"""PyTorch reference for `bench -- distill`: the width-8 student of the 3-conv CNN (folded_models.CNN3
(8, 16, 32), with its BatchNorms, as a PyTorch user trains it) trained alone and by Hinton logit
distillation from the BN-folded teacher export (weights read from the ONNX file), with the recipe
of folded_models.train (AdamW 2e-3, cosine per step, batch 128, seed 0) for the same epochs, and
the alpha policies Whittle offers:

* fixed: alpha throughout;
* early-stop: alpha for the first half of the epochs, then labels only (Cho & Hariharan 2019,
  "On the efficacy of knowledge distillation": stopping KD early closes the capacity gap);

Loss: alpha*T^2*KL(softmax(t/T) || softmax(s/T)) + (1-alpha)*CE(s, y).

Usage: /usr/bin/python3 bench/reference/distill_reference.py TEACHER.onnx EPOCHS [THREADS] [T:ALPHA:POLICY ...]
Default runs: alone, then 4:0.5:fixed 4:0.9:fixed 4:0.5:early. Prints one JSON line per run.
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
    teacher_path, epochs = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    runs = sys.argv[4:] or ["4:0.5:fixed", "4:0.9:fixed", "4:0.5:early"]
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    teacher = folded_teacher(teacher_path)
    print(json.dumps({"teacher": teacher_path, "test_accuracy": accuracy(teacher, xte, yte)}), flush=True)

    torch.manual_seed(0)
    student = CNN3((8, 16, 32))
    seconds = train(student, xtr, ytr, epochs, log="alone")
    print(json.dumps({"run": "alone", "epochs": epochs, "test_accuracy": accuracy(student, xte, yte), "seconds": round(seconds, 1)}), flush=True)

    steps_per_epoch = (len(xtr) + 127) // 128
    for spec in runs:
        t, alpha, policy = spec.split(":")
        t, alpha = float(t), float(alpha)
        step = [0]

        def loss_fn(x, s, y):
            epoch = step[0] // steps_per_epoch
            step[0] += 1
            a = alpha if policy == "fixed" or epoch < epochs // 2 else 0.0
            hard = F.cross_entropy(s, y)
            if a == 0:
                return hard
            with torch.no_grad():
                logits = teacher(x)
            soft = F.kl_div(F.log_softmax(s / t, 1), F.softmax(logits / t, 1), reduction="batchmean")
            return a * t * t * soft + (1 - a) * hard

        torch.manual_seed(0)
        student = CNN3((8, 16, 32))
        seconds = train(student, xtr, ytr, epochs, loss_fn=loss_fn, log=spec)
        print(json.dumps({"run": spec, "temperature": t, "alpha": alpha, "policy": policy, "epochs": epochs,
                          "test_accuracy": accuracy(student, xte, yte), "seconds": round(seconds, 1)}), flush=True)


if __name__ == "__main__":
    main()
