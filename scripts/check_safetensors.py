#!/usr/bin/env python3
"""Check a weights file written by `nn::weights::save` from Python, independently of the Rust code.

    pip install safetensors numpy
    python3 scripts/check_safetensors.py                      # the fixtures in tests/fixtures/weights (digits, lenet, two-heads, f64-written)
    python3 scripts/check_safetensors.py mnist.safetensors    # any file nn wrote
    python3 scripts/check_safetensors.py WEIGHTS IO           # and compare outputs with IO
    python3 scripts/check_safetensors.py --write-python-copy  # rewrite digits-from-python.safetensors

What it checks:

1. The file parses with the `safetensors` Python package, and its `__metadata__` holds the
   network's declaration under `nn.network` (e.g. "784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax").
2. Its tensors are exactly the keys of the state dict of the equivalent PyTorch `nn.Sequential`
   for that declaration -- `0.weight`, `0.bias`, `2.weight`, ... for `Linear, Act, Linear, ...`;
   convolutions, pooling, dropout, flatten and layer norm modules counted as PyTorch counts them
   -- each float32, or each float64 for an f64 network (batch norm's num_batches_tracked int64,
   as PyTorch keeps it), dense weights
   [out, in], conv weights [out, in, kh, kw], biases [out], so
   `load_state_dict` (strict) accepts them. A graph network's declaration (`residual { ... }`,
   `concat { ... }`, `heads { name: ..., ... }`) maps to the modules nn's `pytorch_module`
   defines: `Residual` (an nn.Sequential of the block's modules: `2.0.weight`), `Concat` (an
   nn.ModuleList of one nn.Sequential a branch: `3.1.0.weight`) and `Heads` (an nn.ModuleDict of
   one nn.Sequential a head: `4.digit.0.weight`).
3. Read by hand (8-byte little-endian header length, JSON header, raw data), each tensor's bytes
   are the little-endian row-major values the package returned.
4. With an IO file (tensors `inputs` [n, in] and `outputs` [n, out], or for a network with
   heads `outputs.NAME` [n, out] for each head; written by the Rust tests
   `fixtures_are_current`, `lenet_fixtures_are_current` and `two_heads_fixtures_are_current`), a
   forward pass written here in numpy, in float64, on the loaded weights found by their names
   (convolution, pooling and layer norm included; dropout is the identity at inference; a
   residual block adds its input to its chain's output, a concatenation joins its branches'
   outputs along the channels, each head reads the trunk's output) matches the outputs the Rust
   forward pass computed, to within 1e-5 (1e-12 for the float64 outputs of an f64 network).

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
import re
import struct
import sys
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "weights"
# The fixtures checked when the script runs without arguments: the seminar's network and LeNet.
FIXTURE_DECLARATIONS = {
    "digits": "784 -> 16 sigmoid -> 16 sigmoid -> 10 softmax",
    "lenet": "1x28x28 -> conv 6 5x5 pad 2 relu -> maxpool 2x2 -> conv 16 5x5 relu -> maxpool 2x2 "
    "-> dropout 0.25 -> 120 relu -> 84 relu -> 10 softmax",
    # A graph network (tests/graph_weights.rs): residual blocks in the trunk and in a head, a
    # channel-wise concatenation of images, two heads.
    # An f64 network (tests/f64.rs): every tensor float64, the outputs to within 1e-12.
    "f64-written": "4 -> 6 tanh -> 5 sigmoid -> 5 softplus -> 4 gelu -> 4 silu -> 3 leaky_relu 0.5 "
    "-> 3 softmax",
    "two-heads": "1x6x6 -> stem: conv 3 3x3 pad 1 relu -> skip: residual { conv 4 3x3 pad 1 tanh "
    "-> batchnorm -> conv 3 3x3 pad 1 linear } -> concat { conv 2 3x3 relu, maxpool 3x3 stride 1 } "
    "-> heads { digit: 10 softmax, even: 8 relu -> residual { 8 tanh -> layernorm -> 8 linear } "
    "-> dropout 0.1 -> 1 sigmoid }",
}
TOLERANCE = 1e-5
# For a float64 file: numpy and nn both compute in float64.
TOLERANCE_F64 = 1e-12


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def split_top(text, sep):
    """`text` split at each `sep` outside braces."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


