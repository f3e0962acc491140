#pragma once
/// @file blend/core/convert.hpp
/// Bulk dtype conversion: typed (`convert` over spans) and runtime-typed (`convert_bytes` over raw,
/// possibly misaligned bytes). Both run one element kernel, `convert_value<To>(from)`, so every pair of
/// dtypes has exactly one definition.
///
/// Rules, per element (numpy's `astype` and PyTorch's `.to()` agree on all of them except where noted):
/// - same type: copied (bool normalized to 0/1 when read from raw bytes).
/// - small float (f16, bf16, f8) source: widened exactly with `to_f32`, then treated as a float.
/// - to a small float: float → `to_f16`/`to_bf16`/`to_f8_*` (one rounding, RNE). double and integer
///   sources are first narrowed to float with round-to-odd, which makes the two-step rounding equal to
///   a single correct rounding of the double (like numpy's float64→float16; PyTorch rounds twice via
///   float and can differ on rare ties). 64-bit integers above 2^53 are rounded to double first.
/// - float ↔ double, integer → float: `static_cast` (IEEE: exact widening, RNE narrowing, overflow → Inf).
/// - float → integer: truncation toward zero (`static_cast`), but where `static_cast` would be undefined
///   behaviour blend defines it: NaN → 0, values beyond the integer range clamp to its min/max (so
///   -1.5f → uint8 gives 0 and 300.0 → int8 gives 127; numpy/PyTorch give platform-dependent results).
/// - integer → integer: `static_cast`, i.e. modulo 2^N wrap-around (as numpy and PyTorch).
/// - to bool: x != 0 (NaN → true); from bool: 0 or 1.

#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>
#include <blend/core/isa.hpp>

#include <fmt/format.h>

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <type_traits>

