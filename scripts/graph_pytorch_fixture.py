#!/usr/bin/env python3
"""Write the PyTorch autograd fixture the Rust test `tests/graph_pytorch.rs` matches.

    pip install torch safetensors numpy
    python3 scripts/graph_pytorch_fixture.py   # rewrites tests/fixtures/graph/*.safetensors

CI never runs this script (nor torch); it runs the Rust test on the committed fixtures.

The network is the `network!` declaration

    6 -> 5 tanh -> residual { 4 relu -> 5 linear } -> concat { 3 tanh, 2 sigmoid -> 2 softplus }
      -> heads { label: 3 softmax, score: 4 tanh -> 2 sigmoid }

built from the PyTorch module source that `nn::weights::pytorch_module` prints for it (the
`Residual`, `Concat` and `Heads` classes and `model = nn.Sequential(...)`), which the script
stores in the fixture's metadata under `module` so that the Rust test can check that nn prints
exactly the module PyTorch ran. Computed in float64 (the fixture holds the results rounded to
float32):

- `param.K`: the K-th parameter tensor in `Network::parameters()` order (PyTorch's
  `model.parameters()` order), flat; PyTorch's default initialisation from seed 13;
- `inputs` [7, 6], `label` [7, 3] (one-hot), `score` [7, 2] (values in [0, 1]);
- `out.label` [7, 3], `out.score` [7, 2]: each head's output;
- `loss.label`, `loss.score` [1]: nn's `CrossEntropy` (the batch mean of `-sum(y * log p)`) and
  `BinaryCrossEntropy` (the batch mean of the mean over the outputs of
  `-(y log p + (1 - y) log(1 - p))`); `loss` [1] = `1.0 * loss.label + 0.7 * loss.score`;
- `grad.K`: the gradient of `loss` with respect to `param.K`.

It also writes `state-dict.safetensors`, `model.state_dict()` as PyTorch names it, which the
Rust test loads with `nn::weights::load` (and whose names and shapes it compares with the file
nn writes), and checks that PyTorch loads a file with nn's tensor names strictly.
"""

from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file
from safetensors.torch import load_file, save_file as save_torch
from torch import nn

DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "graph"

# What `nn::weights::pytorch_module::<GraphFixture>()` prints (checked by the Rust test).
MODULE = '''class Residual(nn.Sequential):
    """nn's `residual { ... }`: x + f(x), f the modules in order."""

    def forward(self, x):
        return x + super().forward(x)


class Concat(nn.ModuleList):
    """nn's `concat { ... }`: the branches' outputs joined along dim 1 (channels)."""

    def __init__(self, *branches):
        super().__init__(branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self], dim=1)


class Heads(nn.ModuleDict):
    """nn's `heads { ... }`: named heads reading one trunk; a dict of outputs."""

    def __init__(self, heads):
        super().__init__(heads)

    def forward(self, x):
        return {name: head(x) for name, head in self.items()}


model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), Residual(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 5), nn.Identity()), Concat(nn.Sequential(nn.Linear(5, 3), nn.Tanh()), nn.Sequential(nn.Linear(5, 2), nn.Sigmoid(), nn.Linear(2, 2), nn.Softplus())), Heads({"label": nn.Sequential(nn.Linear(5, 3), nn.Softmax(dim=-1)), "score": nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid())}))
'''


def main() -> None:
    torch.manual_seed(13)
    scope = {"torch": torch, "nn": nn}
    exec(MODULE, scope)
    model = scope["model"].double()
    params = list(model.parameters())
    start = [p.detach().clone() for p in params]

    n = 7
    x = torch.rand(n, 6, dtype=torch.float64) * 2 - 1
    label = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 2, 1, 0, 1]), 3).double()
    score = torch.rand(n, 2, dtype=torch.float64)

    out = model(x)
    ce = -(label * torch.log(out["label"])).sum(dim=1).mean()
    p = out["score"]
    bce = -(score * torch.log(p) + (1 - score) * torch.log(1 - p)).mean(dim=1).mean()
    loss = 1.0 * ce + 0.7 * bce
    loss.backward()

    f32 = lambda t: t.detach().numpy().astype(np.float32).reshape(-1)
    tensors = {
        "inputs": x.numpy().astype(np.float32),
        "label": label.numpy().astype(np.float32),
        "score": score.numpy().astype(np.float32),
        "out.label": out["label"].detach().numpy().astype(np.float32),
        "out.score": out["score"].detach().numpy().astype(np.float32),
        "loss.label": np.array([ce.item()], dtype=np.float32),
        "loss.score": np.array([bce.item()], dtype=np.float32),
        "loss": np.array([loss.item()], dtype=np.float32),
    }
    for k, (p, s) in enumerate(zip(params, start)):
        tensors[f"param.{k}"] = f32(s)
        tensors[f"grad.{k}"] = f32(p.grad)
    DIR.mkdir(parents=True, exist_ok=True)
    save_file(
        tensors,
        str(DIR / "two-heads-residual.safetensors"),
        metadata={"torch": torch.__version__, "module": MODULE},
    )

    # The state dict as PyTorch names it, float32, at the starting parameters.
    with torch.no_grad():
        for p, s in zip(params, start):
            p.copy_(s)
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_torch(state, str(DIR / "state-dict.safetensors"))
    # PyTorch loads it back strictly (every name present, none extra).
    again = {"torch": torch, "nn": nn}
    exec(MODULE, again)
    again["model"].load_state_dict(load_file(str(DIR / "state-dict.safetensors")), strict=True)
    print(
        f"wrote {DIR} (loss {loss.item():.6f}, {len(state)} state-dict tensors: "
        f"{', '.join(state)}; torch {torch.__version__})"
    )


if __name__ == "__main__":
    main()
