"""PyTorch eager reference for `kubecnn-trainer bench` on the CPU: a torchvision model (resnet50,
inception_v3, resnet18, ...) trained on one fixed input tensor with SGD (Nesterov momentum 0.9,
weight decay 1e-4, as the trainer's defaults), cross-entropy loss, on --threads intra-op threads.
Prints images/s as the mean of per-step speeds after a burn-in of half the steps (at most 20), as
the trainer's "Images/sec" line does.

Usage: cpu_model_reference.py --model resnet50 [--batch_size 16] [--steps 8] [--threads 2]
"""
import argparse
import time

import torch
import torchvision

# kubecnn --model names whose torchvision constructor has another name or needs arguments.
MODELS = {
    "inception3": lambda: torchvision.models.inception_v3(aux_logits=False, init_weights=False),
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False),
}
IMAGE_SIZE = {"inception3": 299}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="resnet50")
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--image_size", type=int, default=0)
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = MODELS[a.model]() if a.model in MODELS else getattr(torchvision.models, a.model)()
    model.train()
    size = a.image_size or IMAGE_SIZE.get(a.model, 224)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
    images = torch.randn(a.batch_size, 3, size, size)
    labels = torch.randint(0, 1000, (a.batch_size,))
    speeds = []
    for _ in range(a.steps):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
        speeds.append(a.batch_size / (time.perf_counter() - start))
    burn_in = min(20, a.steps // 2)
    kept = speeds[burn_in:]
    print(f"RESULT model {a.model} batch {a.batch_size} threads {torch.get_num_threads()} "
          f"images_per_second {sum(kept) / len(kept):.2f}")


if __name__ == "__main__":
    main()
