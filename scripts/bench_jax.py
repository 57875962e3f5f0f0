#!/usr/bin/env python3
"""JAX (XLA on the CPU) on the peers harness's four networks, in the harness's line format.

The networks (--nets) are those of peers/src/main.rs and scripts/bench_pytorch.py:
seminar (784 -> 16 sigmoid -> 16 sigmoid -> 10), wide256 (784 -> 256 relu ->
256 relu -> 10), wide1024 (784 -> 1024 relu -> 1024 relu -> 10) and deep64
(64 -> 64 tanh x4 -> 10, on the 8 x 8 subsample of each digit: pixels at rows
and columns 2, 5, ..., 23), each trained with softmax + cross-entropy on the
logits and SGD with classic momentum (v <- mu v + g, w <- w - lr v; lr 0.1,
mu 0.9), f32. Parameters start as PyTorch's nn.Linear does (uniform in
+-1/sqrt(inputs)), from a fixed seed.

How JAX runs here:
- one thread: XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
  intra_op_parallelism_threads=1" is set before jax loads (a value already in
  the environment is kept and these are appended), and scripts/bench_peers.sh
  also pins the process to one core with taskset;
- op=train is the whole step (forward, loss, backward, momentum update) in one
  jax.jit function whose parameters and velocities are donated
  (donate_argnums), so XLA updates them in place; op=infer is one jitted
  forward pass to softmax probabilities;
- every step waits for its result (block_until_ready), so a step's time is the
  computation, not JAX's asynchronous dispatch;
- the batches are device arrays made before the timing starts, cycled through
  in order, as in the Rust harness.

One line per case, the same format as `nn-peers` (scripts/bench_peers.sh adds
the FLOP rate and the share of the FMA peak):

    peer=jax net=seminar op=train batch=32 samples_per_s=1000000 us_per_step=32.000

Timing: warm up (which includes the compilation), then --reps repetitions of
--seconds wall time each; the median repetition is reported.

Usage: python3 scripts/bench_jax.py [--seconds S] [--reps N] [--warmup S]
       [--nets seminar,wide256,wide1024,deep64] [--ops infer,train]
       [--batches 1,32,256] [--data DIR] [--check STEPS]
"""

import argparse
import gzip
import os
import struct
import sys
import time

# Before jax loads: XLA reads its flags once.
_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _ONE_THREAD).strip()
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

try:  # the environment above must be set before jax loads
    import jax  # noqa: E402
    import jax.numpy as jnp  # noqa: E402
    import numpy as np  # noqa: E402
