#!/usr/bin/env python3
"""Loads nn's weight file into PyTorch's nn.Sequential with load_state_dict, exactly as the
README shows, and checks that PyTorch's forward pass gives the outputs nn computed.

    python3 scripts/check_pytorch.py            # the fixtures in tests/fixtures/weights (digits, LeNet, two heads)

The two-head fixture (tests/graph_weights.rs) is a graph network: it loads into an
nn.Sequential holding the `Residual`, `Concat` and `Heads` modules of
`nn::weights::PYTORCH_GRAPH_MODULES` (written again below, by hand, from their description),
whose forward returns a dict of each head's outputs, matched against the IO file's
`outputs.NAME`.

Needs torch and safetensors. PyTorch is too large to install in CI (its PyPI wheel pulls about
5 GB of CUDA libraries), so CI runs scripts/check_safetensors.py, a numpy check of the same
file, instead; run this one where torch is installed.
"""
import pathlib
import sys

try:
    import torch
    from torch import nn
    from safetensors.torch import load_file
except ImportError as e:
    sys.exit(f"check_pytorch.py needs torch and safetensors: {e}")

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "weights"


class Residual(nn.Sequential):
    """nn's `residual { ... }`: x + f(x), f the modules in order."""

    def forward(self, x):
        return x + super().forward(x)


class Concat(nn.ModuleList):
    """nn's `concat { ... }`: each branch reads the input; outputs joined along dim 1."""

    def __init__(self, *branches):
        super().__init__(branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self], dim=1)


class Heads(nn.ModuleDict):
    """nn's `heads { ... }`: named heads reading one trunk; a dict of their outputs."""

    def __init__(self, heads):
        super().__init__(heads)

    def forward(self, x):
        return {name: head(x) for name, head in self.items()}


def check(name: str, model: nn.Module, input_shape: tuple) -> bool:
    # strict: every tensor of the file has its module, and every module's tensor is in the file.
    result = model.load_state_dict(load_file(FIXTURES / f"{name}.safetensors"), strict=True)
    print(f"{name}: load_state_dict: {result}")
    io = load_file(FIXTURES / f"{name}-io.safetensors")
    model.eval()
    with torch.no_grad():
        got = model(io["inputs"].reshape((-1,) + input_shape))
    outputs = got if isinstance(got, dict) else {"": got}
    ok = True
    for head, out in outputs.items():
        key = f"outputs.{head}" if head else "outputs"
        diff = (out - io[key]).abs().max().item()
        good = out.shape == io[key].shape and diff < 1e-5
        ok = ok and good
        print(f"{'ok' if good else 'FAILED'}: PyTorch {torch.__version__} forward of "
              f"{len(io['inputs'])} inputs vs nn's {key}: max |difference| {diff:.3g} "
              f"(tolerance 1e-05)")
    return ok


def main() -> int:
    digits = nn.Sequential(
        nn.Linear(784, 16), nn.Sigmoid(),
        nn.Linear(16, 16), nn.Sigmoid(),
        nn.Linear(16, 10), nn.Softmax(dim=-1),
    )
    # What `nn::weights::pytorch_sequential::<LeNet>()` prints; the images go in as
    # [n, 1, 28, 28], the flat channel-major rows nn reads.
    lenet = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=(5, 5), stride=1, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=(2, 2), stride=2),
        nn.Conv2d(6, 16, kernel_size=(5, 5), stride=1, padding=0), nn.ReLU(),
        nn.MaxPool2d(kernel_size=(2, 2), stride=2), nn.Dropout(p=0.25), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        nn.Softmax(dim=-1),
    )
    # What `nn::weights::pytorch_sequential::<TwoHeads>()` prints (tests/graph_weights.rs).
    two_heads = nn.Sequential(
        nn.Conv2d(1, 3, kernel_size=(3, 3), stride=1, padding=1), nn.ReLU(),
        Residual(
            nn.Conv2d(3, 4, kernel_size=(3, 3), stride=1, padding=1), nn.Tanh(),
            nn.BatchNorm2d(4),
            nn.Conv2d(4, 3, kernel_size=(3, 3), stride=1, padding=1), nn.Identity(),
        ),
        Concat(
            nn.Sequential(nn.Conv2d(3, 2, kernel_size=(3, 3), stride=1, padding=0), nn.ReLU()),
            nn.Sequential(nn.MaxPool2d(kernel_size=(3, 3), stride=1)),
        ),
        Heads({
            "digit": nn.Sequential(nn.Flatten(), nn.Linear(80, 10), nn.Softmax(dim=-1)),
            "even": nn.Sequential(
                nn.Flatten(), nn.Linear(80, 8), nn.ReLU(),
                Residual(nn.Linear(8, 8), nn.Tanh(), nn.LayerNorm(8), nn.Linear(8, 8),
                         nn.Identity()),
                nn.Dropout(p=0.1), nn.Linear(8, 1), nn.Sigmoid(),
            ),
        }),
    )
    ok = check("digits", digits, (784,))
    ok = check("lenet", lenet, (1, 28, 28)) and ok
    ok = check("two-heads", two_heads, (1, 6, 6)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
