#!/usr/bin/env python3
"""Write the PyTorch BatchNorm weights fixture the Rust test `tests/weights_buffers.rs` loads.

    pip install torch safetensors numpy
    python3 scripts/batchnorm_pytorch_fixture.py   # rewrites tests/fixtures/weights/batchnorm-pytorch*.safetensors

CI never runs this script (nor torch); it runs the Rust test on the committed files.

The network is the `network!` declaration `4 -> 3 relu -> batchnorm -> 2 softmax`, whose
equivalent module (`nn::weights::pytorch_sequential`) is

    nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.BatchNorm1d(3), nn.Linear(3, 2), nn.Softmax(dim=-1))

Built from seed 7 and trained for 5 SGD steps (learning rate 0.1, cross-entropy on random
batches of 8), so that the running statistics are far from (0, 1) and `num_batches_tracked`
is 5. Writes:

- `batchnorm-pytorch.safetensors`: `safetensors.torch.save_file(model.state_dict(), ...)` as
  PyTorch writes it: float32 tensors and `2.num_batches_tracked` an int64 scalar;
- `batchnorm-pytorch-io.safetensors`: `inputs` [6, 4] (float32) and `outputs` [6, 2], the
  evaluation-mode outputs on them computed in float64 (the float32 weights widened exactly).
"""

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "weights"


def main() -> None:
    torch.manual_seed(7)
    model = nn.Sequential(
        nn.Linear(4, 3), nn.ReLU(), nn.BatchNorm1d(3), nn.Linear(3, 2), nn.Softmax(dim=-1)
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(5):
        x = torch.randn(8, 4) * 2.0 + 0.5
        y = torch.randint(0, 2, (8,))
        probabilities = model(x)
        loss = nn.functional.nll_loss(torch.log(probabilities), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    assert state["2.num_batches_tracked"].dtype == torch.int64
    assert int(state["2.num_batches_tracked"]) == 5
    save_file(state, str(FIXTURES / "batchnorm-pytorch.safetensors"))

    inputs = torch.randn(6, 4) * 2.0 + 0.5
    wide = nn.Sequential(
        nn.Linear(4, 3), nn.ReLU(), nn.BatchNorm1d(3), nn.Linear(3, 2), nn.Softmax(dim=-1)
    ).double()
    wide.load_state_dict(model.state_dict())
    wide.eval()
    with torch.no_grad():
        outputs = wide(inputs.double())
    save_file(
        {"inputs": inputs.contiguous(), "outputs": outputs.contiguous()},
        str(FIXTURES / "batchnorm-pytorch-io.safetensors"),
    )
    for k, v in state.items():
        print(k, v.dtype, list(v.shape), v.flatten().tolist())
    print("outputs", outputs.tolist())


if __name__ == "__main__":
    main()
