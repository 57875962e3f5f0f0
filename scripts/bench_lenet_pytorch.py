#!/usr/bin/env python3
"""LeNet of examples/cnn.rs in PyTorch eager, one thread: the peer of `cargo bench --bench lenet`.

Inference (no_grad forward) and a training step (forward, cross-entropy on the logits, which is
nn's cross-entropy on the softmax output, backward, SGD with momentum) at batch 1, 32 and 256.
Each case is warmed up, then timed over many repetitions; the median is printed with its
throughput in samples/s, in the same units as criterion's report of the Rust bench.

    python scripts/bench_lenet_pytorch.py [--reps N]

Needs torch; CI never runs this script.
"""

import argparse
import statistics
import time

import torch
from torch import nn

BATCHES = (1, 32, 256)


def lenet():
    """The network of examples/cnn.rs, module for module."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def median_seconds(run, reps, budget):
    """The median wall time of `run()` over at most `reps` timed calls (and `budget` seconds),
    after a warm-up of a tenth as many calls (at least 10)."""
    for _ in range(max(10, reps // 10)):
        run()
    times = []
    deadline = time.perf_counter() + budget
    while len(times) < reps and (len(times) < 20 or time.perf_counter() < deadline):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(times)


def report(name, n, seconds, count):
    print(
        f"{name:<26} median {seconds * 1e6:>10.1f} µs  {n / seconds:>12.0f} samples/s  ({count} runs)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000, help="timed runs at most per case")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds at most per case")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread")
    xs = torch.rand(256, 1, 28, 28)
    ys = torch.arange(256) % 10

    net = lenet().eval()
    for n in BATCHES:
        x = xs[:n].contiguous()

        def infer():
            with torch.no_grad():
                return torch.softmax(net(x), dim=1)

        report(f"lenet_infer/forward/{n}", n, *median_seconds(infer, args.reps, args.budget))

    net = lenet().train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for n in BATCHES:
        x, y = xs[:n].contiguous(), ys[:n].contiguous()

        def step():
            opt.zero_grad(set_to_none=False)
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            return loss

        report(f"lenet_train/step/{n}", n, *median_seconds(step, args.reps, args.budget))


if __name__ == "__main__":
    main()