namespace blend {

namespace detail {

template <class T>
concept small_float =
    std::same_as<T, f16> || std::same_as<T, bf16> || std::same_as<T, f8_e4m3> || std::same_as<T, f8_e5m2>;

/// double → float with round-to-odd: truncate toward zero, then set the last bit when inexact. A later
/// RNE rounding to a format with at most 22 significant bits (f16, bf16, f8) then equals a single RNE
/// rounding of `d` (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms
/// using rounding to odd", IEEE TC 2008). |d| beyond FLT_MAX gives FLT_MAX with the odd bit, which every
/// small format rounds to Inf (or NaN for E4M3FN) as the exact value would; ±Inf and NaN pass through.
///
/// Computed without branches or 64-bit integer lanes, so a loop of it vectorizes (2.3 → 1.1 ns per
/// element for double → bf16 measured with GCC 12 -O2): `nearest` is the RNE float; the residual
/// r = (d - nearest) · 2^64 is exact in double (Sterbenz) and its float keeps its sign, so r ≠ 0 says
/// "inexact" and sign(r) ≠ sign(nearest) says "rounded away from zero", in which case the truncation
/// is one float step toward zero. The 2^64 scale keeps r a nonzero float whenever |nearest| ≥ 2^-134
/// (half the smallest bf16 subnormal); below that r may flush to 0 and the result lose its odd bit,
/// which changes nothing after rounding to f16, bf16 or f8, whose smallest steps are ≥ 2^-133. For
/// d = ±Inf, r is NaN and counts as exact; for d > FLT_MAX, r = -Inf: inexact and away.
[[nodiscard]] constexpr float round_to_odd_f32(double d) noexcept {
    const auto nearest = static_cast<float>(d);  // IEEE: out-of-range gives ±Inf
    const auto residual = static_cast<float>((d - static_cast<double>(nearest)) * 0x1p64);
    const auto bits = std::bit_cast<std::uint32_t>(nearest);
    const auto residual_bits = std::bit_cast<std::uint32_t>(residual);
    const std::uint32_t inexact = static_cast<std::uint32_t>(residual != 0.0f) & static_cast<std::uint32_t>(residual == residual);
    const std::uint32_t away = ((bits ^ residual_bits) >> 31) & inexact;
    return std::bit_cast<float>(inexact != 0 ? ((bits - away) | 1u) : bits);
}

/// float/double → integer: truncation toward zero; NaN → 0; clamped to [min, max] of I.
template <std::integral I, std::floating_point F>
[[nodiscard]] constexpr I float_to_int(F x) noexcept {
    using limits = std::numeric_limits<I>;
    // Both bounds are powers of two (or 0), exactly representable in F: lo = min, hi = max + 1.
    constexpr F lo = static_cast<F>(limits::min());
    constexpr F hi = F{2} * static_cast<F>(I{1} << (limits::digits - 1));
    if (!(x == x)) return I{0};
    if (x >= hi) return limits::max();
    if (x <= lo) return limits::min();
    return static_cast<I>(x);
}

/// One element of `From` as `To` (the rules in the file comment).
template <element To, element From>
[[nodiscard]] constexpr To convert_value(From x) noexcept {
    using from_t = std::remove_cv_t<From>;
    if constexpr (std::is_same_v<from_t, To>) {
        return x;
    } else if constexpr (small_float<from_t>) {
        return convert_value<To>(to_f32(x));
    } else if constexpr (std::is_same_v<To, bool>) {
        return x != from_t{0};
    } else if constexpr (small_float<To>) {
        if constexpr (std::is_same_v<from_t, float>) {
            return To{x};
        } else if constexpr (std::is_same_v<from_t, bool>) {
            return To{x ? 1.0f : 0.0f};
        } else {
            return To{round_to_odd_f32(static_cast<double>(x))};
        }
    } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<from_t>) {
        return float_to_int<To>(x);
    } else {
        return static_cast<To>(x);
    }
}

/// The one conversion loop: `out[i] = convert_value<To>(in[i])` for i < n. The ranges must not overlap.
/// Blocks of a constant 64 elements let GCC's -O2 "very cheap" vectorizer (which refuses loops needing a
/// scalar epilogue) vectorize the body; `__restrict` spares it a runtime alias check.
template <element To, element From>
inline void convert_kernel(const From* __restrict in, To* __restrict out, std::size_t n) noexcept {
    constexpr std::size_t block = 64;
    std::size_t i = 0;
    for (; i + block <= n; i += block) {
        for (std::size_t j = 0; j < block; ++j) out[i + j] = convert_value<To>(in[i + j]);
    }
    for (; i < n; ++i) out[i] = convert_value<To>(in[i]);
}

/// Elements per chunk of `convert_bytes` (stack buffers of at most 2 · 256 · 8 bytes).
inline constexpr std::size_t convert_chunk = 256;

/// `convert_kernel` over possibly misaligned bytes. When both buffers are aligned for their types (the
/// usual case: safetensors data starts 8-aligned and tensors of one dtype follow each other) and the
/// source is not bool, the kernel runs on them directly — one pass over memory. Otherwise each chunk is
/// copied into aligned buffers with `std::memcpy` (bool bytes normalized: any nonzero byte reads as
/// true), converted, and copied out.
template <element To, element From>
inline void convert_bytes_typed(const std::byte* in, std::byte* out, std::size_t count) noexcept {
    if constexpr (!std::is_same_v<From, bool>) {
        if (reinterpret_cast<std::uintptr_t>(in) % alignof(From) == 0 &&
            reinterpret_cast<std::uintptr_t>(out) % alignof(To) == 0) {
            convert_kernel<To, From>(reinterpret_cast<const From*>(in), reinterpret_cast<To*>(out), count);
            return;
        }
    }
    From src[convert_chunk];
    To dst[convert_chunk];
    for (std::size_t done = 0; done < count; done += convert_chunk) {
        const std::size_t n = count - done < convert_chunk ? count - done : convert_chunk;
        const std::byte* chunk = in + done * sizeof(From);
        if constexpr (std::is_same_v<From, bool>) {
            for (std::size_t j = 0; j < n; ++j) src[j] = chunk[j] != std::byte{0};
        } else {
            std::memcpy(src, chunk, n * sizeof(From));
        }
        convert_kernel<To, From>(src, dst, n);
        std::memcpy(out + done * sizeof(To), dst, n * sizeof(To));
    }
}

/// True for float32/64, f16 and bf16: the storage types the merge kernels convert per chunk.
template <class T>
inline constexpr bool chunk_float = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, f16> ||
                                    std::is_same_v<T, bf16>;

/// Conversions between two of them are worth a copy per instruction set.
template <class To, class From>
inline constexpr bool floating_pair = chunk_float<To> && chunk_float<From>;

/// `convert_bytes_typed`, at the CPU's widest vector instructions for the floating-point pairs.
template <element To, element From>
inline void convert_bytes_dispatched(const std::byte* in, std::byte* out, std::size_t count) noexcept {
    if constexpr (floating_pair<To, From>) {
        with_isa([&] { convert_bytes_typed<To, From>(in, out, count); });
    } else {
        convert_bytes_typed<To, From>(in, out, count);
    }
}

}  // namespace detail

