#!/usr/bin/env python3
"""The two-head Reader of examples/heads.rs in PyTorch eager, one thread: the peer of
`cargo bench --bench heads`.

    784 -> trunk: 64 relu -> heads { digit: 10 softmax, even: 16 relu -> 1 sigmoid }

Inference (no_grad forward, softmax on the digit head and sigmoid on the even head, as nn's
outputs are probabilities) and a training step (forward; cross-entropy on the digit logits plus
0.5 times binary cross-entropy on the even logit, which are nn's `CrossEntropy` on the softmax
and `BinaryCrossEntropy` on the sigmoid; backward; Adam with nn's defaults, lr 1e-3, betas
(0.9, 0.999), eps 1e-8) at batch 1, 32 and 256, on the same kind of batch the Rust bench builds
(inputs uniform in [0, 1), digit targets `i % 10`, even targets `i % 2 == 0`). Each case is
warmed up, then timed over many repetitions; the median is printed with its throughput in
samples/s, in the same units as criterion's report of the Rust bench.

    python scripts/bench_heads_pytorch.py [--reps N] [--budget SECONDS]

Needs torch; CI never runs this script.
"""

import argparse
import statistics
import time

import torch
from torch import nn

BATCHES = (1, 32, 256)


class Reader(nn.Module):
    """The trunk and the two heads of examples/heads.rs, returning each head's logits."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(784, 64), nn.ReLU())
        self.digit = nn.Linear(64, 10)
        self.even = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x):
        h = self.trunk(x)
        return self.digit(h), self.even(h)


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
    xs = torch.rand(256, 784)
    digits = torch.arange(256) % 10
    even = (torch.arange(256) % 2 == 0).float().reshape(256, 1)

    net = Reader().eval()
    for n in BATCHES:
        x = xs[:n].contiguous()

        def infer():
            with torch.no_grad():
                digit, even_logit = net(x)
                return torch.softmax(digit, dim=1), torch.sigmoid(even_logit)

        report(f"heads_infer/two_heads/{n}", n, *median_seconds(infer, args.reps, args.budget))

    net = Reader().train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    ce = nn.CrossEntropyLoss()
    bce = nn.BCEWithLogitsLoss()
    for n in BATCHES:
        x, yd, ye = xs[:n].contiguous(), digits[:n].contiguous(), even[:n].contiguous()

        def step():
            opt.zero_grad(set_to_none=False)
            digit, even_logit = net(x)
            loss = ce(digit, yd) + 0.5 * bce(even_logit, ye)
            loss.backward()
            opt.step()
            return loss

        report(f"heads_train/two_heads/{n}", n, *median_seconds(step, args.reps, args.budget))


if __name__ == "__main__":
    main()
