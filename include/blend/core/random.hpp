#pragma once
/// @file blend/core/random.hpp
/// The seeded counter-based random generator: Philox4x32-10 and the indexed `random_stream`.
///
/// Reference: J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random numbers: as easy
/// as 1, 2, 3", SC'11 (doi:10.1145/2063384.2063405), and its reference implementation Random123
/// (philox.h). A counter-based generator is a keyed bijection of a counter, so element i of a stream
/// is a pure function of (seed, key, i): any element can be computed in O(1), in any order, on any
/// thread, and the random masks of DARE/DELLA are identical for any thread count and any tensor
/// order (METHODS.md, "Random masks").
///
/// Typical use: one stream per (tensor, model), element i drives entry i of the tensor:
///   const blend::random_stream rng{seed, blend::stream_key(tensor_name, model_index)};
///   const bool keep = rng.bernoulli(i, density);
///
/// The layout of a stream (which counter and word produce element i) is part of blend's output
/// stability: changing it changes every seeded merge, so it is pinned by golden tests.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

// The bulk kernel uses SSE2 on x86-64 (define BLEND_DETAIL_PHILOX_SSE2=0 to force the portable code).
#ifndef BLEND_DETAIL_PHILOX_SSE2
#if defined(__SSE2__) || defined(_M_X64)
#define BLEND_DETAIL_PHILOX_SSE2 1
#else
#define BLEND_DETAIL_PHILOX_SSE2 0
#endif
#endif
#if BLEND_DETAIL_PHILOX_SSE2
#include <emmintrin.h>
#endif

