#pragma once
// Test support: a tensor of any dtype owning its bytes, made empty or converted from another tensor.
#include <blend/core/convert.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/tensor_view.hpp>

#include <cstddef>
#include <vector>

namespace blend::test {

/// The values of any tensor as float64.
inline std::vector<double> values_of(const any_tensor_view& t) {
    std::vector<double> out(t.size());
    convert_bytes(t.type, t.bytes.data(), dtype::f64, reinterpret_cast<std::byte*>(out.data()), t.size());
    return out;
}

/// A tensor owning its bytes, of any dtype.
struct owned_tensor {
    dtype type = dtype::f32;
    shape_type shape;
    std::vector<std::byte> bytes;

    [[nodiscard]] any_tensor_view view() const { return {type, shape, bytes}; }
    [[nodiscard]] any_mutable_tensor_view mutable_view() { return {type, shape, bytes}; }
    [[nodiscard]] std::vector<double> values() const { return values_of(view()); }
};

/// A zero-filled tensor of `type` and `shape`.
inline owned_tensor make_owned(dtype type, const shape_type& shape) {
    return {type, shape, std::vector<std::byte>(shape_size(shape) * size_of(type))};
}

/// `t` converted to `type` (one rounding; exact for bf16-valued float32 fixtures converted to bf16).
inline owned_tensor converted(const any_tensor_view& t, dtype type) {
    owned_tensor out = make_owned(type, t.shape);
    convert_bytes(t.type, t.bytes.data(), type, out.bytes.data(), t.size());
    return out;
}

}  // namespace blend::test
