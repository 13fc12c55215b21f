"""PyTorch eager AMP reference for `kubecnn-trainer bench` on one GPU: torchvision ResNet-50,
channels_last, autocast (fp16 with a GradScaler, or bf16), SGD with momentum 0.9 and weight decay,
synthetic uint8 images normalised on the GPU as the trainer does. Prints images/s as the mean of
per-step speeds after a burn-in, like nvcnn's (and kubecnn-trainer's) "Images/sec" line.

Usage: resnet50_amp_reference.py [--batch_size 256] [--steps 120] [--precision fp16|bf16|fp32]
"""
import argparse
import time

import torch
import torchvision


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--burn_in", type=int, default=20)
    p.add_argument("--precision", choices=["fp16", "bf16", "fp32"], default="fp16")
    p.add_argument("--image_size", type=int, default=224)
    a = p.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("resnet50_amp_reference: needs a CUDA GPU")
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    model = torchvision.models.resnet50().to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=a.precision == "fp16")
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[a.precision]
    mean = torch.tensor([0.485, 0.456, 0.406], device=dev).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225], device=dev).view(1, 3, 1, 1) * 255
    images = torch.randint(0, 256, (a.batch_size, 3, a.image_size, a.image_size), dtype=torch.uint8).pin_memory()
    labels = torch.randint(0, 1000, (a.batch_size,)).pin_memory()
    speeds = []
    last = time.perf_counter()
    for step in range(a.steps):
        x = images.to(dev, non_blocking=True).float().sub_(mean).div_(std).contiguous(memory_format=torch.channels_last)
        y = labels.to(dev, non_blocking=True)
        with torch.autocast("cuda", dtype=dtype, enabled=a.precision != "fp32"):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        loss.item()  # one sync per step, as the trainer's loss read-back
        now = time.perf_counter()
        speeds.append(a.batch_size / (now - last))
        last = now
    speed = sum(speeds[a.burn_in:]) / len(speeds[a.burn_in:])
    print(f"RESULT pytorch resnet50 {a.precision} channels_last batch {a.batch_size}: {speed:.1f} images/s "
          f"({torch.cuda.get_device_name()})")


if __name__ == "__main__":
    main()
