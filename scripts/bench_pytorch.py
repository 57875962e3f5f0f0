#!/usr/bin/env python3
"""PyTorch on the peers harness's five networks, in the harness's line format.

The networks (--nets) are those of peers/src/main.rs: seminar (784 -> 16
sigmoid -> 16 sigmoid -> 10), wide256 (784 -> 256 relu -> 256 relu -> 10),
wide1024 (784 -> 1024 relu -> 1024 relu -> 10) and deep64 (64 -> 64 tanh x4 ->
10, on an 8 x 8 subsample of each digit: pixels at rows and columns 2, 5, ...,
23) and lenet (the LeNet-5 of examples/cnn.rs: nn.Conv2d(1, 6, 5, padding=2),
ReLU, MaxPool2d(2), Conv2d(6, 16, 5), ReLU, MaxPool2d(2), Dropout(0.25) in
training only, Linear 400 -> 120 -> 84 -> 10 with ReLU), each trained with
softmax + cross-entropy (F.cross_entropy on the logits) and SGD with momentum
(lr 0.1, lenet 0.01; momentum 0.9), f32, eager mode, one thread
(torch.set_num_threads(1)). The inputs are the shipped MNIST training digits
(data/mnist), cut into consecutive batches that each case cycles through, as
in the Rust harness.

One line per case, the same format as `nn-peers` (scripts/bench_peers.sh adds
the FLOP rate and the share of the FMA peak):

    peer=pytorch net=seminar op=train batch=32 samples_per_s=39000 us_per_step=820.513

op=infer is a forward pass to softmax probabilities under torch.inference_mode();
op=train is one step: zero_grad, forward, loss, backward, optimizer step.
Timing: warm up, then --reps repetitions of --seconds wall time each; the
median repetition is reported.

Usage: python3 scripts/bench_pytorch.py [--seconds S] [--reps N] [--warmup S]
       [--nets seminar,wide256,wide1024,deep64,lenet] [--ops infer,train]
       [--batches 1,32,256] [--data DIR] [--check STEPS]
"""

import argparse
import gzip
import os
import struct
import sys
import time

# Before torch loads: its OpenMP and MKL pools read these.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

try:  # the environment above must be set before torch loads
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402
except ImportError as e:
    print(f"error: this script needs PyTorch ({e}); install it with `pip install torch` "
          "(the PyPI wheel brings its CUDA libraries: several GB)", file=sys.stderr)
    sys.exit(2)

