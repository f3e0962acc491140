#pragma once
/// @file tests/io/safetensors_patterns.hpp
/// The deterministic tensors of tests/reference/safetensors_patterns.py, recomputed in C++ (for
/// tests/io/safetensors_writer.cpp and tests/reference/write_for_safe_open.cpp). Keep the two in step:
///
///   integer dtypes, shape [3, 4]: [min, max, 0, 1] then, for i = 4..11, (i * 0x9E3779B97F4A7C15) mod 2^64
///                                 truncated to the dtype's width (two's complement for signed types)
///   BOOL, shape [2, 3]:           i % 3 == 0
///   float dtypes, shape [4, 4]:   [0, -0, 1, -1, +inf, -inf, nan, smallest subnormal, max, -max,
///                                  smallest normal, -smallest subnormal, 0.375, -0.75, 1.5, -3]
///                                 (F8_E4M3 has no infinities: slots 4 and 5 hold +-max/2 = +-224)
///   "scalar": F64, shape [], 0.1;  "empty": F32, shape [0, 3]
///   escapes: U8 tensors [i, 255 - i] named escape_names[i], metadata {"note": escape_note}
///   sharded model (BF16): element j of the t-th tensor is (((j + 7 t) * 37) mod 101 - 50) / 64

#include <blend/core/convert.hpp>
#include <blend/core/dtype.hpp>
#include <blend/io/safetensors_writer.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace blend_test {

inline constexpr std::uint64_t golden = 0x9E3779B97F4A7C15ull;

/// Shape of the pattern tensor of a dtype.
inline blend::shape_type pattern_shape(blend::dtype t) {
    if (t == blend::dtype::boolean) return {2, 3};
    return blend::is_floating(t) ? blend::shape_type{4, 4} : blend::shape_type{3, 4};
}

/// The float pattern as doubles (exact in every float dtype).
inline std::vector<double> float_pattern(blend::dtype t) {
    double sub = 0, max = 0, normal = 0;
    switch (t) {
        case blend::dtype::f16: sub = std::ldexp(1.0, -24), max = 65504.0, normal = std::ldexp(1.0, -14); break;
        case blend::dtype::bf16: sub = std::ldexp(1.0, -133), max = std::ldexp(255.0, 120), normal = std::ldexp(1.0, -126); break;
        case blend::dtype::f32:
            sub = std::numeric_limits<float>::denorm_min(), max = std::numeric_limits<float>::max(),
            normal = std::numeric_limits<float>::min();
            break;
        case blend::dtype::f64:
            sub = std::numeric_limits<double>::denorm_min(), max = std::numeric_limits<double>::max(),
            normal = std::numeric_limits<double>::min();
            break;
        case blend::dtype::f8_e4m3: sub = std::ldexp(1.0, -9), max = 448.0, normal = std::ldexp(1.0, -6); break;
        case blend::dtype::f8_e5m2: sub = std::ldexp(1.0, -16), max = 57344.0, normal = std::ldexp(1.0, -14); break;
        default: return {};
    }
    const double inf = t == blend::dtype::f8_e4m3 ? max / 2 : std::numeric_limits<double>::infinity();
    return {0.0, -0.0, 1.0, -1.0, inf, -inf, std::numeric_limits<double>::quiet_NaN(), sub, max, -max, normal, -sub,
            0.375, -0.75, 1.5, -3.0};
}

/// The integer pattern of element type T.
template <class T>
std::vector<T> int_pattern() {
    std::vector<T> v{std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), T{0}, T{1}};
    for (std::uint64_t i = 4; i < 12; ++i) v.push_back(static_cast<T>(i * golden));  // modulo 2^N (C++20)
    return v;
}

/// The little-endian bytes of a dtype's pattern tensor.
inline std::vector<std::byte> pattern_bytes(blend::dtype t) {
    std::vector<std::byte> out;
    if (t == blend::dtype::boolean) {
        for (int i = 0; i < 6; ++i) out.push_back(std::byte{i % 3 == 0});
    } else if (blend::is_floating(t)) {
        const auto values = float_pattern(t);
        out.resize(values.size() * blend::size_of(t));
        blend::convert_bytes(blend::dtype::f64, reinterpret_cast<const std::byte*>(values.data()), t, out.data(), values.size());
    } else {
        blend::visit_dtype(t, [&]<class T>(std::type_identity<T>) {
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                const auto values = int_pattern<T>();
                out.resize(values.size() * sizeof(T));
                std::memcpy(out.data(), values.data(), out.size());
            }
        });
    }
    return out;
}

