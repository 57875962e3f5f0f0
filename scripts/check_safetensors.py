#!/usr/bin/env python3
"""Check a weights file written by `nn::weights::save` from Python, independently of the Rust code.

    pip install safetensors numpy
    python3 scripts/check_safetensors.py                      # the fixtures in tests/fixtures/weights
    python3 scripts/check_safetensors.py mnist.safetensors    # any file nn wrote
    python3 scripts/check_safetensors.py WEIGHTS IO           # and compare outputs with IO
    python3 scripts/check_safetensors.py --write-python-copy  # rewrite digits-from-python.safetensors

What it checks:

1. The file parses with the `safetensors` Python package, and its `__metadata__` holds the
   network's declaration under `nn.network` (e.g. "784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax").
2. Its tensors are exactly the keys of PyTorch's `nn.Sequential(Linear, Act, Linear, ...)` state
   dict for that declaration -- `0.weight`, `0.bias`, `2.weight`, ... -- each float32, weights
   [out, in] and biases [out], so `load_state_dict` (strict) accepts them.
3. Read by hand (8-byte little-endian header length, JSON header, raw data), each tensor's bytes
   are the little-endian row-major values the package returned.
4. With an IO file (tensors `inputs` [n, in] and `outputs` [n, out], written by the Rust test
   `fixtures_are_current`), a forward pass written here in numpy, in float64, on the loaded
   weights matches the outputs the Rust forward pass computed, to within 1e-5.

5. The fixtures PyTorch wrote in other dtypes (scripts/write_dtype_fixtures.py):
   digits-f16.safetensors, digits-bf16.safetensors and digits-f64.safetensors. Read by hand,
   every tensor has its dtype and holds the float32 fixture's values rounded to that dtype:
   exactly for float64, as numpy's float16 conversion for F16, and for BF16 as round-to-nearest-
   even of the float32 bits done here in integers; a float64 forward pass on them matches the
   outputs PyTorch stored in digits-dtypes-io.safetensors, to within 1e-9.

Exits with status 1 and a message on the first failed check.

`--write-python-copy` saves the fixture's tensors again from Python, as
`safetensors.torch.save_file(model.state_dict(), ...)` would (metadata `{"format": "pt"}` and no
`nn.network`), to tests/fixtures/weights/digits-from-python.safetensors; the Rust test
`a_file_written_by_python_loads` loads that file.
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "weights"
FIXTURE_DECLARATION = "784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax"
TOLERANCE = 1e-5


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def parse_declaration(text):
    """'784 -> h: 16 sigmoid -> 10 softmax' -> (784, [(16, 'sigmoid'), (10, 'softmax')])."""
    parts = [p.strip() for p in text.split("->")]
    layers = []
    for part in parts[1:]:
        if ":" in part:
            part = part.split(":", 1)[1].strip()
        width, activation = part.split()
        layers.append((int(width), activation))
    return int(parts[0]), layers


def activate(name, z):
    """The activations of nn, in float64 (see nn-core/src/activation.rs for their formulas)."""
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softplus":
        return np.logaddexp(0.0, z)
    if name == "linear":
        return z
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "step":
        return (z > 0).astype(np.float64)
    fail(f"unknown activation {name!r}")


def check_weights(path):
    tensors = load_file(str(path))
    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata() or {}
    declaration = metadata.get("nn.network")
    if declaration is None:
        fail(f"{path}: no nn.network in __metadata__ (found {metadata})")
    inputs, layers = parse_declaration(declaration)

    expected = {}
    width_in = inputs
    for k, (width, _) in enumerate(layers):
        expected[f"{2 * k}.weight"] = (width, width_in)
        expected[f"{2 * k}.bias"] = (width,)
        width_in = width
    if set(tensors) != set(expected):
        fail(f"{path}: tensors {sorted(tensors)}, expected {sorted(expected)}")
    for name, shape in expected.items():
        t = tensors[name]
        if t.dtype != np.float32:
            fail(f"{path}: tensor {name} has dtype {t.dtype}, expected float32")
        if t.shape != shape:
            fail(f"{path}: tensor {name} has shape {list(t.shape)}, expected {list(shape)}")
        if not np.isfinite(t).all():
            fail(f"{path}: tensor {name} holds a non-finite value")

    # By hand: the header's offsets, and the bytes as little-endian row-major float32.
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    for name, shape in expected.items():
        info = header[name]
        if info["dtype"] != "F32" or tuple(info["shape"]) != shape:
            fail(f"{path}: header entry of {name} is {info}")
        start, end = info["data_offsets"]
        values = np.frombuffer(data[start:end], dtype="<f4").reshape(shape)
        if not np.array_equal(values, tensors[name]):
            fail(f"{path}: the bytes of {name} are not its values in row-major little-endian order")

    modules = []
    width_in = inputs
    for width, activation in layers:
        modules.append(f"nn.Linear({width_in}, {width})")
        modules.append(activation)
        width_in = width
    print(f"ok: {path.name} holds `{declaration}`: {', '.join(sorted(expected))}, all float32")
    print(f"    state-dict keys of nn.Sequential({', '.join(modules)})")
    return declaration, layers, tensors


def forward(layers, tensors, x):
    a = x.astype(np.float64)
    for k, (_, activation) in enumerate(layers):
        w = tensors[f"{2 * k}.weight"].astype(np.float64)
        b = tensors[f"{2 * k}.bias"].astype(np.float64)
        a = activate(activation, a @ w.T + b)
    return a


def check_outputs(io_path, layers, tensors):
    io = load_file(str(io_path))
    x, y = io["inputs"], io["outputs"]
    ours = forward(layers, tensors, x)
    if ours.shape != y.shape:
        fail(f"{io_path}: outputs have shape {list(y.shape)}, numpy computed {list(ours.shape)}")
    diff = np.abs(ours - y.astype(np.float64)).max()
    if not diff <= TOLERANCE:
        fail(f"{io_path}: numpy's forward pass differs from Rust's by {diff:.3g} > {TOLERANCE}")
    same_class = (ours.argmax(axis=1) == y.argmax(axis=1)).all()
    if not same_class:
        fail(f"{io_path}: numpy and Rust predict different classes")
    print(
        f"ok: numpy forward pass of {len(x)} inputs matches Rust's outputs: "
        f"max |difference| {diff:.3g} (tolerance {TOLERANCE})"
    )


def read_by_hand(path):
    """The header and the tensors of a safetensors file, decoded here from its bytes:
    {name: (dtype, float64 array)}. BF16 is the top 16 bits of a float32."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        chunk = data[start:end]
        dtype = info["dtype"]
        if dtype == "F16":
            values = np.frombuffer(chunk, dtype="<f2")
        elif dtype == "BF16":
            values = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype == "F32":
            values = np.frombuffer(chunk, dtype="<f4")
        elif dtype == "F64":
            values = np.frombuffer(chunk, dtype="<f8")
        else:
            fail(f"{path}: tensor {name} has dtype {dtype}")
        tensors[name] = (dtype, values.astype(np.float64).reshape(info["shape"]))
    return tensors


