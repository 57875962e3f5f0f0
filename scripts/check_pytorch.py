#!/usr/bin/env python3
"""Loads nn's weight file into PyTorch's nn.Sequential with load_state_dict, exactly as the
README shows, and checks that PyTorch's forward pass gives the outputs nn computed.

    python3 scripts/check_pytorch.py            # the fixtures in tests/fixtures/weights (digits, LeNet)

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


def check(name: str, model: nn.Module, input_shape: tuple) -> bool:
    result = model.load_state_dict(load_file(FIXTURES / f"{name}.safetensors"))
    print(f"{name}: load_state_dict: {result}")
    io = load_file(FIXTURES / f"{name}-io.safetensors")
    model.eval()
    with torch.no_grad():
        got = model(io["inputs"].reshape((-1,) + input_shape))
    diff = (got - io["outputs"]).abs().max().item()
    ok = diff < 1e-5
    print(f"{'ok' if ok else 'FAILED'}: PyTorch {torch.__version__} forward of "
          f"{len(io['inputs'])} inputs vs nn's outputs: max |difference| {diff:.3g} "
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
    ok = check("digits", digits, (784,))
    ok = check("lenet", lenet, (1, 28, 28)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
