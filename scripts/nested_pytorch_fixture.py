#!/usr/bin/env python3
"""Write the PyTorch fixture of a nested network with custom layers that `tests/nested_pytorch.rs` loads.

    pip install torch safetensors numpy
    python3 scripts/nested_pytorch_fixture.py   # rewrites tests/fixtures/weights/nested-pytorch*.safetensors

CI never runs this script (nor torch); it runs the Rust test on the committed files.

The network is the `network!` declaration

    struct Fixture: 12 -> encoder: Encoder -> MyNormalize<U6> -> scaled: MyScale<U6> -> 3 softmax;
    struct Encoder: 12 -> 8 relu -> 6 tanh;

with the two custom layers of `tests/nested/layers.rs` (`MyNormalize`: each sample divided by
`sqrt(1e-6 + sum x^2)`; `MyScale`: a learned per-feature `scale`). Its module, as
`nn::weights::pytorch_sequential` prints it (with `OrderedDict` from `collections` and the two
custom modules defined here), names every tensor by path. Writes:

- `nested-pytorch.safetensors`: `save_file(model.state_dict())`, float32, keys
  `encoder.layer1.weight`, ..., `scaled.scale`, `layer4.weight`, `layer4.bias`;
- `nested-pytorch-io.safetensors`: `inputs` [5, 12] and one-hot `targets` [5, 3] (float32), and,
  computed in float64 from the float32 weights, `outputs` [5, 3], the mean cross-entropy `loss`
  [] and `grad.KEY`, the gradient of the loss for every parameter.
"""

from collections import OrderedDict
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "weights"


class MyNormalize(nn.Module):
    """Each sample divided by its length, `x / sqrt(1e-6 + sum(x^2))`."""

    def forward(self, x):
        return x / torch.sqrt(1e-6 + (x * x).sum(dim=-1, keepdim=True))


class MyScale(nn.Module):
    """`scale * x`, one learned factor per feature."""

    def __init__(self, n=6):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return self.scale * x


def build():
    # `nn::weights::pytorch_sequential::<Fixture>()`, verbatim (the Rust test checks the text).
    return nn.Sequential(OrderedDict([("encoder", nn.Sequential(OrderedDict([("layer1", nn.Linear(12, 8)), ("layer1_act", nn.ReLU()), ("layer2", nn.Linear(8, 6)), ("layer2_act", nn.Tanh())]))), ("layer2", MyNormalize()), ("scaled", MyScale()), ("layer4", nn.Linear(6, 3)), ("layer4_act", nn.Softmax(dim=-1))]))


def main() -> None:
    torch.manual_seed(13)
    model = build()
    with torch.no_grad():
        model.scaled.scale.copy_(torch.rand(6) + 0.5)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(FIXTURES / "nested-pytorch.safetensors"))

    inputs = torch.randn(5, 12)
    targets = nn.functional.one_hot(torch.tensor([0, 2, 1, 2, 0]), 3).float()
    wide = build().double()
    wide.load_state_dict(model.state_dict())
    outputs = wide(inputs.double())
    loss = -(targets.double() * torch.log(outputs)).sum(dim=1).mean()
    loss.backward()
    io = {"inputs": inputs, "targets": targets, "outputs": outputs.detach(), "loss": loss.detach()}
    for name, p in wide.named_parameters():
        io[f"grad.{name}"] = p.grad.detach()
    io = {k: v.float().contiguous() for k, v in io.items()}
    save_file(io, str(FIXTURES / "nested-pytorch-io.safetensors"))
    print(list(state))
    print("loss", float(loss.detach()))


if __name__ == "__main__":
    main()
