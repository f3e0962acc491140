#pragma once
/// @file blend/core/dtype.hpp
/// Storage element types (dtypes): the runtime enum, names as the safetensors and numpy formats spell
/// them, sizes, and the mapping between C++ element types and dtypes.
///
/// The 16-bit float types `blend::f16` / `blend::bf16` and the 8-bit float types live in
/// `blend/core/half.hpp` and `blend/core/float8.hpp`; bulk conversion in `blend/core/convert.hpp`.

#include <blend/core/float8.hpp>
#include <blend/core/half.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace blend {

/// Every element type blend reads or writes. The set is the safetensors format's (which covers the
/// numpy types blend accepts in `.npy`, but for f16/bf16 naming).
enum class dtype : std::uint8_t {
    boolean,  ///< BOOL, one byte, 0 or 1
    u8,       ///< U8
    i8,       ///< I8
    i16,      ///< I16
    u16,      ///< U16
    f16,      ///< F16, IEEE 754 binary16
    bf16,     ///< BF16, bfloat16 (upper half of a binary32)
    i32,      ///< I32
    u32,      ///< U32
    f32,      ///< F32
    f64,      ///< F64
    i64,      ///< I64
    u64,      ///< U64
    f8_e4m3,  ///< F8_E4M3 (E4M3FN: no infinities, S.1111.111 is NaN)
    f8_e5m2,  ///< F8_E5M2 (IEEE-like: infinities and NaNs)
};

/// All dtypes, in enum order (for exhaustive loops in tests and parsers).
inline constexpr dtype all_dtypes[] = {dtype::boolean, dtype::u8,   dtype::i8,      dtype::i16,
                                       dtype::u16,     dtype::f16,  dtype::bf16,    dtype::i32,
                                       dtype::u32,     dtype::f32,  dtype::f64,     dtype::i64,
                                       dtype::u64,     dtype::f8_e4m3, dtype::f8_e5m2};

/// Size of one element in bytes.
[[nodiscard]] constexpr std::size_t size_of(dtype t) noexcept {
    switch (t) {
        case dtype::boolean:
        case dtype::u8:
        case dtype::i8:
        case dtype::f8_e4m3:
        case dtype::f8_e5m2: return 1;
        case dtype::i16:
        case dtype::u16:
        case dtype::f16:
        case dtype::bf16: return 2;
        case dtype::i32:
        case dtype::u32:
        case dtype::f32: return 4;
        case dtype::f64:
        case dtype::i64:
        case dtype::u64: return 8;
    }
    return 0;
}

/// True for the floating-point dtypes (f16, bf16, f32, f64, both f8).
[[nodiscard]] constexpr bool is_floating(dtype t) noexcept {
    switch (t) {
        case dtype::f16:
        case dtype::bf16:
        case dtype::f32:
        case dtype::f64:
        case dtype::f8_e4m3:
        case dtype::f8_e5m2: return true;
        default: return false;
    }
}

/// The dtype's name in the safetensors header ("F32", "BF16", "F8_E4M3", ...).
[[nodiscard]] constexpr std::string_view safetensors_name(dtype t) noexcept {
    switch (t) {
        case dtype::boolean: return "BOOL";
        case dtype::u8: return "U8";
        case dtype::i8: return "I8";
        case dtype::i16: return "I16";
        case dtype::u16: return "U16";
        case dtype::f16: return "F16";
        case dtype::bf16: return "BF16";
        case dtype::i32: return "I32";
        case dtype::u32: return "U32";
        case dtype::f32: return "F32";
        case dtype::f64: return "F64";
        case dtype::i64: return "I64";
        case dtype::u64: return "U64";
        case dtype::f8_e4m3: return "F8_E4M3";
        case dtype::f8_e5m2: return "F8_E5M2";
    }
    return "?";
}

/// Parses a safetensors dtype name; `std::nullopt` when unknown (the caller names the file).
[[nodiscard]] constexpr std::optional<dtype> dtype_from_safetensors_name(std::string_view name) noexcept {
    for (dtype t : all_dtypes) {
        if (safetensors_name(t) == name) return t;
    }
    return std::nullopt;
}