except ImportError as e:
    print(f"error: this script needs JAX ({e}); install it with `pip install jax`",
          file=sys.stderr)
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
}
# The 8 x 8 subsample of a 28 x 28 digit that deep64 reads (peers/src/data.rs).
SUBSAMPLE = [(2 + 3 * (k // 8)) * 28 + 2 + 3 * (k % 8) for k in range(64)]
ACTIVATIONS = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "tanh": jnp.tanh}


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
    """The training digits as (inputs float32 [n, 784] in [0, 1], labels int32 [n])."""
    dims, pixels = read_idx(find(directory, "train-images-idx3-ubyte"))
    ldims, labels = read_idx(find(directory, "train-labels-idx1-ubyte"))
    if len(dims) != 3 or dims[1] * dims[2] != 784:
        raise ValueError(f"expected images of 28x28 pixels, found dimensions {dims}")
    if ldims[0] != dims[0]:
        raise ValueError(f"expected one label per image ({dims[0]}), found {ldims[0]}")
    x = np.frombuffer(pixels, dtype=np.uint8).reshape(dims[0], 784).astype(np.float32) / 255.0
    y = np.frombuffer(labels, dtype=np.uint8).astype(np.int32)
    return x, y


def init_params(net):
    """[(W [o, i], b [o])] per layer, uniform in +-1/sqrt(i) like torch.nn.Linear."""
    widths, _ = NETS[net]
    key = jax.random.PRNGKey(1)
    params = []
    for k in range(len(widths) - 1):
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / np.sqrt(widths[k])
        params.append((
            jax.random.uniform(kw, (widths[k + 1], widths[k]), jnp.float32, -bound, bound),
            jax.random.uniform(kb, (widths[k + 1],), jnp.float32, -bound, bound),
        ))
    return params


def make_fns(net):
    """The jitted (infer, train_step) of `net`."""
    act = ACTIVATIONS[NETS[net][1]]

    def logits(params, x):
        for w, b in params[:-1]:
            x = act(x @ w.T + b)
        w, b = params[-1]
        return x @ w.T + b

    def loss_fn(params, x, y):
        logp = jax.nn.log_softmax(logits(params, x))
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def train_step(params, velocity, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        velocity = jax.tree_util.tree_map(lambda v, g: MOMENTUM * v + g, velocity, grads)
        params = jax.tree_util.tree_map(lambda p, v: p - LEARNING_RATE * v, params, velocity)
        return params, velocity, loss

    def infer(params, x):
        return jax.nn.softmax(logits(params, x), axis=-1)

    return jax.jit(infer), jax.jit(train_step, donate_argnums=(0, 1))


def batches_of(net, x, y, batch):
    """The whole batches of (inputs, labels) `net` reads, as device arrays."""
    if NETS[net][0][0] == 64:
        x = np.ascontiguousarray(x[:, SUBSAMPLE])
    count = x.shape[0] // batch
    return [(jax.device_put(x[i * batch:(i + 1) * batch]),
             jax.device_put(y[i * batch:(i + 1) * batch])) for i in range(count)]


def measure(step, batch, warmup, seconds, reps):
    """Median samples/s and us/step of `step` (which processes `batch` samples)."""
    start = time.perf_counter()
    steps = 0
    while True:
        step()
        steps += 1
        if time.perf_counter() - start >= warmup and steps >= 3:
            break
    # The first calls compiled; size the chunks on calls after them.
    start = time.perf_counter()
    for _ in range(3):
        step()
    per_step = (time.perf_counter() - start) / 3
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


class Trainer:
    """The timed training step of `net` on the next batch, each call (returns the loss array)."""

    def __init__(self, net, x, y, batch):
        _, self.train_step = make_fns(net)
        self.params = init_params(net)
        self.velocity = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        self.data = batches_of(net, x, y, batch)
        self.next = 0

    def __call__(self):
        xb, yb = self.data[self.next]
        self.next = (self.next + 1) % len(self.data)
        self.params, self.velocity, loss = self.train_step(self.params, self.velocity, xb, yb)
        return loss.block_until_ready()


def run_case(net, x, y, op, batch, args):
    if op == "infer":
        infer, _ = make_fns(net)
        params = init_params(net)
        data = batches_of(net, x, y, batch)
        cursor = [0]

        def step():
            i = cursor[0]
            cursor[0] = (i + 1) % len(data)
            infer(params, data[i][0]).block_until_ready()
    else:
        step = Trainer(net, x, y, batch)
    return measure(step, batch, args.warmup, args.seconds, args.reps)


def check(net, x, y, batch, steps):
    """Runs the timed training step `steps` times; the mean loss of the first and last ten."""
    step = Trainer(net, x, y, batch)
    losses = [float(step()) for _ in range(steps)]
    return sum(losses[:10]) / 10, sum(losses[-10:]) / 10


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

    try:
        x, y = load_mnist(args.data)
    except (OSError, ValueError) as e:
        print(f"error: loading the MNIST digits: {e}", file=sys.stderr)
        return 1
    if x.shape[0] < max(batches):
        print(f"error: the largest batch is {max(batches)} digits but {args.data} holds "
              f"only {x.shape[0]}", file=sys.stderr)
        return 1

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"# jax {jax.__version__} ({jax.default_backend()}), jit, donated parameters, "
          f"XLA_FLAGS='{os.environ['XLA_FLAGS']}', cores allowed={affinity}, "
          f"{x.shape[0]} MNIST digits; warmup {args.warmup:.2f} s, {args.reps} reps of "
          f"{args.seconds:.2f} s, median", flush=True)
    if args.check is not None:
        for net in nets:
            for batch in batches:
                first, last = check(net, x, y, batch, args.check)
                print(f"check peer=jax net={net} batch={batch} steps={args.check} "
                      f"loss_first10={first:.4f} loss_last10={last:.4f}", flush=True)
        return 0
    for net in nets:
        for op in ops:
            for batch in batches:
                samples_per_s, us_per_step = run_case(net, x, y, op, batch, args)
                print(f"peer=jax net={net} op={op} batch={batch} "
                      f"samples_per_s={samples_per_s:.0f} us_per_step={us_per_step:.3f}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
