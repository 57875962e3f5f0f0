#!/usr/bin/env python3
"""Export scikit-learn's bundled Breast Cancer Wisconsin (Diagnostic) data set to CSV, once.

The CSV it writes, data/breast-cancer/wdbc.csv, is committed; the build and CI never run this
script. Run it again only to regenerate the file (it writes the same bytes every time):

    pip install scikit-learn
    python3 scripts/export_dataset.py

Columns: the 30 features under scikit-learn's names (spaces replaced by underscores), then
`target` (0 = malignant, 1 = benign, scikit-learn's encoding). One row per sample, in
scikit-learn's order. Values are written with `repr`, so they read back exactly as the
float64 values scikit-learn ships (and round to the nearest f32 in Rust).
"""

import csv
import os
import sys

from sklearn.datasets import load_breast_cancer


def main() -> int:
    data = load_breast_cancer()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = os.path.join(root, "data", "breast-cancer")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "wdbc.csv")
    names = [n.replace(" ", "_") for n in data.feature_names] + ["target"]
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(names)
        for row, target in zip(data.data, data.target):
            out.writerow([repr(float(v)) for v in row] + [int(target)])
    print(f"{path}: {len(data.target)} samples, {len(data.feature_names)} features")
    return 0


if __name__ == "__main__":
    sys.exit(main())