/// One named tensor: spec and bytes.
struct named_tensor {
    blend::io::tensor_spec spec;
    std::vector<std::byte> bytes;
};

/// Lower-case safetensors code: "bool", "u8", ..., "f8_e5m2" (the fixture's tensor names).
inline std::string pattern_name(blend::dtype t) {
    std::string s{blend::safetensors_name(t)};
    for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return s;
}

/// Every dtype's pattern tensor (enum order), then "scalar" and "empty".
inline std::vector<named_tensor> all_dtypes_tensors() {
    std::vector<named_tensor> out;
    for (blend::dtype t : blend::all_dtypes) out.push_back({{pattern_name(t), t, pattern_shape(t)}, pattern_bytes(t)});
    const double tenth = 0.1;
    std::vector<std::byte> scalar(8);
    std::memcpy(scalar.data(), &tenth, 8);
    out.push_back({{"scalar", blend::dtype::f64, {}}, scalar});
    out.push_back({{"empty", blend::dtype::f32, {0, 3}}, {}});
    return out;
}

/// The sharded model's shard limit and tensors (BF16, model order).
inline constexpr std::uint64_t model_shard_limit = 1000;
inline std::vector<named_tensor> model_tensors() {
    const std::vector<std::pair<std::string, blend::shape_type>> shapes{
        {"lm_head.weight", {64, 8}},
        {"model.embed_tokens.weight", {32, 8}},
        {"model.layers.0.input_layernorm.weight", {8}},
        {"model.layers.0.mlp.down_proj.weight", {8, 24}},
        {"model.layers.0.mlp.up_proj.weight", {24, 8}},
        {"model.layers.0.self_attn.q_proj.weight", {8, 8}},
        {"model.layers.1.input_layernorm.weight", {8}},
        {"model.layers.1.mlp.down_proj.weight", {8, 24}},
        {"model.layers.1.mlp.up_proj.weight", {24, 8}},
        {"model.layers.1.self_attn.q_proj.weight", {8, 8}},
        {"model.norm.weight", {8}},
    };
    std::vector<named_tensor> out;
    for (std::size_t t = 0; t < shapes.size(); ++t) {
        const std::size_t n = blend::shape_size(shapes[t].second);
        std::vector<float> values(n);
        for (std::size_t j = 0; j < n; ++j) values[j] = static_cast<float>(static_cast<long>(((j + 7 * t) * 37) % 101) - 50) / 64.0f;
        std::vector<std::byte> bytes(n * 2);
        blend::convert_bytes(blend::dtype::f32, reinterpret_cast<const std::byte*>(values.data()), blend::dtype::bf16,
                             bytes.data(), n);
        out.push_back({{shapes[t].first, blend::dtype::bf16, shapes[t].second}, std::move(bytes)});
    }
    return out;
}

/// ESCAPE_NAMES and ESCAPE_NOTE: names and a metadata value that need JSON escapes or are not ASCII.
inline const std::vector<std::string> escape_names{
    "we\"ird\\name", "tab\tname", "ctrl\x01" "name", "del\x7f" "name",
    "\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb6" "d" "\xc3\xa9", "emoji\xf0\x9f\x98\x80", "slash/name"};
inline const std::string escape_note = "quote\" backslash\\ slash/ nl\n tab\t cr\r bs\b ff\f c1\x01 c31\x1f del\x7f "
                                "\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";

/// U8 tensors [i, 255 - i] named escape_names[i].
inline std::vector<named_tensor> escape_tensors() {
    std::vector<named_tensor> out;
    for (std::size_t i = 0; i < escape_names.size(); ++i) {
        out.push_back({{escape_names[i], blend::dtype::u8, {2}}, {std::byte(i), std::byte(255 - i)}});
    }
    return out;
}

/// Specs of a list of named tensors.
inline std::vector<blend::io::tensor_spec> specs_of(const std::vector<named_tensor>& tensors) {
    std::vector<blend::io::tensor_spec> specs;
    for (const auto& t : tensors) specs.push_back(t.spec);
    return specs;
}

}  // namespace blend_test
