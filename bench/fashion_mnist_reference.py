"""The main job's recipe in plain PyTorch + torchvision, for comparison with kubecnn-trainer.

ResNet-18 on Fashion-MNIST at a small image size, trained like scripts/run-main.sh trains it:
RandomResizedCrop(size, scale=(area_min, 1)) + RandomHorizontalFlip on the 28x28 images (as RGB),
ImageNet normalisation, SGD with Nesterov momentum 0.9, weight decay 1e-4, polynomial (power 2)
decay of the learning rate to 0 over the run (nvcnn's schedule), batch 128, drop_last; evaluation
resizes the shorter side to size/0.875 and centre-crops. Prints top-1 and training images/s.

Usage: fashion_mnist_reference.py [--epochs 2] [--image_size 32] [--batch_size 128] [--lr 0.1]
                                  [--area_min 0.5] [--data /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import struct
import time

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(count, rows, cols)
    if magic == 0x801:
        return np.frombuffer(data, np.uint8, offset=8)
    raise ValueError(f"{path}: not an IDX image or label file (magic {magic:#x})")


class Images(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = Image.fromarray(self.images[i], mode="L").convert("RGB")
        return self.transform(image), int(self.labels[i])


def normalise(batch):
    return (batch.float() / 255.0 - MEAN) / STD


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--image_size", type=int, default=32)
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--area_min", type=float, default=0.5)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    train_x = read_idx(f"{a.data}/train-images-idx3-ubyte.gz")
    train_y = read_idx(f"{a.data}/train-labels-idx1-ubyte.gz")
    test_x = read_idx(f"{a.data}/t10k-images-idx3-ubyte.gz")
    test_y = read_idx(f"{a.data}/t10k-labels-idx1-ubyte.gz")
    train_tf = transforms.Compose([
        transforms.RandomResizedCrop(a.image_size, scale=(a.area_min, 1.0)),
        transforms.RandomHorizontalFlip(),
        transforms.PILToTensor(),
    ])
    eval_tf = transforms.Compose([
        transforms.Resize(round(a.image_size / 0.875)),
        transforms.CenterCrop(a.image_size),
        transforms.PILToTensor(),
    ])
    train = torch.utils.data.DataLoader(Images(train_x, train_y, train_tf), batch_size=a.batch_size, shuffle=True,
                                        drop_last=True, num_workers=a.workers, persistent_workers=a.workers > 0)
    test = torch.utils.data.DataLoader(Images(test_x, test_y, eval_tf), batch_size=256, num_workers=a.workers)
    model = torchvision.models.resnet18(num_classes=10)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=1e-4)
    total = a.epochs * len(train)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: (1 - min(step, total) / total) ** 2)
    model.train()
    step_speeds = []  # images/s of each step, data wait included, as kubecnn-trainer measures it
    last = time.perf_counter()
    for epoch in range(a.epochs):
        for step, (x, y) in enumerate(train):
            loss = torch.nn.functional.cross_entropy(model(normalise(x)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            now = time.perf_counter()
            step_speeds.append(len(y) / (now - last))
            last = now
            if step % 100 == 0:
                print(f"python: epoch {epoch + 1} step {step} loss {loss.item():.3f}", flush=True)
    burn_in = 20  # nvcnn's nstep_burnin, as kubecnn-trainer's "Images/sec" line
    speed = float(np.mean(step_speeds[burn_in:]))
    model.eval()
    correct = seen = 0
    with torch.no_grad():
        for x, y in test:
            correct += (model(normalise(x)).argmax(1) == y).sum().item()
            seen += len(y)
    print(f"RESULT top1 {100.0 * correct / seen:.2f} images_per_second {speed:.1f} "
          f"images {seen} threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
