#pragma once
/// @file blend/core/half.hpp
/// The 16-bit float storage types `blend::f16` (IEEE 754 binary16) and `blend::bf16` (bfloat16, the upper
/// half of a binary32), and their exact conversions to and from `float`.
///
/// Both are storage types only: no arithmetic, no comparison. Compute in float32 through `to_f32`, store
/// back through `to_f16` / `to_bf16`. The conversions are branch-free integer code (selects and one exact
/// float operation for subnormals), constexpr, and auto-vectorize when called in a loop over contiguous
/// memory (see `blend/core/convert.hpp`).
///
/// Semantics (IEEE 754-2019 §5.4.2 formatOf conversions, default rounding attribute):
/// - widening (`to_f32`) is exact; a signaling NaN comes out quiet (the quiet bit is set), with its sign
///   and payload kept. numpy's float16→float32 and PyTorch's bfloat16→float32 keep a signaling NaN
///   signaling instead; values are otherwise bit-identical to both (checked exhaustively in the tests).
/// - narrowing (`to_f16`, `to_bf16`) rounds to nearest, ties to even, subnormals included; finite values
///   too large round to ±Inf exactly as IEEE says (f16: |x| >= 65520 → Inf, since 65504 is the largest
///   f16 and 65520 its midpoint to 2^16); ±Inf stays ±Inf; a NaN stays a quiet NaN of the same sign
///   keeping the top payload bits that fit (a NaN never becomes Inf).

#include <algorithm>
#include <bit>
#include <cstdint>
#include <type_traits>

namespace blend {

namespace detail {

/// binary16 bits → binary32 bits. Exact; NaN quieted.
/// e = bits 14..10, m = bits 9..0:
///   e == 0      → (-1)^s · m · 2^-24            (zero or subnormal; m · 2^-24 is a normal float)
///   1 <= e < 31 → exponent rebias: f32 bits = s | (e + 112) << 23 | m << 13
///   e == 31     → s | (e + 224) << 23 | m << 13 = s | 0x7F800000 | m << 13, plus the quiet bit
///                 0x00400000 when m != 0
[[nodiscard]] constexpr std::uint32_t f16_bits_to_f32_bits(std::uint16_t h) noexcept {
    const std::uint32_t x = h;
    const std::uint32_t sign = (x & 0x8000u) << 16;
    const std::uint32_t magnitude = x & 0x7FFFu;
    const std::uint32_t shifted = magnitude << 13;
    const std::uint32_t exp_adjust = magnitude >= 0x7C00u ? (224u << 23) : (112u << 23);
    const std::uint32_t quiet = magnitude > 0x7C00u ? 0x00400000u : 0u;
    const std::uint32_t normal_or_special = (shifted + exp_adjust) | quiet;
    // m · 2^-24 is exact: m < 2^10 converts exactly and the product is a normal float.
    const auto subnormal =
        std::bit_cast<std::uint32_t>(static_cast<float>(static_cast<std::int32_t>(magnitude)) * 0x1p-24f);
    // A mask blend, not ?: — GCC sinks a float multiply under ?: into a branch it then cannot if-convert
    // (-ftrapping-math), which blocks vectorization.
    const std::uint32_t is_subnormal = 0u - static_cast<std::uint32_t>(magnitude < 0x0400u);
    const std::uint32_t body = (subnormal & is_subnormal) | (normal_or_special & ~is_subnormal);
    return sign | body;
}

/// binary32 bits → binary16 bits, round to nearest even.
///   |x| < 2^-14 (f16 subnormal range): |x| + 0.5f rounds |x| to a multiple of 2^-24 in hardware (0.5f's
///     ulp is 2^-24); the integer m = bits(|x| + 0.5f) - bits(0.5f) is the f16 encoding, 0x400 included
///     (rounding up into the smallest normal). Same technique as Eigen's float_to_half_rtne.
///   normal: rebias (-112 << 23), add 0xFFF + lsb (ties to even on the 13 dropped bits), shift by 13; a
///     carry out of the mantissa bumps the exponent, and anything reaching 0x7C00 (>= 65520) is Inf.
///   Inf → 0x7C00; NaN → 0x7E00 | top 9 payload bits (quiet).
[[nodiscard]] constexpr std::uint16_t f32_bits_to_f16_bits(std::uint32_t x) noexcept {
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    const std::uint32_t a = x & 0x7FFFFFFFu;
    // Clamp before the float add so it never sees Inf/NaN (keeps constant evaluation NaN-free).
    const auto tiny = std::bit_cast<float>(std::min(a, 0x38800000u));
    const auto subnormal = std::bit_cast<std::uint32_t>(tiny + 0.5f) - 0x3F000000u;
    const std::uint32_t rebiased = a - (112u << 23);  // wraps for small a; unused then
    const std::uint32_t rounded = (rebiased + 0x0FFFu + ((rebiased >> 13) & 1u)) >> 13;
    const std::uint32_t normal = std::min(rounded, 0x7C00u);
    const std::uint32_t special = a > 0x7F800000u ? (0x7E00u | ((a >> 13) & 0x03FFu)) : 0x7C00u;
    const std::uint32_t normal_or_special = a < 0x7F800000u ? normal : special;
    const std::uint32_t is_subnormal = 0u - static_cast<std::uint32_t>(a < 0x38800000u);  // mask blend
    const std::uint32_t body = (subnormal & is_subnormal) | (normal_or_special & ~is_subnormal);
    return static_cast<std::uint16_t>(sign | body);
}

/// bfloat16 bits → binary32 bits: the bits are the upper half; NaN quieted (bit 22 set).
[[nodiscard]] constexpr std::uint32_t bf16_bits_to_f32_bits(std::uint16_t b) noexcept {
    const std::uint32_t x = static_cast<std::uint32_t>(b) << 16;
    return x | ((x & 0x7FFFFFFFu) > 0x7F800000u ? 0x00400000u : 0u);
}

/// binary32 bits → bfloat16 bits, round to nearest even on the 16 dropped bits:
///   (x + 0x7FFF + bit16(x)) >> 16. This is IEEE RNE for every finite x, subnormals included, and the
///   carry turns values at or above the midpoint past 0x7F7F (max bf16 ≈ 3.3895e38) into Inf.
///   NaN → the top 16 bits with the quiet bit (0x0040) set: sign and top payload kept, never Inf.
[[nodiscard]] constexpr std::uint16_t f32_bits_to_bf16_bits(std::uint32_t x) noexcept {
    const std::uint32_t rounded = (x + 0x7FFFu + ((x >> 16) & 1u)) >> 16;
    const std::uint32_t nan = (x >> 16) | 0x0040u;
    return static_cast<std::uint16_t>((x & 0x7FFFFFFFu) > 0x7F800000u ? nan : rounded);
}

}  // namespace detail

struct f16;
struct bf16;
[[nodiscard]] constexpr float to_f32(f16 h) noexcept;
[[nodiscard]] constexpr float to_f32(bf16 h) noexcept;
[[nodiscard]] constexpr f16 to_f16(float x) noexcept;
[[nodiscard]] constexpr bf16 to_bf16(float x) noexcept;

/// IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Largest finite 65504 (0x7BFF),
/// smallest normal 2^-14 (0x0400), smallest subnormal 2^-24 (0x0001). Trivially copyable, 2 bytes;
/// a default-constructed value is uninitialized like a float.
struct f16 {
    std::uint16_t bits;