namespace blend {

namespace detail {

// Philox4x32 multipliers and Weyl key increments (Salmon et al. 2011, Table 2; Random123 philox.h).
inline constexpr std::uint32_t philox_m0 = 0xD2511F53u;
inline constexpr std::uint32_t philox_m1 = 0xCD9E8D57u;
inline constexpr std::uint32_t philox_w0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t philox_w1 = 0xBB67AE85u;  // sqrt(3) - 1

/// One Philox4x32 round on four counter words in place.
constexpr void philox_round(std::uint32_t& c0, std::uint32_t& c1, std::uint32_t& c2, std::uint32_t& c3,
                            std::uint32_t k0, std::uint32_t k1) noexcept {
    const std::uint64_t p0 = std::uint64_t{philox_m0} * c0;
    const std::uint64_t p1 = std::uint64_t{philox_m1} * c2;
    const auto next0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const auto next2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<std::uint32_t>(p1);
    c3 = static_cast<std::uint32_t>(p0);
    c0 = next0;
    c2 = next2;
}

/// Top 24 bits of a word as a float in [0, 1): (w >> 8) * 2^-24, exact.
[[nodiscard]] constexpr float word_to_unit_float(std::uint32_t word) noexcept {
    return static_cast<float>(word >> 8) * 0x1p-24f;
}

/// Top 53 bits of (hi:lo) as a double in [0, 1): ((hi * 2^32 + lo) >> 11) * 2^-53, exact.
[[nodiscard]] constexpr double words_to_unit_double(std::uint32_t hi, std::uint32_t lo) noexcept {
    const std::uint64_t bits = (std::uint64_t{hi} << 32) | lo;
    return static_cast<double>(bits >> 11) * 0x1p-53;
}

/// Philox4x32-10 on `Lanes` independent counters laid out as four word arrays (structure of arrays),
/// so that the compiler can vectorise across lanes. Same result as `philox4x32` lane by lane.
template <std::size_t Lanes>
constexpr void philox4x32_lanes(std::uint32_t (&c0)[Lanes], std::uint32_t (&c1)[Lanes],
                                std::uint32_t (&c2)[Lanes], std::uint32_t (&c3)[Lanes], std::uint32_t k0,
                                std::uint32_t k1) noexcept {
    for (int round = 0; round < 10; ++round) {
        for (std::size_t lane = 0; lane < Lanes; ++lane) {
            philox_round(c0[lane], c1[lane], c2[lane], c3[lane], k0, k1);
        }
        k0 += philox_w0;
        k1 += philox_w1;
    }
}

/// Blocks per call of `philox_uniform_blocks`.
inline constexpr std::size_t philox_bulk_blocks = 16;

/// dst[4*j + w] = word_to_unit_float(word w of philox4x32({lo(b+j), hi(b+j) & 0x3FFFFFFF, c2, c3},
/// {k0, k1})) for j < 16: the 32-bit view of `random_stream` for 16 consecutive blocks (64 floats).
/// SSE2 (every x86-64) computes four blocks per vector with _mm_mul_epu32 for the 32x32->64-bit
/// products; elsewhere the portable structure-of-arrays code is left to the auto-vectoriser.
inline void philox_uniform_blocks(std::uint64_t b, std::uint32_t c2, std::uint32_t c3, std::uint32_t k0,
                                  std::uint32_t k1, float* dst) noexcept {
    constexpr std::size_t lanes = philox_bulk_blocks;
    std::uint32_t c0[lanes];
    std::uint32_t c1[lanes];
    for (std::size_t lane = 0; lane < lanes; ++lane) {
        c0[lane] = static_cast<std::uint32_t>(b + lane);
        c1[lane] = static_cast<std::uint32_t>((b + lane) >> 32) & 0x3FFFFFFFu;
    }
#if BLEND_DETAIL_PHILOX_SSE2
    constexpr std::size_t groups = lanes / 4;
    const auto splat = [](std::uint32_t x) { return _mm_set1_epi32(static_cast<int>(x)); };
    const __m128i m0 = splat(philox_m0);
    const __m128i m1 = splat(philox_m1);
    const __m128i even_mask = _mm_set_epi32(0, -1, 0, -1);  // the low 32 bits of each 64-bit half
    __m128i x0[groups];
    __m128i x1[groups];
    __m128i x2[groups];
    __m128i x3[groups];
    for (std::size_t g = 0; g < groups; ++g) {
        x0[g] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c0 + 4 * g));
        x1[g] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c1 + 4 * g));
        x2[g] = splat(c2);
        x3[g] = splat(c3);
    }
    // (hi, lo) of the four 32x32->64-bit products m * x: even lanes directly, odd lanes shifted down.
    const auto mulhilo = [&](__m128i m, __m128i x, __m128i& hi, __m128i& lo) {
        const __m128i even = _mm_mul_epu32(x, m);
        const __m128i odd = _mm_mul_epu32(_mm_srli_epi64(x, 32), m);
        hi = _mm_or_si128(_mm_srli_epi64(even, 32), _mm_andnot_si128(even_mask, odd));
        lo = _mm_or_si128(_mm_and_si128(even, even_mask), _mm_slli_epi64(odd, 32));
    };
    for (int round = 0; round < 10; ++round) {
        const __m128i key0 = splat(k0);
        const __m128i key1 = splat(k1);
        for (std::size_t g = 0; g < groups; ++g) {
            __m128i hi0;
            __m128i lo0;
            __m128i hi1;
            __m128i lo1;
            mulhilo(m0, x0[g], hi0, lo0);
            mulhilo(m1, x2[g], hi1, lo1);
            x0[g] = _mm_xor_si128(_mm_xor_si128(hi1, x1[g]), key0);
            x2[g] = _mm_xor_si128(_mm_xor_si128(hi0, x3[g]), key1);
            x1[g] = lo1;
            x3[g] = lo0;
        }
        k0 += philox_w0;
        k1 += philox_w1;
    }
    const __m128 scale = _mm_set1_ps(0x1p-24f);
    const auto to_unit = [&](__m128i x) { return _mm_mul_ps(_mm_cvtepi32_ps(_mm_srli_epi32(x, 8)), scale); };
    for (std::size_t g = 0; g < groups; ++g) {
        __m128 w0 = to_unit(x0[g]);  // word 0 of blocks 4g .. 4g+3
        __m128 w1 = to_unit(x1[g]);
        __m128 w2 = to_unit(x2[g]);
        __m128 w3 = to_unit(x3[g]);
        _MM_TRANSPOSE4_PS(w0, w1, w2, w3);  // now the four words of one block each
        _mm_storeu_ps(dst + 16 * g + 0, w0);
        _mm_storeu_ps(dst + 16 * g + 4, w1);
        _mm_storeu_ps(dst + 16 * g + 8, w2);
        _mm_storeu_ps(dst + 16 * g + 12, w3);
    }
