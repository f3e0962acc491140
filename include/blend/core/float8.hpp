#pragma once
/// @file blend/core/float8.hpp
/// The 8-bit float storage types `blend::f8_e4m3` (E4M3FN) and `blend::f8_e5m2`, and their conversions
/// to and from `float`.
///
/// Formats (Micikevicius et al., "FP8 Formats for Deep Learning", arXiv:2209.05433; the same encodings as
/// PyTorch's `c10::Float8_e4m3fn` / `c10::Float8_e5m2`, ml_dtypes' `float8_e4m3fn` / `float8_e5m2`, and
/// the safetensors dtypes F8_E4M3 / F8_E5M2):
/// - E4M3FN: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities; S.1111.111 is NaN (0x7F, 0xFF);
///   max 448 (0x7E), min normal 2^-6 (0x08), min subnormal 2^-9 (0x01).
/// - E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa bits, IEEE-like: the top byte of a binary16;
///   ±Inf 0x7C/0xFC, NaN 0x7D..0x7F; max 57344 (0x7B), min normal 2^-14 (0x04), min subnormal 2^-16 (0x01).
///
/// Narrowing follows PyTorch's `c10::detail::fp8e4m3fn_from_fp32_value` / `fp8e5m2_from_fp32_value`
/// (c10/util/Float8_e4m3fn.h, Float8_e5m2.h) bit for bit: round to nearest, ties to even, subnormals
/// included, and
/// - E4M3FN: |x| >= 480 (including ±Inf and NaN) → NaN 0x7F with the sign of x; values with
///   464 < |x| < 480 round up into the NaN encoding too (464, the tie, goes to the even 448). No saturation.
/// - E5M2: |x| >= 65536 → ±Inf (0x7C) when finite or Inf, NaN → 0x7F with its sign (payload dropped);
///   61440 <= |x| < 65536 rounds (ties to even) to ±Inf, as IEEE RNE does.
/// Widening is exact; it returns the bits PyTorch's `fp8e4m3fn_to_fp32_value` returns (NaN → ±0x7FF00000),
/// and for E5M2 the binary16 widening of (bits << 8), NaN quieted.
/// The code is blend's own branch-free version (selects plus one exact float add for the subnormal range).

#include <algorithm>
#include <bit>
#include <cstdint>
#include <type_traits>

#include <blend/core/half.hpp>

namespace blend {

namespace detail {

/// E4M3FN bits → binary32 bits. e = bits 6..3, m = bits 2..0:
///   e == 0 → (-1)^s · m · 2^-9;  0x7F (e = 15, m = 7) → NaN 0x7FF00000;
///   else   → s | (e + 120) << 23 | m << 20.
[[nodiscard]] constexpr std::uint32_t f8_e4m3_bits_to_f32_bits(std::uint8_t b) noexcept {
    const std::uint32_t x = b;
    const std::uint32_t sign = (x & 0x80u) << 24;
    const std::uint32_t magnitude = x & 0x7Fu;
    const std::uint32_t normal = (magnitude << 20) + (120u << 23);
    const auto subnormal =
        std::bit_cast<std::uint32_t>(static_cast<float>(static_cast<std::int32_t>(magnitude)) * 0x1p-9f);
    const std::uint32_t normal_or_nan = magnitude == 0x7Fu ? 0x7FF00000u : normal;
    const std::uint32_t is_subnormal = 0u - static_cast<std::uint32_t>(magnitude < 0x08u);  // see half.hpp
    const std::uint32_t body = (subnormal & is_subnormal) | (normal_or_nan & ~is_subnormal);
    return sign | body;
}

/// binary32 bits → E4M3FN bits (PyTorch semantics, see the file comment):
///   |x| >= 480 or NaN        → 0x7F
///   |x| < 2^-6               → bits(|x| + 2^14) - bits(2^14)   (2^14's ulp is 2^-9: hardware RNE)
///   otherwise                → (|x| - (120 << 23) + 0x7FFFF + bit20) >> 20  (RNE on 20 dropped bits)
/// then | sign.
[[nodiscard]] constexpr std::uint8_t f32_bits_to_f8_e4m3_bits(std::uint32_t x) noexcept {
    const std::uint32_t sign = (x >> 24) & 0x80u;
    const std::uint32_t a = x & 0x7FFFFFFFu;
    const auto tiny = std::bit_cast<float>(std::min(a, 0x3C800000u));
    const auto subnormal = std::bit_cast<std::uint32_t>(tiny + 0x1p14f) - (141u << 23);
    const std::uint32_t normal = (a - (120u << 23) + 0x7FFFFu + ((a >> 20) & 1u)) >> 20;
    const std::uint32_t normal_or_nan = a < 0x43F00000u ? normal : 0x7Fu;
    const std::uint32_t is_subnormal = 0u - static_cast<std::uint32_t>(a < 0x3C800000u);  // mask blend
    const std::uint32_t body = (subnormal & is_subnormal) | (normal_or_nan & ~is_subnormal);
    return static_cast<std::uint8_t>(sign | body);
}

/// E5M2 bits → binary32 bits: the binary16 widening of (bits << 8).
[[nodiscard]] constexpr std::uint32_t f8_e5m2_bits_to_f32_bits(std::uint8_t b) noexcept {
    return f16_bits_to_f32_bits(static_cast<std::uint16_t>(b << 8));
}

/// binary32 bits → E5M2 bits (PyTorch semantics, see the file comment):
///   |x| >= 65536             → 0x7C (finite or Inf), 0x7F (NaN)
///   |x| < 2^-14              → bits(|x| + 2^7) - bits(2^7)      (2^7's ulp is 2^-16: hardware RNE)
///   otherwise                → (|x| - (112 << 23) + 0xFFFFF + bit21) >> 21  (RNE on 21 dropped bits)
/// then | sign.
[[nodiscard]] constexpr std::uint8_t f32_bits_to_f8_e5m2_bits(std::uint32_t x) noexcept {
    const std::uint32_t sign = (x >> 24) & 0x80u;
    const std::uint32_t a = x & 0x7FFFFFFFu;
    const auto tiny = std::bit_cast<float>(std::min(a, 0x38800000u));
    const auto subnormal = std::bit_cast<std::uint32_t>(tiny + 0x1p7f) - (134u << 23);
    const std::uint32_t normal = (a - (112u << 23) + 0xFFFFFu + ((a >> 21) & 1u)) >> 21;
    const std::uint32_t big = a > 0x7F800000u ? 0x7Fu : 0x7Cu;
    const std::uint32_t normal_or_big = a < 0x47800000u ? normal : big;
    const std::uint32_t is_subnormal = 0u - static_cast<std::uint32_t>(a < 0x38800000u);  // mask blend
    const std::uint32_t body = (subnormal & is_subnormal) | (normal_or_big & ~is_subnormal);
    return static_cast<std::uint8_t>(sign | body);
}

}  // namespace detail

/// E4M3FN (see the file comment). Trivially copyable, 1 byte; default-constructed is uninitialized.
struct f8_e4m3 {
    std::uint8_t bits;

