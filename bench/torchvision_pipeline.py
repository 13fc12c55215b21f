"""Single-thread throughput of the torchvision + PIL decode and augmentation that kubecnn replaces.

Usage: torchvision_pipeline.py [image_dir] [seconds_per_config]
Prints one "RESULT <config> <images/s>" line per configuration for bench/run_data_bench.sh.
The JPEG bytes are read into memory first, so no file I/O is timed (same as data_pipeline_bench).
"""
import io
import pathlib
import sys
import time

import torch
from PIL import Image
from torchvision import transforms


def load_jpegs(folder):
    paths = sorted(p for p in pathlib.Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    return [p.read_bytes() for p in paths]


def measure(images, transform, seconds):
    """Whole passes over the images until `seconds` have passed; returns images per second."""

    def run_pass():
        for data in images:
            transform(Image.open(io.BytesIO(data)).convert("RGB"))

    run_pass()  # warm-up
    done = 0
    start = time.perf_counter()
    while True:
        run_pass()
        done += len(images)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/testdata/jpeg-imagenet-samples"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    torch.set_num_threads(1)
    torch.manual_seed(2024)
    images = load_jpegs(folder)
    if not images:
        sys.exit(f"torchvision_pipeline: no .jpg/.jpeg files in {folder}")
    import PIL
    import torchvision

    print(f"torchvision_pipeline: {len(images)} JPEGs, torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}, Pillow {PIL.__version__}, 1 thread")
    configs = {
        "train": transforms.Compose([
            transforms.RandomResizedCrop(224),
            transforms.RandomHorizontalFlip(),
            transforms.PILToTensor(),
        ]),
        "eval": transforms.Compose([
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.PILToTensor(),
        ]),
    }
    for name, transform in configs.items():
        print(f"RESULT {name} {measure(images, transform, seconds):.1f}", flush=True)


if __name__ == "__main__":
    main()