NAMED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$", re.DOTALL)
BLOCK = re.compile(r"^(residual|concat|heads)\s*\{(.*)\}$", re.DOTALL)


def parse_declaration(text):
    """'1x28x28 -> c: conv 6 5x5 pad 2 relu -> maxpool 2x2 -> 10 softmax' -> (input shape, chain).

    The input shape is (n,) or (c, h, w); the chain is a list of nodes: each layer a dict with
    its `kind` and what its declaration gives, each block a dict of kind `residual` (its
    `chain`), `concat` (its `branches`, chains) or `heads` (its `heads`, (name, chain) pairs).
    See nn-macros/src/ast.rs for the grammar.
    """
    parts = split_top(text, "->")
    dims = tuple(int(d) for d in parts[0].split("x"))
    return dims, parse_chain(parts[1:])


def parse_chain(parts):
    """The nodes of the chain whose pieces (between the `->`s) are `parts`."""
    return [parse_node(part) for part in parts]


def parse_node(part):
    """One piece of a chain: `[name:] layer`, `[name:] residual { chain }`,
    `[name:] concat { chain, chain, ... }` or `heads { name: chain, ... }`."""
    named = NAMED.match(part)
    if named:
        part = named.group(2).strip()
    block = BLOCK.match(part)
    if block:
        kind, inner = block.group(1), block.group(2)
        pieces = [p for p in split_top(inner, ",") if p]
        if kind == "residual":
            return dict(kind="residual", chain=parse_chain(split_top(inner, "->")))
        if kind == "concat":
            return dict(kind="concat", branches=[parse_chain(split_top(p, "->")) for p in pieces])
        heads = []
        for piece in pieces:
            name, chain = piece.split(":", 1)
            heads.append((name.strip(), parse_chain(split_top(chain, "->"))))
        return dict(kind="heads", heads=heads)
    return parse_layer(part)


def parse_layer(part):
    """One layer's declaration, without its name."""
    words = part.split()
    kind = words[0]
    if kind == "conv":
        kh, kw = kernel(words[2])
        options = dict(zip(words[3:-1:2], map(int, words[4:-1:2])))
        return dict(kind="conv", filters=int(words[1]), kernel=(kh, kw),
                    stride=options.get("stride", 1), pad=options.get("pad", 0),
                    activation=activation(words[-1:]))
    if kind in ("maxpool", "avgpool"):
        kh, kw = kernel(words[1])
        stride = int(words[3]) if len(words) > 3 and words[2] == "stride" else kh
        return dict(kind=kind, window=(kh, kw), stride=stride)
    if kind == "dropout":
        return dict(kind="dropout", rate=float(words[1]))
    if kind in ("batchnorm", "layernorm"):
        return dict(kind=kind)
    return dict(kind="dense", width=int(words[0]), activation=activation(words[1:]))


def kernel(text):
    """'5x5' -> (5, 5); '3' -> (3, 3)."""
    sides = [int(v) for v in text.split("x")]
    return (sides[0], sides[-1])


def activation(words):
    """['leaky_relu', '0.2'] -> ('leaky_relu', 0.2); ['relu'] -> ('relu', None)."""
    if words[0] == "leaky_relu":
        return ("leaky_relu", float(words[1]) if len(words) > 1 else 0.01)
    return (words[0], None)


def activate(act, z):
    """The activations of nn, in float64 (see nn-core/src/activation.rs for their formulas)."""
    name, slope = act
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
    if name == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    if name == "gelu":
        return 0.5 * z * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (z + 0.044715 * z**3)))
    if name in ("silu", "swish"):
        return z / (1.0 + np.exp(-z))
    fail(f"unknown activation {name!r} (a custom activation has no numpy twin here)")


