#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (standard library only): a few small, valid inputs
for each target, from which libFuzzer mutates. Run from anywhere: python3 fuzz/make_seeds.py

corpus/idx/: the first byte picks the reader (0 images, 1 labels, 2 a Dataset<4, 10> from a pair
of files split where the next two bytes say), then the IDX bytes, plain or gzipped.
corpus/safetensors/: files for the target's network `2 -> 3 relu -> 2 softmax` in F32, F16,
BF16 and F64, with and without metadata.
"""
import gzip
import json
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent


def idx(magic, dims, data):
    return struct.pack(">" + "I" * (1 + len(dims)), magic, *dims) + bytes(data)


def write(folder, name, data):
    path = HERE / "corpus" / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def idx_seeds():
    images = idx(0x803, [3, 2, 2], range(0, 240, 20))
    labels = idx(0x801, [3], [1, 9, 0])
    write("idx", "images", b"\x00" + images)
    write("idx", "images.gz", b"\x00" + gzip.compress(images, mtime=0))
    write("idx", "labels", b"\x01" + labels)
    write("idx", "labels.gz", b"\x01" + gzip.compress(labels, mtime=0))
    write("idx", "empty-images", b"\x00" + idx(0x803, [0, 28, 28], []))
    # Two gzip members, as MNIST mirrors sometimes serve.
    write("idx", "labels-two-members.gz",
          b"\x01" + gzip.compress(labels[:6], mtime=0) + gzip.compress(labels[6:], mtime=0))
    # Mode 2: two bytes saying where the images file ends, then it, then the labels file.
    pair_images = idx(0x803, [2, 2, 2], [0, 64, 128, 255, 255, 128, 64, 0])
    pair_labels = idx(0x801, [2], [3, 7])
    write("idx", "pair", b"\x02" + struct.pack("<H", len(pair_images)) + pair_images + pair_labels)
    write("idx", "pair.gz", b"\x02" + struct.pack("<H", len(gzip.compress(pair_images, mtime=0)))
          + gzip.compress(pair_images, mtime=0) + gzip.compress(pair_labels, mtime=0))


def encode(dtype, values):
    if dtype == "F32":
        return struct.pack(f"<{len(values)}f", *values)
    if dtype == "F64":
        return struct.pack(f"<{len(values)}d", *values)
    if dtype == "F16":
        return struct.pack(f"<{len(values)}e", *values)
    # BF16: the top half of each float32 (these values are exact in bfloat16).
    return b"".join(struct.pack("<f", v)[2:] for v in values)


def safetensors_file(dtype, metadata):
    tensors = [
        ("0.weight", [3, 2], [0.5, -1.0, 0.25, 2.0, -0.5, 1.5]),
        ("0.bias", [3], [0.0, 0.125, -0.25]),
        ("2.weight", [2, 3], [1.0, -2.0, 0.75, 0.5, 0.0, -1.0]),
        ("2.bias", [2], [0.5, -0.5]),
    ]
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, shape, values in tensors:
        raw = encode(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    for dtype in ("F32", "F16", "BF16", "F64"):
        write("safetensors", f"small-{dtype.lower()}", safetensors_file(dtype, None))
    write("safetensors", "small-with-metadata",
          safetensors_file("F32", {"nn.network": "2 -> 3 relu -> 2 softmax"}))


if __name__ == "__main__":
    idx_seeds()
    safetensors_seeds()
    print("wrote", sorted(str(p.relative_to(HERE)) for p in (HERE / "corpus").rglob("*") if p.is_file()))