/// Converts `in[i]` to `out[i]` for every i with the element rules of this header (file comment):
/// `out[i] = convert_value<To>(in[i])`. Throws `blend::invalid_argument` when the sizes differ. The
/// ranges must not overlap unless they are the same span of the same type (same type: a memmove). The hot
/// pairs (f16/bf16 ↔ f32, f32 ↔ f64) compile to SSE2 vector code with GCC 12 at -O2 and -O3.
template <element From, element To>
void convert(std::span<const From> in, std::span<To> out) {
    if (in.size() != out.size()) {
        throw invalid_argument{
            fmt::format("blend::convert: input has {} elements but output has {} ({} → {})", in.size(),
                        out.size(), name(dtype_of<From>), name(dtype_of<To>))};
    }
    if constexpr (std::is_same_v<std::remove_cv_t<From>, To>) {
        if (static_cast<const void*>(in.data()) != static_cast<const void*>(out.data()) && !in.empty()) {
            std::memmove(out.data(), in.data(), in.size_bytes());
        }
    } else {
        detail::convert_kernel<To, std::remove_cv_t<From>>(in.data(), out.data(), in.size());
    }
}

/// Overload for a mutable input span (deduction does not convert `span<T>` to `span<const T>`).
template <element From, element To>
void convert(std::span<From> in, std::span<To> out) {
    convert(std::span<const From>{in}, out);
}

/// Converts `count` elements of dtype `from` at `in` into dtype `to` at `out`, with the same element
/// rules as `convert`. `in` and `out` need no alignment: they are only accessed with `std::memcpy`, in
/// chunks of 256 elements copied to and from aligned stack buffers around the same `convert_kernel` the
/// typed `convert` runs (directly on the buffers when both are aligned). A BOOL byte other than 0 reads as true. The byte ranges must not overlap, except
/// that `in == out` with `from == to` is allowed (a no-op but for bool, which is normalized to 0/1). Null
/// pointers are allowed when `count == 0`. Dispatch: two nested `visit_dtype` calls pick the typed loop.
inline void convert_bytes(dtype from, const std::byte* in, dtype to, std::byte* out, std::size_t count) {
    if (count == 0) return;
    BLEND_ASSERT(in != nullptr && out != nullptr, "convert_bytes: null buffer");
    if (from == to && from != dtype::boolean) {
        if (in != out) std::memmove(out, in, count * size_of(from));
        return;
    }
    visit_dtype(from, [&]<class From>(std::type_identity<From>) {
        visit_dtype(to, [&]<class To>(std::type_identity<To>) {
            detail::convert_bytes_typed<To, From>(in, out, count);
        });
    });
}

/// `convert_bytes` from a runtime dtype into a buffer of the static element type `To`, for the hot
/// kernels that know their math type: one dtype switch instead of two, the floating-point pairs run at
/// the CPU's widest vector instructions (`with_isa`; identical results), and never inlined, so a kernel
/// that is itself compiled per instruction set (core/isa.hpp) does not carry every conversion loop.
template <element To>
[[gnu::noinline]] void convert_bytes_to(dtype from, const std::byte* in, To* out, std::size_t count) {
    if (count == 0) return;
    BLEND_ASSERT(in != nullptr && out != nullptr, "convert_bytes_to: null buffer");
    visit_dtype(from, [&]<class From>(std::type_identity<From>) {
        detail::convert_bytes_dispatched<To, From>(in, reinterpret_cast<std::byte*>(out), count);
    });
}

/// `convert_bytes` from a buffer of the static element type `From` into a runtime dtype (as
/// `convert_bytes_to`: one switch, widest instructions, never inlined).
template <element From>
[[gnu::noinline]] void convert_bytes_from(const From* in, dtype to, std::byte* out, std::size_t count) {
    if (count == 0) return;
    BLEND_ASSERT(in != nullptr && out != nullptr, "convert_bytes_from: null buffer");
    visit_dtype(to, [&]<class To>(std::type_identity<To>) {
        detail::convert_bytes_dispatched<To, From>(reinterpret_cast<const std::byte*>(in), out, count);
    });
}

}  // namespace blend
