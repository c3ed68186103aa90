#!/usr/bin/env python3
"""PyTorch reference for Whittle's post-training static int8 quantization of the trained
Fashion-MNIST ConvNet (bench/models/convnet-fmnist.onnx), for a side-by-side comparison.

What it measures
  1. Converts the ONNX graph to a torch.fx.GraphModule with exactly the ONNX weights. The
     converter is small and explicit: Conv (2-D), BatchNormalization (inference: running
     mean/var), Relu, MaxPool (2-D), Flatten (axis 1), Gemm (transA=0; transB, alpha, beta
     honoured), Dropout (identity at inference), Add, plus Constant nodes that only feed
     Dropout's ratio. Any other op, or an attribute this converter does not implement, stops the
     script with an error naming the node. No third-party converter is used.
  2. Loads the full Fashion-MNIST (apt package dataset-fashion-mnist) and normalises it the way
     Whittle does: x/255, then (x - 0.2860)/0.3530.
  3. Checks the float torch model reproduces the model's known test accuracy (92.75%, measured
     by `whittle eval` in ONNX Runtime) to within 0.05 points; a larger gap is a converter bug.
  4. Quantizes with torch.ao.quantization in FX graph mode: prepare_fx / convert_fx with
     get_default_qconfig_mapping(engine) (per-channel symmetric int8 weights, histogram-observed
     uint8 activations), engine "onednn" if this build has it, else "x86", else "fbgemm". FX fuses
     Conv+BN+ReLU (BN folded into the conv). Calibration: the first 512 training images after a
     seeded shuffle (torch.randperm with a torch.Generator seeded 0). Then int8 test accuracy and
     macro-F1 (numpy) on all 10,000 test images, and top-1 agreement with the float model.
  5. Latency with torch.set_num_threads(2) under torch.inference_mode(): float (the converted
     module as is, BN not folded) and int8, interleaved A,B,A,B, 20 warm-up + 200 timed runs each,
     at batch 64 (first 64 test images) and batch 1 (first test image); p50 in ms (p90 and min
     too). The machine is shared, so the JSON records the 1-minute load average around the timing;
     when it exceeds the CPU count the absolute times are inflated and only the interleaved
     int8/float ratio (and the minima) mean much.
  6. Writes bench/results/ptq-pytorch.json atomically (temp file + os.replace) and prints a table.

Command (from the repository root; a few minutes on 2 cores):
    /usr/bin/python3 bench/reference/ptq_pytorch.py

Needs /usr/bin/python3 with PyTorch 1.13 (CPU), onnx and numpy. Whittle itself never needs Python.
"""
import copy
import gzip
import json
import operator
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import fx, nn
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

ROOT = Path(__file__).resolve().parents[2]
MODEL_PATH = ROOT / "bench" / "models" / "convnet-fmnist.onnx"
DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
RESULT_PATH = ROOT / "bench" / "results" / "ptq-pytorch.json"
COMMAND = "/usr/bin/python3 bench/reference/ptq_pytorch.py"

MEAN, STD = 0.2860, 0.3530
KNOWN_FLOAT_ACCURACY = 92.75  # percent, `whittle eval` in ONNX Runtime (bench/models/README.md)
ACCURACY_TOLERANCE = 0.05  # points
CALIBRATION_SAMPLES = 512
CALIBRATION_SEED = 0
THREADS = 2
WARMUP_RUNS = 20
TIMED_RUNS = 200
EVAL_BATCH = 500
NUM_CLASSES = 10


class ConversionError(Exception):
    """The ONNX graph uses something this small converter does not implement."""


# ----------------------------------------------------------------------------------------------
# ONNX -> torch.fx converter
# ----------------------------------------------------------------------------------------------

def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _where(node):
    return f"{MODEL_PATH.name}: node '{node.name or node.output[0]}' ({node.op_type})"


def _check_attrs(node, attrs, allowed):
    unknown = sorted(set(attrs) - set(allowed))
    if unknown:
        raise ConversionError(f"{_where(node)}: unsupported attribute(s) {unknown}")


def _symmetric_pads(node, pads, rank):
    if pads is None:
        return [0] * rank
    begin, end = list(pads[:rank]), list(pads[rank:])
    if begin != end:
        raise ConversionError(f"{_where(node)}: asymmetric pads {list(pads)} are not supported")
    return begin