/// The lower-case name used in configs and messages: "float32", "bfloat16", "int8", "bool", ...
[[nodiscard]] constexpr std::string_view name(dtype t) noexcept {
    switch (t) {
        case dtype::boolean: return "bool";
        case dtype::u8: return "uint8";
        case dtype::i8: return "int8";
        case dtype::i16: return "int16";
        case dtype::u16: return "uint16";
        case dtype::f16: return "float16";
        case dtype::bf16: return "bfloat16";
        case dtype::i32: return "int32";
        case dtype::u32: return "uint32";
        case dtype::f32: return "float32";
        case dtype::f64: return "float64";
        case dtype::i64: return "int64";
        case dtype::u64: return "uint64";
        case dtype::f8_e4m3: return "float8_e4m3fn";
        case dtype::f8_e5m2: return "float8_e5m2";
    }
    return "?";
}

/// Parses `name(t)`; `std::nullopt` when unknown.
[[nodiscard]] constexpr std::optional<dtype> dtype_from_name(std::string_view text) noexcept {
    for (dtype t : all_dtypes) {
        if (name(t) == text) return t;
    }
    return std::nullopt;
}

/// The C++ storage type of each dtype: `storage_t<dtype::bf16>` is `blend::bf16`.
template <dtype D>
struct storage_type;
template <> struct storage_type<dtype::boolean> { using type = bool; };
template <> struct storage_type<dtype::u8> { using type = std::uint8_t; };
template <> struct storage_type<dtype::i8> { using type = std::int8_t; };
template <> struct storage_type<dtype::i16> { using type = std::int16_t; };
template <> struct storage_type<dtype::u16> { using type = std::uint16_t; };
template <> struct storage_type<dtype::f16> { using type = f16; };
template <> struct storage_type<dtype::bf16> { using type = bf16; };
template <> struct storage_type<dtype::i32> { using type = std::int32_t; };
template <> struct storage_type<dtype::u32> { using type = std::uint32_t; };
template <> struct storage_type<dtype::f32> { using type = float; };
template <> struct storage_type<dtype::f64> { using type = double; };
template <> struct storage_type<dtype::i64> { using type = std::int64_t; };
template <> struct storage_type<dtype::u64> { using type = std::uint64_t; };
template <> struct storage_type<dtype::f8_e4m3> { using type = f8_e4m3; };
template <> struct storage_type<dtype::f8_e5m2> { using type = f8_e5m2; };
template <dtype D>
using storage_t = typename storage_type<D>::type;

namespace detail {
template <class T>
constexpr std::optional<dtype> dtype_of_impl() noexcept {
    using U = std::remove_cv_t<T>;
    std::optional<dtype> found;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((std::is_same_v<U, storage_t<all_dtypes[I]>> ? (void)(found = all_dtypes[I]) : (void)0), ...);
    }(std::make_index_sequence<std::size(all_dtypes)>{});
    return found;
}
}  // namespace detail

/// An element type blend can store: one of the `storage_t` types (cv-qualifiers ignored).
template <class T>
concept element = detail::dtype_of_impl<T>().has_value();

/// The dtype of a C++ element type: `dtype_of<float> == dtype::f32`.
template <element T>
inline constexpr dtype dtype_of = *detail::dtype_of_impl<T>();

/// Calls `f(std::type_identity<storage_t<t>>{})` for the runtime dtype `t` and returns its result:
/// the bridge from a runtime dtype to a typed kernel.
template <class F>
constexpr decltype(auto) visit_dtype(dtype t, F&& f) {
    switch (t) {
        case dtype::boolean: return f(std::type_identity<bool>{});
        case dtype::u8: return f(std::type_identity<std::uint8_t>{});
        case dtype::i8: return f(std::type_identity<std::int8_t>{});
        case dtype::i16: return f(std::type_identity<std::int16_t>{});
        case dtype::u16: return f(std::type_identity<std::uint16_t>{});
        case dtype::f16: return f(std::type_identity<f16>{});
        case dtype::bf16: return f(std::type_identity<bf16>{});
        case dtype::i32: return f(std::type_identity<std::int32_t>{});
        case dtype::u32: return f(std::type_identity<std::uint32_t>{});
        case dtype::f32: return f(std::type_identity<float>{});
        case dtype::f64: return f(std::type_identity<double>{});
        case dtype::i64: return f(std::type_identity<std::int64_t>{});
        case dtype::u64: return f(std::type_identity<std::uint64_t>{});
        case dtype::f8_e4m3: return f(std::type_identity<f8_e4m3>{});
        case dtype::f8_e5m2: break;
    }
    return f(std::type_identity<f8_e5m2>{});
}

}  // namespace blend