#else
    std::uint32_t x2[lanes];
    std::uint32_t x3[lanes];
    for (std::size_t lane = 0; lane < lanes; ++lane) {
        x2[lane] = c2;
        x3[lane] = c3;
    }
    philox4x32_lanes(c0, c1, x2, x3, k0, k1);
    for (std::size_t lane = 0; lane < lanes; ++lane) {
        dst[4 * lane + 0] = word_to_unit_float(c0[lane]);
        dst[4 * lane + 1] = word_to_unit_float(c1[lane]);
        dst[4 * lane + 2] = word_to_unit_float(x2[lane]);
        dst[4 * lane + 3] = word_to_unit_float(x3[lane]);
    }
#endif
}

/// FNV-1a, 64-bit (Fowler, Noll, Vo): h = 0xcbf29ce484222325; for each byte b: h = (h ^ b) * 0x100000001b3.
[[nodiscard]] constexpr std::uint64_t fnv1a64(std::string_view bytes) noexcept {
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ull;
    }
    return hash;
}

/// SplitMix64 output for state x (Steele, Lea, Flood, OOPSLA'14; Vigna's splitmix64.c):
/// z = x + 0x9e3779b97f4a7c15; z = (z ^ z>>30) * 0xbf58476d1ce4e5b9; z = (z ^ z>>27) * 0x94d049bb133111eb;
/// return z ^ z>>31.
[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
    std::uint64_t z = x + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace detail

/// Philox4x32-10: the keyed bijection of a 128-bit counter (Salmon et al. 2011; Random123).
/// Ten rounds of
///   (hi0, lo0) = M0 * c0,  (hi1, lo1) = M1 * c2          (32x32 -> 64-bit products)
///   c' = { hi1 ^ c1 ^ k0,  lo1,  hi0 ^ c3 ^ k1,  lo0 }
/// with M0 = 0xD2511F53, M1 = 0xCD9E8D57 and the key bumped by (0x9E3779B9, 0xBB67AE85) between
/// rounds. Matches Random123's `philox4x32(ctr, key)` and its known-answer vectors bit for bit.
[[nodiscard]] constexpr std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> counter,
                                                                std::array<std::uint32_t, 2> key) noexcept {
    auto [c0, c1, c2, c3] = counter;
    auto [k0, k1] = key;
    for (int round = 0; round < 10; ++round) {
        detail::philox_round(c0, c1, c2, c3, k0, k1);
        k0 += detail::philox_w0;
        k1 += detail::philox_w1;
    }
    return {c0, c1, c2, c3};
}

/// Stable 64-bit key of a named random stream, e.g. (tensor name, model index):
///   stream_key(name, index) = splitmix64(fnv1a64(name) ^ splitmix64(index))
/// with FNV-1a 64 over the name's bytes and splitmix64 the SplitMix64 output function (see `detail`).
/// It depends only on the bytes of `name` and on `index` — never on the platform, the order in which
/// tensors are visited or the thread — and is pinned by golden values computed by an independent
/// script (tests/reference/stream_key.py).
[[nodiscard]] constexpr std::uint64_t stream_key(std::string_view name, std::uint64_t index) noexcept {
    return detail::splitmix64(detail::fnv1a64(name) ^ detail::splitmix64(index));
}

/// An indexed stream of random numbers: element i is a pure function of (seed, key, i).
///
/// Layout (32-bit view, used by `bits`, `uniform_float`, `fill_uniform`): element i is word i mod 4 of
///   block(b) = philox4x32({lo(b), hi(b), lo(key), hi(key)}, {lo(seed), hi(seed)}),  b = floor(i/4),
/// where lo/hi are the low/high 32 bits (b < 2^62, so bits 30 and 31 of counter word 1 are zero).
/// The 64-bit view (`uniform`, `bernoulli`) uses block b = floor(i/2) with bit 31 of counter word 1
/// set, and words 2*(i mod 2), 2*(i mod 2)+1: the two views draw from disjoint counters, so
/// `uniform(i)` and `uniform_float(i)` are independent. Streams with different (seed, key) are
/// independent by Philox's design. Copying a stream is free and every member is const and thread-safe.
///
/// Cost: `bits`, `uniform_float`, `uniform` and `bernoulli` each evaluate one Philox block (~8-10 ns on
/// a current x86-64 core, three quarters of it discarded); `fill_uniform` uses every word of every
/// block and runs four blocks per SSE2 vector, ~1.3 ns per float. Bulk masks should therefore draw
/// with `fill_uniform` chunk by chunk (note it is the 32-bit view: `u_float < p` is not the same draw
/// as `bernoulli(i, p)`).
class random_stream {
public:
    /// The stream for `seed` (the user's seed, default 0 in merges) and `key` (see `stream_key`).
    constexpr random_stream(std::uint64_t seed, std::uint64_t key) noexcept : seed_{seed}, key_{key} {}