def _check_auto_pad(node, attrs):
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad != "NOTSET":
        raise ConversionError(f"{_where(node)}: auto_pad={auto_pad} is not supported (only explicit pads)")


def onnx_to_torch(model: onnx.ModelProto) -> fx.GraphModule:
    """Builds a GraphModule whose submodules hold exactly the ONNX initializers."""
    graph = model.graph
    inits = {t.name: numpy_helper.to_array(t).copy() for t in graph.initializer}
    consts = {}  # outputs of Constant nodes
    used_inits = set()

    def weight(node, index, required=True):
        if index >= len(node.input) or node.input[index] == "":
            if required:
                raise ConversionError(f"{_where(node)}: input {index} is missing")
            return None
        name = node.input[index]
        if name in inits:
            used_inits.add(name)
            return torch.from_numpy(inits[name])
        if name in consts:
            return torch.from_numpy(consts[name])
        raise ConversionError(f"{_where(node)}: input {index} ('{name}') must be an initializer or Constant")

    g = fx.Graph()
    root = nn.Module()
    values = {}
    graph_inputs = [i for i in graph.input if i.name not in inits]
    if len(graph_inputs) != 1:
        raise ConversionError(f"{MODEL_PATH.name}: expected one graph input, found {[i.name for i in graph_inputs]}")
    values[graph_inputs[0].name] = g.placeholder("input")

    def add_module(node, module, x):
        name = f"m{len(list(root.children()))}_{node.op_type.lower()}"
        root.add_module(name, module)
        node_out = g.call_module(name, (x,))
        values[node.output[0]] = node_out

    def activation(node, index=0):
        name = node.input[index]
        if name not in values:
            raise ConversionError(f"{_where(node)}: input '{name}' is not a computed tensor")
        return values[name]

    for node in graph.node:
        op, attrs = node.op_type, _attrs(node)
        if node.domain not in ("", "ai.onnx"):
            raise ConversionError(f"{_where(node)}: domain '{node.domain}' is not supported")
        if op == "Constant":
            _check_attrs(node, attrs, ["value"])
            consts[node.output[0]] = numpy_helper.to_array(attrs["value"]).copy()
        elif op == "Conv":
            _check_attrs(node, attrs, ["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"])
            _check_auto_pad(node, attrs)
            w = weight(node, 1)
            b = weight(node, 2, required=False)
            if w.dim() != 4:
                raise ConversionError(f"{_where(node)}: only 2-D convolution is supported (weight rank {w.dim()})")
            group = attrs.get("group", 1)
            if "kernel_shape" in attrs and list(attrs["kernel_shape"]) != list(w.shape[2:]):
                raise ConversionError(f"{_where(node)}: kernel_shape {attrs['kernel_shape']} disagrees with weight {list(w.shape)}")
            conv = nn.Conv2d(w.shape[1] * group, w.shape[0], tuple(w.shape[2:]),
                             stride=tuple(attrs.get("strides", [1, 1])),
                             padding=tuple(_symmetric_pads(node, attrs.get("pads"), 2)),
                             dilation=tuple(attrs.get("dilations", [1, 1])),
                             groups=group, bias=b is not None)
            with torch.no_grad():
                conv.weight.copy_(w)
                if b is not None:
                    conv.bias.copy_(b)
            add_module(node, conv, activation(node))
        elif op == "BatchNormalization":
            _check_attrs(node, attrs, ["epsilon", "momentum", "training_mode", "spatial"])
            if attrs.get("training_mode", 0) != 0 or len(node.output) > 1:
                raise ConversionError(f"{_where(node)}: training-mode BatchNormalization is not supported")
            if attrs.get("spatial", 1) != 1:
                raise ConversionError(f"{_where(node)}: spatial=0 is not supported")
            scale, bias, mean, var = (weight(node, i) for i in range(1, 5))
            bn = nn.BatchNorm2d(scale.shape[0], eps=attrs.get("epsilon", 1e-5))
            with torch.no_grad():
                bn.weight.copy_(scale)
                bn.bias.copy_(bias)
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
            add_module(node, bn, activation(node))
        elif op == "Relu":
            _check_attrs(node, attrs, [])
            add_module(node, nn.ReLU(), activation(node))
        elif op == "MaxPool":
            _check_attrs(node, attrs, ["kernel_shape", "strides", "pads", "dilations", "ceil_mode",
                                       "storage_order", "auto_pad"])
            _check_auto_pad(node, attrs)
            if attrs.get("storage_order", 0) != 0 or len(node.output) > 1:
                raise ConversionError(f"{_where(node)}: Indices output / storage_order is not supported")
            kernel = list(attrs["kernel_shape"])
            if len(kernel) != 2:
                raise ConversionError(f"{_where(node)}: only 2-D max pooling is supported")
            pool = nn.MaxPool2d(tuple(kernel), stride=tuple(attrs.get("strides", [1, 1])),
                                padding=tuple(_symmetric_pads(node, attrs.get("pads"), 2)),
                                dilation=tuple(attrs.get("dilations", [1, 1])),
                                ceil_mode=bool(attrs.get("ceil_mode", 0)))
            add_module(node, pool, activation(node))
        elif op == "Flatten":
            _check_attrs(node, attrs, ["axis"])
            if attrs.get("axis", 1) != 1:
                raise ConversionError(f"{_where(node)}: only axis=1 is supported (got {attrs['axis']})")
            add_module(node, nn.Flatten(1), activation(node))
        elif op == "Gemm":
            # Y = alpha * A @ B' + beta * C with B' = B^T if transB; nn.Linear computes x @ W^T + b.
            _check_attrs(node, attrs, ["alpha", "beta", "transA", "transB"])
            if attrs.get("transA", 0) != 0:
                raise ConversionError(f"{_where(node)}: transA=1 is not supported")
            alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
            b = weight(node, 1)
            w = b if attrs.get("transB", 0) else b.t()  # [out, in]
            c = weight(node, 2, required=False)
            if c is not None:
                if c.numel() not in (1, w.shape[0]) or (c.dim() == 2 and c.shape[0] != 1) or c.dim() > 2:
                    raise ConversionError(f"{_where(node)}: bias C of shape {list(c.shape)} is not per-output")
                c = c.reshape(-1).expand(w.shape[0])
            linear = nn.Linear(w.shape[1], w.shape[0], bias=c is not None and beta != 0.0)
            with torch.no_grad():
                linear.weight.copy_(alpha * w)
                if linear.bias is not None:
                    linear.bias.copy_(beta * c)
            add_module(node, linear, activation(node))
        elif op == "Dropout":
            _check_attrs(node, attrs, ["seed", "ratio"])
            if len(node.output) > 1 and node.output[1] != "":
                raise ConversionError(f"{_where(node)}: the mask output is not supported")
            if len(node.input) > 2 and node.input[2] != "":
                mode = weight(node, 2)
                if bool(mode.item()):
                    raise ConversionError(f"{_where(node)}: training_mode=true is not supported")
            ratio = weight(node, 1, required=False)
            p = float(ratio.item()) if ratio is not None else float(attrs.get("ratio", 0.5))
            add_module(node, nn.Dropout(p), activation(node))  # identity in eval()
        elif op == "Add":
            _check_attrs(node, attrs, [])
            values[node.output[0]] = g.call_function(operator.add, (activation(node, 0), activation(node, 1)))
        else:
            raise ConversionError(f"{_where(node)}: op '{op}' is not supported by this converter")

    outputs = [o.name for o in graph.output]
    if len(outputs) != 1:
        raise ConversionError(f"{MODEL_PATH.name}: expected one graph output, found {outputs}")
    g.output(values[outputs[0]])
    unused = sorted(set(inits) - used_inits)
    if unused:
        raise ConversionError(f"{MODEL_PATH.name}: initializers not consumed by the converter: {unused}")
    gm = fx.GraphModule(root, g)
    gm.eval()
    return gm


