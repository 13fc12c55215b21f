"""Reference data from torchvision for tests/trainer/models (run by the C++ tests at test time).

  torchvision_reference.py shapes OUT_DIR MODEL...   OUT_DIR/MODEL.txt: state_dict names and shapes, one
                                                     "name<TAB>d0,d1,..." line each
  torchvision_reference.py init SEED OUT_DIR MODEL... OUT_DIR/MODEL.pt: torch.manual_seed(SEED); torch.save(dict(sd))
  torchvision_reference.py logits MODEL SIZE OUT_DIR  seeded MODEL weights with non-trivial BatchNorm
                                                     statistics (OrderedDict and dict forms), a SIZExSIZE
                                                     input batch and its eval-mode logits

MODEL is a kubecnn name; "+aux" appended (inception3+aux, googlenet+aux) builds the auxiliary heads.

Exits 77 when torch or torchvision cannot be imported, so the C++ test can skip.
"""
import sys

try:
    import torch
    import torchvision.models as tvm
except ImportError as e:  # the C++ tests turn this into GTEST_SKIP
    print(f"torchvision unavailable: {e}", file=sys.stderr)
    sys.exit(77)

# kubecnn name -> torchvision constructor name
TORCHVISION_NAMES = {"inception3": "inception_v3"}


def build(model, device=None):
    name, _, aux = model.partition("+")
    aux = aux == "aux"
    ctor = getattr(tvm, TORCHVISION_NAMES.get(name, name))
    kwargs = {"weights": None}
    if name in ("inception3", "googlenet"):
        kwargs.update(aux_logits=aux, init_weights=True)
    if device is not None:
        with torch.device(device):
            return ctor(**kwargs)
    return ctor(**kwargs)


def shapes(out_dir, names):
    for name in names:
        model = build(name, device="meta")  # names and shapes only: no memory, no init cost
        with open(f"{out_dir}/{name}.txt", "w") as f:
            for key, t in model.state_dict().items():
                f.write(f"{key}\t{','.join(str(d) for d in t.shape)}\n")


def init(seed, out_dir, names):
    for name in names:
        torch.manual_seed(seed)
        torch.save(dict(build(name).state_dict()), f"{out_dir}/{name}.pt")


def logits(name, size, out_dir):
    """A seeded model with non-trivial BatchNorm statistics, its state_dict saved both ways
    (torch.save of the OrderedDict, and of a plain dict), an input batch and its eval-mode logits."""
    torch.manual_seed(1234)
    model = build(name)
    with torch.no_grad():  # non-trivial BatchNorm so eval mode really uses the loaded statistics
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(7)
    model.eval()
    images = torch.randn(2, 3, size, size)
    with torch.no_grad():
        out = model(images)
    torch.save(model.state_dict(), f"{out_dir}/{name}_ordereddict.pt")
    torch.save(dict(model.state_dict()), f"{out_dir}/{name}_dict.pt")
    torch.save({"images": images, "logits": out}, f"{out_dir}/{name}_io.pt")


def main(args):
    if args[0] == "shapes":
        shapes(args[1], args[2:])
    elif args[0] == "init":
        init(int(args[1]), args[2], args[3:])
    elif args[0] == "logits":
        logits(args[1], int(args[2]), args[3])
    else:
        sys.exit(f"unknown command {args[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
