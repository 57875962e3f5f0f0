#!/usr/bin/env python3
"""Write the PyTorch autograd fixture the Rust test `tests/pytorch_layers.rs` matches.

    pip install torch safetensors numpy
    python3 scripts/pytorch_layers_fixture.py     # rewrites tests/fixtures/layers/conv-pool-norm.safetensors

CI never runs this script (nor torch); it runs the Rust test on the committed fixture.

The network is the `network!` declaration

    2x7x6 -> conv 3 3x3 pad 1 relu -> batchnorm -> maxpool 2x2 -> avgpool 2x2 stride 1
          -> layernorm -> 5 gelu -> 3 softmax

as the equivalent `torch.nn.Sequential` (module indices as `nn::weights::pytorch_sequential`
prints them):

    Conv2d(2, 3, (3, 3), stride=1, padding=1), ReLU(), BatchNorm2d(3), MaxPool2d((2, 2), stride=2),
    AvgPool2d((2, 2), stride=1), LayerNorm([3, 2, 2]), Flatten(), Linear(12, 5),
    GELU(approximate='tanh'), Linear(5, 3), Softmax(dim=-1)

computed in float64 (the fixture holds the float64 results rounded to float32):

- `param.K`: the K-th parameter tensor in `Network::parameters()` order (conv weight, conv
  bias, batchnorm weight, bias, layernorm weight, bias, linear weights and biases), flat;
  PyTorch's default initialisation from seed 12, with the norms' scales and shifts moved away
  from 1 and 0 so that their gradients are not at a special point;
- `inputs` [6, 84] (channel-major images), `targets` [6, 3] (one-hot);
- training mode (batch statistics): `outputs` [6, 3], `loss` [1] = the mean over the batch of
  `-sum(y * log(softmax))` (nn's `CrossEntropy`), and `grad.K`, the gradient of that loss with
  respect to `param.K`;
- `running_mean`, `running_var` [3]: batchnorm's running statistics after that one training
  forward pass (momentum 0.1, unbiased variance), what nn folds in at the optimizer's step;
- `eval_outputs` [6, 3]: the outputs in evaluation mode with those running statistics.
"""

from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "layers" / "conv-pool-norm.safetensors"


def main() -> None:
    torch.manual_seed(12)
    model = nn.Sequential(
        nn.Conv2d(2, 3, (3, 3), stride=1, padding=1),
        nn.ReLU(),
        nn.BatchNorm2d(3),
        nn.MaxPool2d((2, 2), stride=2),
        nn.AvgPool2d((2, 2), stride=1),
        nn.LayerNorm([3, 2, 2]),
        nn.Flatten(),
        nn.Linear(12, 5),
        nn.GELU(approximate="tanh"),
        nn.Linear(5, 3),
        nn.Softmax(dim=-1),
    ).double()
    with torch.no_grad():
        model[2].weight.copy_(torch.tensor([0.8, 1.3, -0.6], dtype=torch.float64))
        model[2].bias.copy_(torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64))
        model[5].weight.uniform_(0.5, 1.5)
        model[5].bias.uniform_(-0.3, 0.3)
    params = [p for p in model.parameters()]
    start = [p.detach().clone() for p in params]

    n = 6
    x = torch.rand(n, 2, 7, 6, dtype=torch.float64) * 2 - 1
    labels = torch.tensor([0, 1, 2, 2, 1, 0])
    y = torch.nn.functional.one_hot(labels, 3).double()

    model.train()
    out = model(x)
    loss = -(y * torch.log(out)).sum(dim=1).mean()
    loss.backward()

    model.eval()
    with torch.no_grad():
        eval_out = model(x)

    f32 = lambda t: t.detach().numpy().astype(np.float32).reshape(-1)
    tensors = {
        "inputs": x.reshape(n, -1).numpy().astype(np.float32),
        "targets": y.numpy().astype(np.float32),
        "outputs": out.detach().numpy().astype(np.float32),
        "loss": np.array([loss.item()], dtype=np.float32),
        "running_mean": f32(model[2].running_mean),
        "running_var": f32(model[2].running_var),
        "eval_outputs": eval_out.numpy().astype(np.float32),
    }
    for k, (p, s) in enumerate(zip(params, start)):
        tensors[f"param.{k}"] = f32(s)
        tensors[f"grad.{k}"] = f32(p.grad)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(OUT), metadata={"torch": torch.__version__})
    print(f"wrote {OUT} ({len(tensors)} tensors, loss {loss.item():.6f}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