# ----------------------------------------------------------------------------------------------
# Data and metrics
# ----------------------------------------------------------------------------------------------

def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:  # unsigned byte
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic 0x{magic:08x})")
    rank = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load_split(prefix: str):
    images = DATA_DIR / f"{prefix}-images-idx3-ubyte.gz"
    labels = DATA_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    for p in (images, labels):
        if not p.exists():
            sys.exit(f"{p}: missing; install it with `apt-get install dataset-fashion-mnist`")
    x = read_idx(images).astype(np.float32) / 255.0
    x = (x - np.float32(MEAN)) / np.float32(STD)
    y = read_idx(labels).astype(np.int64)
    return torch.from_numpy(np.ascontiguousarray(x[:, None, :, :])), y


def predict(model, x: torch.Tensor) -> np.ndarray:
    preds = []
    with torch.inference_mode():
        for i in range(0, x.shape[0], EVAL_BATCH):
            preds.append(model(x[i:i + EVAL_BATCH]).argmax(1).numpy())
    return np.concatenate(preds)


def accuracy_percent(pred: np.ndarray, y: np.ndarray) -> float:
    return 100.0 * float((pred == y).mean())


def macro_f1(pred: np.ndarray, y: np.ndarray, k: int = NUM_CLASSES) -> float:
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y, pred), 1)
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1.mean())