def layer_modules(layer, shape):
    """The modules of one layer reading `shape` in the equivalent nn.Sequential, each with its
    parameter shapes (none for an activation); and the layer's output shape."""
    kind = layer["kind"]
    layer["input"] = shape
    if kind == "dense":
        n = int(np.prod(shape))
        out = [("nn.Flatten()", {})] if len(shape) == 3 else []
        out.append((f"nn.Linear({n}, {layer['width']})",
                    {"weight": (layer["width"], n), "bias": (layer["width"],)}))
        out.append((layer["activation"][0], {}))
        return out, (layer["width"],)
    if kind == "conv":
        c, h, w = shape
        (kh, kw), s, p, f = layer["kernel"], layer["stride"], layer["pad"], layer["filters"]
        return [
            (f"nn.Conv2d({c}, {f}, kernel_size=({kh}, {kw}), stride={s}, padding={p})",
             {"weight": (f, c, kh, kw), "bias": (f,)}),
            (layer["activation"][0], {}),
        ], (f, (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1)
    if kind in ("maxpool", "avgpool"):
        c, h, w = shape
        (kh, kw), s = layer["window"], layer["stride"]
        module = "MaxPool2d" if kind == "maxpool" else "AvgPool2d"
        return [(f"nn.{module}(kernel_size=({kh}, {kw}), stride={s})", {})], (
            c, (h - kh) // s + 1, (w - kw) // s + 1)
    if kind == "dropout":
        return [(f"nn.Dropout(p={layer['rate']})", {})], shape
    if kind == "layernorm":
        source = f"nn.LayerNorm({list(shape) if len(shape) == 3 else shape[0]})"
        return [(source, {"weight": shape, "bias": shape})], shape
    c = shape[0]
    module = "BatchNorm2d" if len(shape) == 3 else "BatchNorm1d"
    return [(f"nn.{module}({c})",
             {"weight": (c,), "bias": (c,), "running_mean": (c,), "running_var": (c,),
              "num_batches_tracked": ()})], shape


def chain_modules(chain, shape, prefix, expected):
    """The modules of `chain` reading `shape`, numbered as PyTorch numbers an nn.Sequential's
    (parameter-free modules included), as sources; and the chain's output shape (None after
    heads). Each tensor's state-dict name, `PATH.ROLE` after the module that holds it (`2.weight`;
    inside a block `2.0.weight`, a concatenation's branch `3.1.0.weight`, a head
    `4.digit.0.weight`), goes into `expected` with its shape, and into its layer under the role.

    The blocks are the modules nn's `pytorch_module` defines: `Residual` an nn.Sequential of
    the block's modules, `Concat` an nn.ModuleList of one nn.Sequential a branch, `Heads` an
    nn.ModuleDict of one nn.Sequential a head.
    """
    sources = []
    for node in chain:
        kind = node["kind"]
        path = f"{prefix}{len(sources)}."
        if kind == "residual":
            inner, out = chain_modules(node["chain"], shape, path, expected)
            if out != shape:
                fail(f"the residual block at {path[:-1]} takes {shape} and gives {out}")
            sources.append(f"Residual({', '.join(inner)})")
        elif kind == "concat":
            branches, outs = [], []
            for k, branch in enumerate(node["branches"]):
                inner, out = chain_modules(branch, shape, f"{path}{k}.", expected)
                branches.append(f"nn.Sequential({', '.join(inner)})")
                outs.append(out)
            node["outputs"] = outs
            if all(len(o) == 1 for o in outs):
                out = (sum(o[0] for o in outs),)
            elif all(len(o) == 3 and o[1:] == outs[0][1:] for o in outs):
                out = (sum(o[0] for o in outs),) + outs[0][1:]
            else:
                fail(f"the concatenation at {path[:-1]} joins {outs}")
            shape = out
            sources.append(f"Concat({', '.join(branches)})")
        elif kind == "heads":
            heads = []
            for name, head in node["heads"]:
                inner, _ = chain_modules(head, shape, f"{path}{name}.", expected)
                heads.append(f'"{name}": nn.Sequential({", ".join(inner)})')
            shape = None
            sources.append(f"Heads({{{', '.join(heads)}}})")
        else:
            modules, out = layer_modules(node, shape)
            for source, params in modules:
                for role, dims in params.items():
                    name = f"{prefix}{len(sources)}.{role}"
                    expected[name] = tuple(dims)
                    node[role] = name
                sources.append(source)
            shape = out
    return sources, shape


def check_weights(path):
    tensors = load_file(str(path))
    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata() or {}
    declaration = metadata.get("nn.network")
    if declaration is None:
        fail(f"{path}: no nn.network in __metadata__ (found {metadata})")
    dims, layers = parse_declaration(declaration)

    expected = {}
    sources, _ = chain_modules(layers, dims, "", expected)
    if set(tensors) != set(expected):
        fail(f"{path}: tensors {sorted(tensors)}, expected {sorted(expected)}")
    # Every float tensor has the network's scalar type: float32, or float64 for an f64 network.
    floats = {t.dtype for n, t in tensors.items() if not n.endswith(".num_batches_tracked")}
    if len(floats) != 1 or not floats <= {np.dtype(np.float32), np.dtype(np.float64)}:
        fail(f"{path}: the float tensors have dtypes {sorted(map(str, floats))}, expected one of float32, float64")
    (scalar,) = floats
    for name, shape in expected.items():
        t = tensors[name]
        # num_batches_tracked is int64, as PyTorch keeps it; every other tensor the scalar.
        want = np.int64 if name.endswith(".num_batches_tracked") else scalar
        if t.dtype != want:
            fail(f"{path}: tensor {name} has dtype {t.dtype}, expected {np.dtype(want)}")
        if t.shape != shape:
            fail(f"{path}: tensor {name} has shape {list(t.shape)}, expected {list(shape)}")
        if not np.isfinite(t).all():
            fail(f"{path}: tensor {name} holds a non-finite value")

    # By hand: the header's offsets, and the bytes as little-endian row-major floats.
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    for name, shape in expected.items():
        info = header[name]
        count = name.endswith(".num_batches_tracked")
        wide = scalar == np.float64
        if info["dtype"] != ("I64" if count else "F64" if wide else "F32") or tuple(info["shape"]) != shape:
            fail(f"{path}: header entry of {name} is {info}")
        start, end = info["data_offsets"]
        raw_dtype = "<i8" if count else "<f8" if wide else "<f4"
        values = np.frombuffer(data[start:end], dtype=raw_dtype).reshape(shape)
        if not np.array_equal(values, tensors[name]):
            fail(f"{path}: the bytes of {name} are not its values in row-major little-endian order")

    counts = " but num_batches_tracked (int64)" if any(n.endswith(".num_batches_tracked") for n in expected) else ""
    print(f"ok: {path.name} holds `{declaration}`: {', '.join(sorted(expected))}, all {np.dtype(scalar)}{counts}")
    print(f"    state-dict keys of nn.Sequential({', '.join(sources)})")
    return declaration, layers, tensors


def conv2d(x, w, b, stride, pad):
    """x [n, c, h, w], w [f, c, kh, kw] -> [n, f, oh, ow], zeros outside the image."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.empty((n, f, oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            window = x[:, :, oy * stride : oy * stride + kh, ox * stride : ox * stride + kw]
            out[:, :, oy, ox] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def pool2d(x, window, stride, reduce):
    """Each channel alone; only the windows that fit whole (PyTorch's floor rule)."""
    n, c, h, w = x.shape
    kh, kw = window
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = np.empty((n, c, oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            out[:, :, oy, ox] = reduce(
                x[:, :, oy * stride : oy * stride + kh, ox * stride : ox * stride + kw], axis=(2, 3)
            )
    return out


def forward(chain, tensors, x):
    """Inference in float64: dropout passes its input through. Returns the outputs [n, out]
    of a chain, or for a network with heads a dict of each head's."""
    return run(chain, tensors, x.astype(np.float64).reshape(len(x), -1))


def run(chain, tensors, a):
    """`chain` on the rows `a` [n, len]: each node's output flattened to [n, len] again
    (channel-major for an image), or the heads' dict."""
    for node in chain:
        kind = node["kind"]
        if kind == "residual":
            # x + f(x)
            a = a + run(node["chain"], tensors, a)
        elif kind == "concat":
            # Each branch reads the block's input; images are joined along the channels.
            outs = [run(branch, tensors, a) for branch in node["branches"]]
            shapes = node["outputs"]
            outs = [o.reshape((len(o),) + tuple(s)) for o, s in zip(outs, shapes)]
            a = np.concatenate(outs, axis=1).reshape(len(a), -1)
        elif kind == "heads":
            return {name: run(head, tensors, a) for name, head in node["heads"]}
        else:
            a = apply_layer(node, tensors, a)
    return a


def apply_layer(layer, tensors, a):
    """One layer on the rows `a`, reshaped to its input shape; its output flattened."""
    kind = layer["kind"]
    param = lambda role: tensors[layer[role]].astype(np.float64)
    if kind == "dense":
        a = a.reshape(len(a), -1)
        a = activate(layer["activation"], a @ param("weight").T + param("bias"))
    elif kind == "conv":
        a = a.reshape((len(a),) + tuple(layer["input"]))
        z = conv2d(a, param("weight"), param("bias"), layer["stride"], layer["pad"])
        a = activate(layer["activation"], z)
    elif kind in ("maxpool", "avgpool"):
        a = a.reshape((len(a),) + tuple(layer["input"]))
        a = pool2d(a, layer["window"], layer["stride"], np.max if kind == "maxpool" else np.mean)
    elif kind == "batchnorm":
        # Inference: each channel by the running statistics, then scaled and shifted.
        shape = (len(a),) + tuple(layer["input"])
        channel = (1, -1) + (1,) * (len(shape) - 2)
        a = a.reshape(shape)
        mean = param("running_mean").reshape(channel)
        var = param("running_var").reshape(channel)
        a = (a - mean) / np.sqrt(var + 1e-5) * param("weight").reshape(channel) + param(
            "bias"
        ).reshape(channel)
    elif kind == "layernorm":
        shape = (len(a),) + tuple(layer["input"])
        flat = a.reshape(len(a), -1)
        mu = flat.mean(axis=1, keepdims=True)
        var = flat.var(axis=1, keepdims=True)
        norm = ((flat - mu) / np.sqrt(var + 1e-5)).reshape(shape)
        a = norm * param("weight") + param("bias")
    return a.reshape(len(a), -1)


def check_outputs(io_path, layers, tensors):
    """The numpy forward pass on the IO file's `inputs` against the Rust outputs: `outputs`,
    or for a network with heads `outputs.NAME` for each head."""
    io = load_file(str(io_path))
    x = io["inputs"]
    ours = forward(layers, tensors, x)
    if isinstance(ours, dict):
        pairs = [(f"outputs.{name}", out) for name, out in ours.items()]
        extra = set(io) - {"inputs"} - {name for name, _ in pairs}
        if extra:
            fail(f"{io_path}: tensors {sorted(extra)} are no head's outputs")
    else:
        pairs = [("outputs", ours)]
    for name, out in pairs:
        if name not in io:
            fail(f"{io_path}: no tensor {name}")
        y = io[name]
        if out.shape != y.shape:
            fail(f"{io_path}: {name} has shape {list(y.shape)}, numpy computed {list(out.shape)}")
        tolerance = TOLERANCE_F64 if y.dtype == np.float64 else TOLERANCE
        diff = np.abs(out - y.astype(np.float64)).max()
        if not diff <= tolerance:
            fail(f"{io_path}: numpy's forward pass differs from Rust's {name} by {diff:.3g} > {tolerance}")
        if y.shape[1] > 1 and not (out.argmax(axis=1) == y.argmax(axis=1)).all():
            fail(f"{io_path}: numpy and Rust predict different classes in {name}")
        print(
            f"ok: numpy forward pass of {len(x)} inputs matches Rust's {name}: "
            f"max |difference| {diff:.3g} (tolerance {tolerance})"
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
    if not args:
        for name, expected in FIXTURE_DECLARATIONS.items():
            declaration, layers, tensors = check_weights(FIXTURES / f"{name}.safetensors")
            if declaration != expected:
                fail(f"the fixture {name} holds `{declaration}`, expected `{expected}`")
            check_outputs(FIXTURES / f"{name}-io.safetensors", layers, tensors)
            if name == "digits":
                check_dtype_fixtures(layers, tensors)
        return
    declaration, layers, tensors = check_weights(Path(args[0]))
    if len(args) > 1:
        check_outputs(Path(args[1]), layers, tensors)


if __name__ == "__main__":
    main(sys.argv[1:])