    f16() = default;
    /// Rounds `x` to nearest even (see `to_f16`).
    constexpr explicit f16(float x) noexcept
        : bits{detail::f32_bits_to_f16_bits(std::bit_cast<std::uint32_t>(x))} {}
    /// The value with encoding `b`.
    [[nodiscard]] static constexpr f16 from_bits(std::uint16_t b) noexcept {
        f16 h;
        h.bits = b;
        return h;
    }
    /// Exact widening (see `to_f32`).
    [[nodiscard]] constexpr explicit operator float() const noexcept {
        return std::bit_cast<float>(detail::f16_bits_to_f32_bits(bits));
    }
};

/// bfloat16: 1 sign, 8 exponent (bias 127), 7 mantissa bits: the upper 16 bits of a binary32. Same
/// range as float (max ≈ 3.3895e38, 0x7F7F), 8 significant bits. Trivially copyable, 2 bytes.
struct bf16 {
    std::uint16_t bits;

    bf16() = default;
    /// Rounds `x` to nearest even (see `to_bf16`).
    constexpr explicit bf16(float x) noexcept
        : bits{detail::f32_bits_to_bf16_bits(std::bit_cast<std::uint32_t>(x))} {}
    /// The value with encoding `b`.
    [[nodiscard]] static constexpr bf16 from_bits(std::uint16_t b) noexcept {
        bf16 h;
        h.bits = b;
        return h;
    }
    /// Exact widening (see `to_f32`).
    [[nodiscard]] constexpr explicit operator float() const noexcept {
        return std::bit_cast<float>(detail::bf16_bits_to_f32_bits(bits));
    }
};

static_assert(sizeof(f16) == 2 && alignof(f16) == 2);
static_assert(sizeof(bf16) == 2 && alignof(bf16) == 2);
static_assert(std::is_trivially_copyable_v<f16> && std::is_standard_layout_v<f16>);
static_assert(std::is_trivially_copyable_v<bf16> && std::is_standard_layout_v<bf16>);

/// Exact f16 → float: (-1)^s · 2^(e-15) · (1 + m/2^10) for normal e, (-1)^s · m · 2^-24 for e == 0;
/// ±Inf → ±Inf; NaN → quiet NaN, same sign, payload in the top mantissa bits. Reference: IEEE 754-2019
/// §3.6 (binary16 format), §5.4.2 (convertFormat), §6.2.3 (NaN propagation).
[[nodiscard]] constexpr float to_f32(f16 h) noexcept { return static_cast<float>(h); }

/// Exact bf16 → float: bits << 16; a NaN is quieted (bit 22 set), sign and payload kept.
[[nodiscard]] constexpr float to_f32(bf16 h) noexcept { return static_cast<float>(h); }

/// float → f16, round to nearest, ties to even (IEEE 754-2019 §4.3.1 roundTiesToEven); subnormal results
/// rounded the same way; |x| >= 65520 → ±Inf; ±Inf → ±Inf; NaN → quiet NaN (0x7E00 | top payload bits,
/// sign kept). Matches numpy's float32→float16 astype on every non-NaN input.
[[nodiscard]] constexpr f16 to_f16(float x) noexcept { return f16{x}; }

/// float → bf16, round to nearest, ties to even on the 16 dropped bits (overflow to ±Inf per IEEE);
/// NaN → the top 16 bits with the quiet bit set. Matches PyTorch's `round_to_nearest_even` for non-NaN
/// inputs (PyTorch returns a canonical 0x7FC0 for NaN; blend keeps the sign and top payload bits).
[[nodiscard]] constexpr bf16 to_bf16(float x) noexcept { return bf16{x}; }

}  // namespace blend
