#!/usr/bin/env python3
"""Independent reference for blend/core/random.hpp (golden values in tests/core/random.cpp).

Written from the published definitions, not from blend's C++:
  * FNV-1a 64 (Fowler/Noll/Vo): offset basis 0xcbf29ce484222325, prime 0x100000001b3, per byte
    h = (h ^ byte) * prime mod 2^64.
  * SplitMix64 output function (Steele, Lea, Flood 2014; Vigna's splitmix64.c) for state x:
    z = x + 0x9e3779b97f4a7c15; z = (z ^ z>>30) * 0xbf58476d1ce4e5b9; z = (z ^ z>>27) * 0x94d049bb133111eb;
    z ^ z>>31 (all mod 2^64).
  * blend's stream key: stream_key(name, index) = splitmix64(fnv1a64(utf8(name)) ^ splitmix64(index)).
  * Philox4x32-10 (Salmon et al., SC'11; Random123 philox.h) and blend's stream layout:
    bits(i) = philox({lo(i//4), hi(i//4), lo(key), hi(key)}, {lo(seed), hi(seed)})[i % 4],
    uniform_float(i) = (bits(i) >> 8) / 2^24,
    uniform(i): block b = i//2 with bit 31 of counter word 1 set, words 2*(i%2), 2*(i%2)+1 = (w0, w1),
    ((w0 << 32 | w1) >> 11) / 2^53.

Run: python3 tests/reference/stream_key.py
"""

MASK32 = (1 << 32) - 1
MASK64 = (1 << 64) - 1


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & MASK64
    return h


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def stream_key(name: str, index: int) -> int:
    return splitmix64(fnv1a64(name.encode("utf-8")) ^ splitmix64(index))


def philox4x32_10(ctr, key):
    c = list(ctr)
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c[0]
        p1 = 0xCD9E8D57 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k0) & MASK32, p1 & MASK32, ((p0 >> 32) ^ c[3] ^ k1) & MASK32, p0 & MASK32]
        k0 = (k0 + 0x9E3779B9) & MASK32
        k1 = (k1 + 0xBB67AE85) & MASK32
    return c


def lo(x):
    return x & MASK32


def hi(x):
    return (x >> 32) & MASK32


def bits(seed, key, i):
    b = i // 4
    return philox4x32_10([lo(b), hi(b), lo(key), hi(key)], [lo(seed), hi(seed)])[i % 4]


def uniform(seed, key, i):
    b = i // 2
    w = philox4x32_10([lo(b), hi(b) | 0x80000000, lo(key), hi(key)], [lo(seed), hi(seed)])
    x = ((w[2 * (i % 2)] << 32) | w[2 * (i % 2) + 1]) >> 11
    return x / 2.0**53


def main():
    # Self-check against Random123's published known-answer vector (kat_vectors, "pi" line).
    assert philox4x32_10([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0]) == [
        0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]

    print("// fnv1a64")
    for text in ["", "a", "foobar", "model.embed_tokens.weight"]:
        print(f'{{"{text}", 0x{fnv1a64(text.encode()):016x}ull}},')
    print("// splitmix64")
    for x in [0, 1, 0x0123456789ABCDEF]:
        print(f"{{0x{x:x}ull, 0x{splitmix64(x):016x}ull}},")
    print("// stream_key")
    for name, index in [("", 0), ("model.layers.0.mlp.down_proj.weight", 0),
                        ("model.layers.0.mlp.down_proj.weight", 1), ("lm_head.weight", 7),
                        ("\u00e9t\u00e9", 3)]:
        escaped = name.encode("utf-8").decode("ascii", "backslashreplace")
        print(f'{{"{escaped}", {index}, 0x{stream_key(name, index):016x}ull}},')
    print("// random_stream(seed, key): i, bits(i), uniform(i)")
    for seed, key in [(0, 0), (42, stream_key("model.layers.0.mlp.down_proj.weight", 1)), (MASK64, 1 << 63)]:
        print(f"// seed 0x{seed:x}, key 0x{key:x}")
        for i in [0, 1, 2, 3, 4, 5, 1001, (1 << 40) + 3]:
            print(f"{{0x{i:x}ull, 0x{bits(seed, key, i):08x}u, {uniform(seed, key, i).hex()}}},")


if __name__ == "__main__":
    main()