    f8_e4m3() = default;
    /// Rounds `x` to nearest even; |x| >= 480 → NaN (see `to_f8_e4m3`).
    constexpr explicit f8_e4m3(float x) noexcept
        : bits{detail::f32_bits_to_f8_e4m3_bits(std::bit_cast<std::uint32_t>(x))} {}
    /// The value with encoding `b`.
    [[nodiscard]] static constexpr f8_e4m3 from_bits(std::uint8_t b) noexcept {
        f8_e4m3 v;
        v.bits = b;
        return v;
    }
    /// Exact widening (see `to_f32`).
    [[nodiscard]] constexpr explicit operator float() const noexcept {
        return std::bit_cast<float>(detail::f8_e4m3_bits_to_f32_bits(bits));
    }
};

/// E5M2 (see the file comment). Trivially copyable, 1 byte; default-constructed is uninitialized.
struct f8_e5m2 {
    std::uint8_t bits;

    f8_e5m2() = default;
    /// Rounds `x` to nearest even; overflow → ±Inf (see `to_f8_e5m2`).
    constexpr explicit f8_e5m2(float x) noexcept
        : bits{detail::f32_bits_to_f8_e5m2_bits(std::bit_cast<std::uint32_t>(x))} {}
    /// The value with encoding `b`.
    [[nodiscard]] static constexpr f8_e5m2 from_bits(std::uint8_t b) noexcept {
        f8_e5m2 v;
        v.bits = b;
        return v;
    }
    /// Exact widening (see `to_f32`).
    [[nodiscard]] constexpr explicit operator float() const noexcept {
        return std::bit_cast<float>(detail::f8_e5m2_bits_to_f32_bits(bits));
    }
};

static_assert(sizeof(f8_e4m3) == 1 && sizeof(f8_e5m2) == 1);
static_assert(std::is_trivially_copyable_v<f8_e4m3> && std::is_standard_layout_v<f8_e4m3>);
static_assert(std::is_trivially_copyable_v<f8_e5m2> && std::is_standard_layout_v<f8_e5m2>);

/// Exact E4M3FN → float: (-1)^s · 2^(e-7) · (1 + m/8), (-1)^s · m · 2^-9 for e == 0, NaN for S.1111.111.
/// Reference: arXiv:2209.05433 Table 1; PyTorch `fp8e4m3fn_to_fp32_value`.
[[nodiscard]] constexpr float to_f32(f8_e4m3 v) noexcept { return static_cast<float>(v); }

/// Exact E5M2 → float: (-1)^s · 2^(e-15) · (1 + m/4), (-1)^s · m · 2^-16 for e == 0, ±Inf, NaN (quiet).
/// Reference: arXiv:2209.05433 Table 1; PyTorch `fp8e5m2_to_fp32_value`.
[[nodiscard]] constexpr float to_f32(f8_e5m2 v) noexcept { return static_cast<float>(v); }

/// float → E4M3FN, round to nearest even; |x| > 464 (and ±Inf, NaN) → NaN with the sign of x, no
/// saturation. Follows PyTorch's `fp8e4m3fn_from_fp32_value` bit for bit.
[[nodiscard]] constexpr f8_e4m3 to_f8_e4m3(float x) noexcept { return f8_e4m3{x}; }

/// float → E5M2, round to nearest even; |x| >= 61440 → ±Inf, NaN → 0x7F | sign. Follows PyTorch's
/// `fp8e5m2_from_fp32_value` bit for bit.
[[nodiscard]] constexpr f8_e5m2 to_f8_e5m2(float x) noexcept { return f8_e5m2{x}; }

}  // namespace blend
