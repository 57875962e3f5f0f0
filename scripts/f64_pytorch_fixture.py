#!/usr/bin/env python3
"""Write the PyTorch fixture of two f64 networks that `tests/f64_pytorch.rs` loads.

    pip install torch safetensors numpy
    python3 scripts/f64_pytorch_fixture.py   # rewrites tests/fixtures/weights/f64-*.safetensors

CI never runs this script (nor torch); it runs the Rust test on the committed files.

The networks are the `network!` declarations

    struct Deep: f64 4 -> 6 tanh -> 5 sigmoid -> 5 softplus -> 4 gelu -> 4 silu
        -> 3 leaky_relu 0.5 -> 3 softmax;
    struct Kinked: f64 5 -> 7 relu -> 6 tanh -> 2 linear;

built from the modules `nn::weights::pytorch_sequential` prints for them, in float64 throughout
(`torch.set_default_dtype(torch.float64)`). The leaky slope is 0.5, which f32 holds exactly: nn
keeps a slope as f32 bits, and 0.1 would differ from PyTorch's float64 0.1 by 1.5e-9 relative.
For each network NAME (`deep`, `kinked`) it writes:

- `f64-NAME.safetensors`: `save_file(model.state_dict())`, float64;
- `f64-NAME-io.safetensors`, float64: `inputs`, `targets`, `outputs`, the mean `loss` (cross-
  entropy on Deep's softmax output, mean squared error on Kinked's) and `grad.KEY`, the
  gradient of the loss for every parameter, by autograd.
"""

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "weights"


def deep():
    # `nn::weights::pytorch_sequential::<Deep>()`, verbatim (the Rust test checks the text).
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 5), nn.Softplus(), nn.Linear(5, 4), nn.GELU(approximate='tanh'), nn.Linear(4, 4), nn.SiLU(), nn.Linear(4, 3), nn.LeakyReLU(0.5), nn.Linear(3, 3), nn.Softmax(dim=-1))


def kinked():
    # `nn::weights::pytorch_sequential::<Kinked>()`, verbatim.
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 6), nn.Tanh(), nn.Linear(6, 2), nn.Identity())


def write(name, model, inputs, targets, loss_of):
    outputs = model(inputs)
    loss = loss_of(outputs, targets)
    model.zero_grad()
    loss.backward()
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(FIXTURES / f"f64-{name}.safetensors"))
    io = {
        "inputs": inputs.contiguous(),
        "targets": targets.contiguous(),
        "outputs": outputs.detach().contiguous(),
        "loss": loss.detach().reshape(()),
    }
    for key, p in model.named_parameters():
        io[f"grad.{key}"] = p.grad.detach().contiguous()
    save_file(io, str(FIXTURES / f"f64-{name}-io.safetensors"))
    print(f"{name}: loss {loss.item():.17g}")


def main() -> None:
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(64)
    model = deep()
    inputs = torch.rand(6, 4) * 4 - 2
    targets = torch.nn.functional.one_hot(torch.tensor([0, 2, 1, 1, 0, 2]), 3).double()
    # nn's cross-entropy: the mean over the batch of -sum(y * ln softmax(z)).
    write("deep", model, inputs, targets, lambda a, y: -(y * torch.log(a)).sum(dim=-1).mean())

    model = kinked()
    inputs = torch.rand(5, 5) * 2 - 1
    targets = torch.rand(5, 2) * 2 - 1
    # nn's mean squared error: the mean over the batch and the outputs.
    write("kinked", model, inputs, targets, lambda a, y: ((a - y) ** 2).mean())


if __name__ == "__main__":
    main()
