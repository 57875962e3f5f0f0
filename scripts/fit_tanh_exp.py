#!/usr/bin/env python3
"""Fits the polynomial of tanh's exponential on the x86 back ends (`TANH_EXP` in
`nn-core/src/kernel/x86/lanes.rs`) and prints its coefficients as f32.

tanh computes `e^{2x} + 1` as `2^m·(e^r - 1) + (2^m + 1)` with `|r| ≤ ln2/2` and
`e^r - 1 = r + r²·P(r)`, `P` of degree 4. This fits `P` to minimise the largest relative
error of `e^r - 1` (Lawson's iteratively reweighted least squares over 40,000 points of
`[-ln2/2, ln2/2]`, slightly widened), then rounds each coefficient to f32. Needs numpy only:

    python3 scripts/fit_tanh_exp.py

It prints the largest relative error before rounding (1.3e-8) and the five coefficients,
constant term first, as the Rust source writes them.
"""

import numpy as np

DEGREE = 4  # of P: e^r - 1 = r + r^2 P(r), a polynomial of degree 6 in all


def fit(degree: int, rounds: int = 300):
    half = np.log(2) / 2 * 1.0005
    r = np.linspace(-half, half, 40001)
    r = r[np.abs(r) > 1e-6]
    exact = np.expm1(r.astype(np.longdouble))
    target = ((exact - r) / r**2).astype(np.float64)  # what P must be
    scale = (r**2 / exact).astype(np.float64)  # P's error times this is e^r - 1's, relative
    basis = np.stack([r**k for k in range(degree + 1)], 1)
    weight = np.ones_like(r)
    for _ in range(rounds):
        sw = np.sqrt(weight)
        coef, *_ = np.linalg.lstsq(basis * (scale * sw)[:, None], target * scale * sw, rcond=None)
        err = (basis @ coef - target) * scale
        weight = weight * np.abs(err)
        weight /= weight.sum()
    return coef, np.abs(err).max()


def main():
    coef, err = fit(DEGREE)
    print(f"largest relative error of e^r - 1: {err:.2e}")
    print(", ".join(repr(float(np.float32(c))) for c in coef))


if __name__ == "__main__":
    main()
