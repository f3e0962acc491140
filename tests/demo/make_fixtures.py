#!/usr/bin/python3
"""Writes the broken Fashion-MNIST directories of tests/demo/CMakeLists.txt (blend-demo must fail on them
with a one-line message naming the file):

    /usr/bin/python3 tests/demo/make_fixtures.py

data/truncated_gzip/train-images-idx3-ubyte.gz   the first 2048 bytes of Debian's real file: zlib stops
                                                 with "unexpected end of file"
data/bad_idx/train-images-idx3-ubyte.gz          a complete gzip stream whose content is not IDX
                                                 (magic 0x0100...)
"""
import gzip
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    with open(REAL, "rb") as f:
        write(os.path.join(HERE, "data", "truncated_gzip", "train-images-idx3-ubyte.gz"), f.read(2048))
    bad = bytes([1, 0, 8, 3]) + (1).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(784)
    # mtime=0: the file is the same on every run
    write(os.path.join(HERE, "data", "bad_idx", "train-images-idx3-ubyte.gz"), gzip.compress(bad, mtime=0))


if __name__ == "__main__":
    main()