LEARNING_RATE = 0.1
MOMENTUM = 0.9
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# name: (widths, input first; hidden activation), as in peers/src/main.rs.
NETS = {
    "seminar": ([784, 16, 16, 10], "sigmoid"),
    "wide256": ([784, 256, 256, 10], "relu"),
    "wide1024": ([784, 1024, 1024, 10], "relu"),
    "deep64": ([64, 64, 64, 64, 64, 10], "tanh"),
    # The dense layers after the convolutions (make_model builds the rest).
    "lenet": ([400, 120, 84, 10], "relu"),
}
# LeNet's rate, as benches/lenet.rs and scripts/bench_lenet_pytorch.py (peers/src/main.rs).
LENET_LEARNING_RATE = 0.01
# The 8 x 8 subsample of a 28 x 28 digit that deep64 reads (peers/src/data.rs).
SUBSAMPLE = [(2 + 3 * (k // 8)) * 28 + 2 + 3 * (k % 8) for k in range(64)]


def read_idx(path):
    """Reads an IDX file (plain or gzipped): returns (dims, bytes of the items)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: expected an IDX header of at least 4 bytes, found {len(raw)}")
    zero, kind, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or kind != 0x08:
        raise ValueError(f"{path}: expected an IDX file of unsigned bytes (magic 0x0008), "
                         f"found magic 0x{zero:04x}{kind:02x}")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = raw[4 + 4 * ndim:]
    count = 1
    for d in dims:
        count *= d
    if len(body) != count:
        raise ValueError(f"{path}: header says {count} bytes of data, found {len(body)}")
    return dims, body


def find(directory, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{directory}: expected {name}.gz or {name}, found neither")


def load_mnist(directory):
    """The training digits as (inputs float32 [n, 784] in [0, 1], labels int64 [n])."""
    dims, pixels = read_idx(find(directory, "train-images-idx3-ubyte"))
    ldims, labels = read_idx(find(directory, "train-labels-idx1-ubyte"))
    if len(dims) != 3 or dims[1] * dims[2] != 784:
        raise ValueError(f"expected images of 28x28 pixels, found dimensions {dims}")
    if ldims[0] != dims[0]:
        raise ValueError(f"expected one label per image ({dims[0]}), found {ldims[0]}")
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).reshape(dims[0], 784)
    y = torch.frombuffer(bytearray(labels), dtype=torch.uint8).to(torch.int64)
    return x.to(torch.float32) / 255.0, y


def learning_rate(net):
    return LENET_LEARNING_RATE if net == "lenet" else LEARNING_RATE


def make_model(net):
    torch.manual_seed(1)
    if net == "lenet":
        nn = torch.nn
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )
    widths, act = NETS[net]
    module = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[act]
    layers = []
    for k in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[k], widths[k + 1]))
        if k + 2 < len(widths):
            layers.append(module())
    return torch.nn.Sequential(*layers)


def inputs_of(net, x):
    """The inputs `net` reads: all 784 pixels, deep64's subsample (contiguous), or lenet's
    one channel of 28 x 28 (a view)."""
    if net == "lenet":
        return x.reshape(-1, 1, 28, 28)
    return x[:, SUBSAMPLE].contiguous() if NETS[net][0][0] == 64 else x


def measure(step, batch, warmup, seconds, reps):
    """Median samples/s and us/step of `step` (which processes `batch` samples)."""
    start = time.perf_counter()
    steps = 0
    while True:
        step()
        steps += 1
        if time.perf_counter() - start >= warmup and steps >= 3:
            break
    per_step = (time.perf_counter() - start) / steps
    chunk = max(1, int(1e-3 / per_step))
    rates = []
    for _ in range(reps):
        start = time.perf_counter()
        steps = 0
        while True:
            for _ in range(chunk):
                step()
            steps += chunk
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        rates.append(steps / elapsed)
    rates.sort()
    steps_per_s = rates[len(rates) // 2]
    return steps_per_s * batch, 1e6 / steps_per_s


def check(net, x, y, batch, steps):
    """Runs the timed training step `steps` times; the mean loss of the first and last ten."""
    model = make_model(net)
    x = inputs_of(net, x)
    opt = torch.optim.SGD(model.parameters(), lr=learning_rate(net), momentum=MOMENTUM)
    count = x.shape[0] // batch
    losses = []
    for s in range(steps):
        i = s % count
        opt.zero_grad()
        loss = F.cross_entropy(model(x[i * batch:(i + 1) * batch]), y[i * batch:(i + 1) * batch])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return sum(losses[:10]) / 10, sum(losses[-10:]) / 10


def run_case(net, x, y, op, batch, args):
    model = make_model(net)
    x = inputs_of(net, x)
    count = x.shape[0] // batch
    # Views into the data, made before timing (no copies), like the Rust peers'
    # pre-built tensors.
    xs = [x[i * batch:(i + 1) * batch] for i in range(count)]
    ys = [y[i * batch:(i + 1) * batch] for i in range(count)]
    cursor = [0]

    def next_index():
        i = cursor[0]
        cursor[0] = (i + 1) % count
        return i

    if op == "infer":
        model.eval()  # lenet's dropout off; nothing else changes

        def step():
            with torch.inference_mode():
                F.softmax(model(xs[next_index()]), dim=1)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=learning_rate(net), momentum=MOMENTUM)

        def step():
            i = next_index()
            opt.zero_grad()
            loss = F.cross_entropy(model(xs[i]), ys[i])
            loss.backward()
            opt.step()

    return measure(step, batch, args.warmup, args.seconds, args.reps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=0.3)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--nets", default=",".join(NETS))
    parser.add_argument("--ops", default="infer,train")
    parser.add_argument("--batches", default="1,32,256")
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
    parser.add_argument("--check", type=int, metavar="STEPS",
                        help="time nothing: run the training step STEPS times per batch size "
                             "and print the mean loss of the first and last ten steps")
    args = parser.parse_args()
    nets = args.nets.split(",")
    for net in nets:
        if net not in NETS:
            parser.error(f"--nets: expected some of {', '.join(NETS)}, found {net!r}")
    ops = args.ops.split(",")
    for op in ops:
        if op not in ("infer", "train"):
            parser.error(f"--ops: expected infer or train, found {op!r}")
    try:
        batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        parser.error(f"--batches: expected batch sizes like 1,32,256, found {args.batches!r}")
    if args.reps < 1 or any(b < 1 for b in batches):
        parser.error("--reps and every batch size must be at least 1")
    if args.check is not None and args.check < 20:
        parser.error(f"--check expects a step count >= 20, found {args.check}")

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    try:
        x, y = load_mnist(args.data)
    except (OSError, ValueError) as e:
        print(f"error: loading the MNIST digits: {e}", file=sys.stderr)
        return 1
    if x.shape[0] < max(batches):
        print(f"error: the largest batch is {max(batches)} digits but {args.data} holds "
              f"only {x.shape[0]}", file=sys.stderr)
        return 1

    print(f"# pytorch {torch.__version__}, eager, threads={torch.get_num_threads()}, "
          f"{x.shape[0]} MNIST digits; warmup {args.warmup:.2f} s, {args.reps} reps of "
          f"{args.seconds:.2f} s, median", flush=True)
    if args.check is not None:
        for net in nets:
            for batch in batches:
                first, last = check(net, x, y, batch, args.check)
                print(f"check peer=pytorch net={net} batch={batch} steps={args.check} "
                      f"loss_first10={first:.4f} loss_last10={last:.4f}", flush=True)
        return 0
    for net in nets:
        for op in ops:
            for batch in batches:
                samples_per_s, us_per_step = run_case(net, x, y, op, batch, args)
                print(f"peer=pytorch net={net} op={op} batch={batch} "
                      f"samples_per_s={samples_per_s:.0f} us_per_step={us_per_step:.3f}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