# ----------------------------------------------------------------------------------------------
# Latency
# ----------------------------------------------------------------------------------------------

def interleaved_p50(models: dict, x: torch.Tensor) -> dict:
    """Alternates the models run by run so both see the same machine load; p50 of TIMED_RUNS."""
    names = list(models)
    times = {n: [] for n in names}
    with torch.inference_mode():
        for i in range(WARMUP_RUNS + TIMED_RUNS):
            for n in names:
                start = time.perf_counter()
                models[n](x)
                elapsed = time.perf_counter() - start
                if i >= WARMUP_RUNS:
                    times[n].append(elapsed * 1000.0)
    return {n: {"p50Ms": round(float(np.median(t)), 4),
                "p90Ms": round(float(np.percentile(t, 90)), 4),
                "minMs": round(float(np.min(t)), 4)} for n, t in times.items()}


def choose_engine() -> str:
    supported = torch.backends.quantized.supported_engines
    for engine in ("onednn", "x86", "fbgemm"):
        if engine in supported:
            return engine
    sys.exit(f"no x86 quantized engine in this PyTorch build (supported: {supported})")


def write_json_atomically(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main() -> None:
    torch.set_num_threads(THREADS)
    t0 = time.perf_counter()

    onnx_model = onnx.load(str(MODEL_PATH))
    onnx.checker.check_model(onnx_model)
    try:
        float_model = onnx_to_torch(onnx_model)
    except ConversionError as e:
        sys.exit(f"error: {e}")
    ops = sorted({n.op_type for n in onnx_model.graph.node})

    x_train, _ = load_split("train")
    x_test, y_test = load_split("t10k")

    float_pred = predict(float_model, x_test)
    float_acc = accuracy_percent(float_pred, y_test)
    float_f1 = macro_f1(float_pred, y_test)
    print(f"float torch accuracy {float_acc:.2f}% (known {KNOWN_FLOAT_ACCURACY:.2f}%), macro-F1 {float_f1:.4f}")
    assert abs(float_acc - KNOWN_FLOAT_ACCURACY) <= ACCURACY_TOLERANCE + 1e-9, (
        f"float torch accuracy {float_acc:.2f}% differs from the known {KNOWN_FLOAT_ACCURACY:.2f}% "
        f"by more than {ACCURACY_TOLERANCE} points: converter bug")

    engine = choose_engine()
    torch.backends.quantized.engine = engine
    qconfig_mapping = get_default_qconfig_mapping(engine)
    gen = torch.Generator().manual_seed(CALIBRATION_SEED)
    calib_idx = torch.randperm(x_train.shape[0], generator=gen)[:CALIBRATION_SAMPLES]
    calib = x_train[calib_idx]

    prepared = prepare_fx(copy.deepcopy(float_model),  # keep the float baseline untouched
                         qconfig_mapping, example_inputs=(calib[:1],))
    with torch.inference_mode():
        for i in range(0, CALIBRATION_SAMPLES, 64):
            prepared(calib[i:i + 64])
    int8_model = convert_fx(prepared)
    int8_model.eval()
    int8_modules = sorted({type(m).__module__ + "." + type(m).__name__ for m in int8_model.modules()
                           if "quantized" in type(m).__module__})

    int8_pred = predict(int8_model, x_test)
    int8_acc = accuracy_percent(int8_pred, y_test)
    int8_f1 = macro_f1(int8_pred, y_test)
    agreement = accuracy_percent(int8_pred, float_pred)
    print(f"int8 ({engine}) accuracy {int8_acc:.2f}%, macro-F1 {int8_f1:.4f}, top-1 agreement with float {agreement:.2f}%")

    load_before = os.getloadavg()
    latency = {}
    for batch in (1, 64):
        latency[batch] = interleaved_p50({"float": float_model, "int8": int8_model}, x_test[:batch].contiguous())

    result = {
        "benchmark": "ptq-pytorch",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": COMMAND,
        "argv": [sys.executable] + sys.argv,
        "machine": {"cpuCount": os.cpu_count(), "platform": platform.platform(), "threads": THREADS,
                    # the machine is shared: absolute latencies are only comparable at similar load
                    "loadAverage1mBeforeLatency": round(load_before[0], 2),
                    "loadAverage1mAfterLatency": round(os.getloadavg()[0], 2)},
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "engine": engine,
        "supportedEngines": list(torch.backends.quantized.supported_engines),
        "model": str(MODEL_PATH.relative_to(ROOT)),
        "onnxOps": ops,
        "quantization": {
            "api": "torch.ao.quantization FX: prepare_fx/convert_fx, get_default_qconfig_mapping(engine)",
            "qconfig": str(qconfig_mapping.global_qconfig),
            "fusion": "Conv+BN+ReLU fused by FX (BN folded), Linear+ReLU fused",
            "quantizedModules": int8_modules,
            "calibrationSamples": CALIBRATION_SAMPLES,
            "calibrationSelection": f"first {CALIBRATION_SAMPLES} of torch.randperm(60000, generator seeded {CALIBRATION_SEED}) over the training set",
        },
        "data": {"test": "fashion-mnist t10k, 10,000 images", "normalize": [MEAN, STD]},
        "float": {"accuracy": round(float_acc, 2), "macroF1": round(float_f1, 4),
                  "knownAccuracy": KNOWN_FLOAT_ACCURACY},
        "int8": {"accuracy": round(int8_acc, 2), "macroF1": round(int8_f1, 4),
                 "top1AgreementWithFloat": round(agreement, 2)},
        "accuracyDropPoints": round(float_acc - int8_acc, 2),
        "latency": {
            "method": f"interleaved float,int8 runs; {WARMUP_RUNS} warm-up + {TIMED_RUNS} timed each; "
                      f"torch.inference_mode; torch.set_num_threads({THREADS}); float = converted module, BN not folded",
            "batch1": {**latency[1], "int8OverFloatP50": round(latency[1]["int8"]["p50Ms"] / latency[1]["float"]["p50Ms"], 3)},
            "batch64": {**latency[64], "int8OverFloatP50": round(latency[64]["int8"]["p50Ms"] / latency[64]["float"]["p50Ms"], 3)},
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_json_atomically(RESULT_PATH, result)

    print()
    print(f"PyTorch {torch.__version__} PTQ, engine {engine}, {CALIBRATION_SAMPLES} calibration samples, {THREADS} threads")
    print(f"{'variant':<8} {'accuracy %':>10} {'macro-F1':>9} {'b1 p50 ms':>10} {'b64 p50 ms':>11}")
    for name, acc, f1 in (("float", float_acc, float_f1), ("int8", int8_acc, int8_f1)):
        print(f"{name:<8} {acc:>10.2f} {f1:>9.4f} {latency[1][name]['p50Ms']:>10.4f} {latency[64][name]['p50Ms']:>11.4f}")
    print(f"accuracy drop {float_acc - int8_acc:.2f} points; int8/float p50: batch 1 "
          f"{result['latency']['batch1']['int8OverFloatP50']:.3f}, batch 64 {result['latency']['batch64']['int8OverFloatP50']:.3f}")
    m = result["machine"]
    if max(m["loadAverage1mBeforeLatency"], m["loadAverage1mAfterLatency"]) > (os.cpu_count() or 1):
        print(f"note: load average {m['loadAverage1mBeforeLatency']} -> {m['loadAverage1mAfterLatency']} on "
              f"{os.cpu_count()} CPUs while timing; absolute latencies are inflated, the interleaved ratio is the robust number")
    print(f"wrote {RESULT_PATH.relative_to(ROOT)} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