def bf16_round(values):
    """float32 values rounded to bfloat16, to nearest with ties to even, in integers."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    lsb = (bits >> 16) & 1
    rounded = ((bits + 0x7FFF + lsb) >> 16) << 16
    return rounded.astype(np.uint32).view(np.float32).astype(np.float64)


def check_dtype_fixtures(layers, f32_tensors):
    io = read_by_hand(FIXTURES / "digits-dtypes-io.safetensors")
    x = io["inputs"][1]
    for name, dtype in (("f16", "F16"), ("bf16", "BF16"), ("f64", "F64")):
        path = FIXTURES / f"digits-{name}.safetensors"
        tensors = read_by_hand(path)
        if set(tensors) != set(f32_tensors):
            fail(f"{path}: tensors {sorted(tensors)}, expected {sorted(f32_tensors)}")
        worst = 0.0
        for tensor, original in f32_tensors.items():
            found, values = tensors[tensor]
            if found != dtype:
                fail(f"{path}: tensor {tensor} has dtype {found}, expected {dtype}")
            if values.shape != original.shape:
                fail(f"{path}: tensor {tensor} has shape {list(values.shape)}")
            if dtype == "F64":
                expected = original.astype(np.float64)
            elif dtype == "F16":
                expected = original.astype(np.float16).astype(np.float64)
            else:
                expected = bf16_round(original)
            if not np.array_equal(values, expected):
                fail(f"{path}: tensor {tensor} is not the float32 fixture rounded to {dtype}")
            worst = max(worst, float(np.abs(values - original.astype(np.float64)).max()))
        if dtype in ("F16", "F64"):
            # The package's own reader agrees (numpy has no bfloat16).
            package = load_file(str(path))
            for tensor, (_, values) in tensors.items():
                if not np.array_equal(package[tensor].astype(np.float64), values):
                    fail(f"{path}: the safetensors package reads {tensor} otherwise")
        weights = {k: v for k, (_, v) in tensors.items()}
        ours = forward(layers, weights, x)
        stored = io[f"outputs_{name}"][1]
        diff = np.abs(ours - stored).max()
        if not diff <= 1e-9:
            fail(f"{path}: numpy's forward pass differs from PyTorch's by {diff:.3g} > 1e-9")
        print(
            f"ok: {path.name}: all {dtype}, the float32 weights "
            f"{'exactly' if dtype == 'F64' else 'rounded to nearest even'} "
            f"(max |change| {worst:.3g}); numpy forward matches PyTorch's to {diff:.3g}"
        )


def write_python_copy():
    source = FIXTURES / "digits.safetensors"
    target = FIXTURES / "digits-from-python.safetensors"
    save_file(load_file(str(source)), str(target), metadata={"format": "pt"})
    print(f"wrote {target} from the tensors of {source.name}")


def main(args):
    if args == ["--write-python-copy"]:
        write_python_copy()
        return
    if len(args) > 2:
        fail("usage: check_safetensors.py [WEIGHTS [IO]]")
    weights = Path(args[0]) if args else FIXTURES / "digits.safetensors"
    io = Path(args[1]) if len(args) > 1 else (None if args else FIXTURES / "digits-io.safetensors")
    declaration, layers, tensors = check_weights(weights)
    if not args and declaration != FIXTURE_DECLARATION:
        fail(f"the fixture holds `{declaration}`, expected `{FIXTURE_DECLARATION}`")
    if io is not None:
        check_outputs(io, layers, tensors)
    if not args:
        check_dtype_fixtures(layers, tensors)


if __name__ == "__main__":
    main(sys.argv[1:])
