#!/usr/bin/python3
"""Calibration-like inputs for the pretrained ResNet18 of the NuGet package
Microsoft.ML.DnnImageFeaturizer.ResNet18 (a CNTK export).

No ImageNet images are available on these machines, so the inputs are real photographs of a
different kind: Fashion-MNIST test images (Debian package dataset-fashion-mnist), upsampled to
224x224, replicated to three channels and preprocessed exactly as the package's own
ResNetPreprocess.onnx does (RGB -> BGR, minus its mean image, values 0-255). Numbers measured on
them are labelled "Fashion-MNIST upscaled" wherever they are shown.

usage: make_resnet18_calibration.py PACKAGE_DIR OUT.npy [COUNT]
"""
import gzip
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F


def main():
    package, out = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 96
    prep = onnx.load(f"{package}/tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx")
    mean = next(numpy_helper.to_array(t) for t in prep.graph.initializer if t.name == "MeanImage").astype(np.float32)
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(images), size=count, replace=False)
    x = torch.from_numpy(images[pick].astype(np.float32))
    x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1).numpy()
    x = x[:, ::-1, :, :] - mean.reshape(1, 3, 224, 224)  # RGB -> BGR (identical channels here), minus the mean image
    np.save(out, np.ascontiguousarray(x, dtype=np.float32))
    print(f"wrote {out}: {x.shape}, mean {x.mean():.2f}, std {x.std():.2f}")


if __name__ == "__main__":
    main()
