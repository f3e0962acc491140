#pragma once
/// @file blend/core/tensor_view.hpp
/// Non-owning views: `tensor_view<E>` (a typed `std::span` plus a shape, itself a `tensor`) and
/// `any_tensor_view` (bytes plus a runtime `dtype` and shape — what file readers hand out).

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstddef>
#include <span>
#include <type_traits>

namespace blend {

/// A contiguous row-major tensor over memory owned elsewhere: `std::span<E>` + shape.
/// `E` may be const (`tensor_view<const float>` is read-only); `tensor_view<float>` is a
/// `mutable_tensor`. Construction checks that the span holds exactly product(shape) elements.
template <class E>
    requires element<std::remove_const_t<E>>
class tensor_view {
public:
    using value_type = E;

    tensor_view() = default;

    /// Views `data` as `shape`; throws `blend::shape_error` when the sizes differ.
    tensor_view(std::span<E> data, shape_type shape) : data_{data}, shape_{std::move(shape)} {
        if (shape_size(shape_) != data_.size()) {
            throw shape_error{fmt::format("tensor_view: shape [{}] holds {} elements but the span has {}",
                                          fmt::join(shape_, ", "), shape_size(shape_), data_.size())};
        }
    }

    /// Views any tensor without copying (const elements unless `t` is a mutable tensor).
    template <tensor T>
        requires std::is_convertible_v<decltype(tensor_data(std::declval<T&>())), E*> &&
                 (!std::is_same_v<std::remove_cvref_t<T>, tensor_view>)
    explicit tensor_view(T& t) : tensor_view(std::span<E>(tensor_data(t), tensor_size(t)), tensor_shape(t)) {}

    [[nodiscard]] E* data() const noexcept { return data_.data(); }
    [[nodiscard]] const shape_type& shape() const noexcept { return shape_; }
    [[nodiscard]] std::size_t size() const noexcept { return data_.size(); }
    [[nodiscard]] std::size_t dimension() const noexcept { return shape_.size(); }
    [[nodiscard]] std::span<E> span() const noexcept { return data_; }

private:
    std::span<E> data_{};
    shape_type shape_{};
};

template <tensor T>
tensor_view(T&) -> tensor_view<std::remove_reference_t<decltype(*tensor_data(std::declval<T&>()))>>;

/// A read-only tensor whose element type is known only at run time (a tensor in a safetensors
/// file, say): raw bytes, a dtype and a shape. The bytes may be unaligned for the dtype; read them
/// with `convert_bytes` (blend/core/convert.hpp), never through a cast pointer.
struct any_tensor_view {
    dtype type = dtype::f32;
    shape_type shape;
    std::span<const std::byte> bytes;

    /// Number of elements, product(shape).
    [[nodiscard]] std::size_t size() const noexcept { return shape_size(shape); }

    /// Views a typed tensor's bytes.
    template <tensor T>
    [[nodiscard]] static any_tensor_view of(const T& t) {
        using E = tensor_value_t<T>;
        const std::size_t n = tensor_size(t);
        return {dtype_of<E>, tensor_shape(t),
                std::span<const std::byte>(reinterpret_cast<const std::byte*>(tensor_data(t)), n * sizeof(E))};
    }
};

/// A writable tensor whose element type is known only at run time: the output of a per-tensor merge
/// function. Write it with `convert_bytes`; the bytes need not be aligned for the dtype.
struct any_mutable_tensor_view {
    dtype type = dtype::f32;
    shape_type shape;
    std::span<std::byte> bytes;

    /// Number of elements, product(shape).
    [[nodiscard]] std::size_t size() const noexcept { return shape_size(shape); }

    /// Views a mutable typed tensor's bytes.
    template <mutable_tensor T>
    [[nodiscard]] static any_mutable_tensor_view of(T& t) {
        using E = tensor_value_t<T>;
        const std::size_t n = tensor_size(t);
        return {dtype_of<E>, tensor_shape(t), std::span<std::byte>(reinterpret_cast<std::byte*>(tensor_data(t)), n * sizeof(E))};
    }

    /// The same bytes, read-only.
    [[nodiscard]] any_tensor_view as_const() const { return {type, shape, bytes}; }
};

}  // namespace blend
