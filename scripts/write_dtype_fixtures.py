#!/usr/bin/env python3
"""Writes the half-precision and double fixtures from PyTorch: the weights of the f32 fixture
tests/fixtures/weights/digits.safetensors, converted by PyTorch to float16, bfloat16 and float64
and saved with `safetensors.torch.save_file(model.state_dict(), ...)`, plus PyTorch's outputs
for the fixture's inputs in each dtype.

    pip install torch safetensors numpy
    python3 scripts/write_dtype_fixtures.py

Writes, in tests/fixtures/weights:

- digits-f16.safetensors, digits-bf16.safetensors, digits-f64.safetensors: the state dict of
  nn.Sequential(Linear(784, 16), Sigmoid(), Linear(16, 16), Sigmoid(), Linear(16, 10),
  Softmax(dim=-1)) after `model.to(dtype)`, metadata {"format": "pt"} as save_file writes it.
  PyTorch rounds float32 to float16 and bfloat16 to nearest, ties to even.
- digits-dtypes-io.safetensors: `inputs` [4, 784] (float32, the inputs of digits-io) and, for
  each dtype, `outputs_f16`, `outputs_bf16`, `outputs_f64` [4, 10]: PyTorch's forward pass in
  float64 on the weights as that file holds them, so the outputs say what a reader of the file
  must compute, whatever its own precision.

The Rust test `files_written_by_pytorch_in_each_dtype_load` (tests/weights.rs) loads each file
into an f32 network and compares the outputs and the rounding; scripts/check_safetensors.py
(numpy, run by CI) reads them independently. CI never runs this script: the files are committed.
"""
import sys
from pathlib import Path

try:
    import torch
    from torch import nn
    from safetensors.torch import load_file, save_file
except ImportError as e:
    sys.exit(f"write_dtype_fixtures.py needs torch and safetensors: {e}")

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "weights"
DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f64": torch.float64}


def model():
    return nn.Sequential(
        nn.Linear(784, 16), nn.Sigmoid(),
        nn.Linear(16, 16), nn.Sigmoid(),
        nn.Linear(16, 10), nn.Softmax(dim=-1),
    )


def main():
    source = model()
    source.load_state_dict(load_file(FIXTURES / "digits.safetensors"))
    inputs = load_file(FIXTURES / "digits-io.safetensors")["inputs"]
    io = {"inputs": inputs.contiguous()}
    for name, dtype in DTYPES.items():
        converted = model()
        converted.load_state_dict(source.state_dict())
        converted.to(dtype)
        state = {k: v.contiguous() for k, v in converted.state_dict().items()}
        path = FIXTURES / f"digits-{name}.safetensors"
        save_file(state, path, metadata={"format": "pt"})
        # The forward pass on exactly these weights, in float64.
        reference = model().to(torch.float64)
        reference.load_state_dict({k: v.to(torch.float64) for k, v in state.items()})
        with torch.no_grad():
            io[f"outputs_{name}"] = reference(inputs.to(torch.float64)).contiguous()
        print(f"wrote {path.name}: {', '.join(sorted(state))} as {dtype}")
    save_file(io, FIXTURES / "digits-dtypes-io.safetensors", metadata={"format": "pt"})
    print(f"wrote digits-dtypes-io.safetensors with PyTorch {torch.__version__}")


if __name__ == "__main__":
    main()