    [[nodiscard]] constexpr std::uint64_t seed() const noexcept { return seed_; }
    [[nodiscard]] constexpr std::uint64_t key() const noexcept { return key_; }

    /// The four 32-bit words of block b of the 32-bit view: bits(4b + w) == block(b)[w]. b is taken
    /// modulo 2^62.
    [[nodiscard]] constexpr std::array<std::uint32_t, 4> block(std::uint64_t b) const noexcept {
        return philox4x32({low(b), high(b) & view32_mask, low(key_), high(key_)}, {low(seed_), high(seed_)});
    }

    /// Element i as 32 uniformly distributed bits.
    [[nodiscard]] constexpr std::uint32_t bits(std::uint64_t i) const noexcept { return block(i / 4)[i % 4]; }

    /// Element i as a float uniform on [0, 1): (bits(i) >> 8) * 2^-24, an exact multiple of 2^-24,
    /// so every value is representable and 1 is never returned.
    [[nodiscard]] constexpr float uniform_float(std::uint64_t i) const noexcept {
        return detail::word_to_unit_float(bits(i));
    }

    /// Element i as a double uniform on [0, 1) with 53 random bits: (w0 * 2^32 + w1) >> 11, times 2^-53,
    /// where w0, w1 are words 2*(i mod 2), 2*(i mod 2)+1 of the 64-bit-view block floor(i/2).
    [[nodiscard]] constexpr double uniform(std::uint64_t i) const noexcept {
        const std::uint64_t b = i / 2;
        const auto words =
            philox4x32({low(b), high(b) | view64_tag, low(key_), high(key_)}, {low(seed_), high(seed_)});
        const std::size_t w = 2 * static_cast<std::size_t>(i % 2);
        return detail::words_to_unit_double(words[w], words[w + 1]);
    }

    /// Element i as a Bernoulli(p) draw: uniform(i) < p. So p <= 0 (or NaN) never gives true and
    /// p >= 1 always does; P(true) = p up to the 2^-53 resolution of `uniform`.
    [[nodiscard]] constexpr bool bernoulli(std::uint64_t i, double p) const noexcept {
        return uniform(i) < p;
    }

    /// out[j] = uniform_float(first + j) for every j, computed with one Philox call per 4 floats and
    /// vectorised across blocks. Bitwise identical to the elementwise definition for any `first` and
    /// any split of a range into pieces (so chunks of a parallel loop may each fill their own part).
    void fill_uniform(std::uint64_t first, std::span<float> out) const noexcept {
        const std::size_t n = out.size();
        std::size_t j = 0;
        std::uint64_t b = first / 4;
        // Head: the rest of the block that contains `first`.
        if (const auto offset = static_cast<std::size_t>(first % 4); offset != 0 && n != 0) {
            const auto words = block(b++);
            for (std::size_t w = offset; w < 4 && j < n; ++w) {
                out[j++] = detail::word_to_unit_float(words[w]);
            }
        }
        // Body: 16 whole blocks (64 floats) per call.
        constexpr std::size_t bulk = 4 * detail::philox_bulk_blocks;
        while (n - j >= bulk) {
            detail::philox_uniform_blocks(b, low(key_), high(key_), low(seed_), high(seed_), out.data() + j);
            j += bulk;
            b += detail::philox_bulk_blocks;
        }
        // Tail: remaining blocks one at a time.
        while (j < n) {
            const auto words = block(b++);
            for (std::size_t w = 0; w < 4 && j < n; ++w) {
                out[j++] = detail::word_to_unit_float(words[w]);
            }
        }
    }

private:
    static constexpr std::uint32_t view32_mask = 0x3FFFFFFFu;  // block index modulo 2^62
    static constexpr std::uint32_t view64_tag = 0x80000000u;   // marks 64-bit-view counters

    [[nodiscard]] static constexpr std::uint32_t low(std::uint64_t x) noexcept {
        return static_cast<std::uint32_t>(x);
    }
    [[nodiscard]] static constexpr std::uint32_t high(std::uint64_t x) noexcept {
        return static_cast<std::uint32_t>(x >> 32);
    }

    std::uint64_t seed_;
    std::uint64_t key_;
};

}  // namespace blend
