"""Reference data from torchvision for tests/trainer/models (run by the C++ tests at test time).

  torchvision_reference.py shapes OUT_DIR MODEL...   OUT_DIR/MODEL.txt: state_dict names and shapes, one
                                                     "name<TAB>d0,d1,..." line each
  torchvision_reference.py init SEED OUT_DIR MODEL... OUT_DIR/MODEL.pt: torch.manual_seed(SEED); torch.save(dict(sd))
  torchvision_reference.py resnet18 OUT_DIR          random resnet18 weights (OrderedDict and dict forms),
                                                     a fixed input and its eval-mode logits

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


def resnet18(out_dir):
    torch.manual_seed(1234)
    model = tvm.resnet18(weights=None)
    with torch.no_grad():  # non-trivial BatchNorm so eval mode really uses the loaded statistics
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(7)
    model.eval()
    images = torch.randn(2, 3, 112, 112)  # any size >= 32 works; small keeps the test fast
    with torch.no_grad():
        logits = model(images)
    torch.save(model.state_dict(), f"{out_dir}/resnet18_ordereddict.pt")
    torch.save(dict(model.state_dict()), f"{out_dir}/resnet18_dict.pt")
    torch.save({"images": images, "logits": logits}, f"{out_dir}/resnet18_io.pt")


def main(args):
    if args[0] == "shapes":
        shapes(args[1], args[2:])
    elif args[0] == "init":
        init(int(args[1]), args[2], args[3:])
    elif args[0] == "resnet18":
        resnet18(args[1])
    else:
        sys.exit(f"unknown command {args[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
