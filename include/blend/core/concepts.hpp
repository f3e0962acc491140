#pragma once
/// @file blend/core/concepts.hpp
/// The roles blend's algorithms are written against: `tensor`, `mutable_tensor`, `state_dict`,
/// `predictor`, and the accessors `tensor_data`, `tensor_shape`, `tensor_size`.
///
/// A type becomes a tensor in one of three ways, none of which copies its data:
///   1. it is an xtensor container or adaptor with a static row-major layout (`xt::xarray<float>`,
///      `xt::xtensor<float, 2>`, `xt::adapt(...)` over a pointer);
///   2. it has the members of a contiguous row-major array (structural opt-in, like `blend::tensor_view`);
///   3. it specializes `blend::tensor_traits<T>` (for host types whose members are spelled differently).
/// Views of xtensor expressions (strided, possibly non-contiguous) are deliberately *not* tensors:
/// evaluate them into a container first.

#include <blend/core/detail/xtensor.hpp>
#include <blend/core/dtype.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <ranges>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace blend {

/// Shape of a tensor: extents in row-major order (empty for a scalar).
using shape_type = std::vector<std::size_t>;

/// Customization point for host tensor types. A specialization provides:
///   1. `using value_type = E;` — the element type, an `element` (see dtype.hpp);
///   2. `static const E* data(const T&)` — the first element of contiguous, row-major storage;
///   3. optionally `static E* data(T&)` — makes `T` a `mutable_tensor`;
///   4. `static R shape(const T&)` — the extents, any sized range of integers (int64 extents are fine).
/// The primary template is empty; `tensor` then falls back to xtensor containers and to the members
/// `value_type`, `data()`, `shape()` (see `detail::structural_tensor`).
template <class T>
struct tensor_traits {};

namespace detail {

template <class R>
concept extent_range = std::ranges::sized_range<R> && std::integral<std::ranges::range_value_t<R>>;

/// Requirements of a `tensor_traits` specialization (numbered as in its doc comment).
template <class T>
concept traits_tensor = requires(const T& t) {
    typename tensor_traits<T>::value_type;                                              // 1
    requires element<typename tensor_traits<T>::value_type>;                           // 1
    { tensor_traits<T>::data(t) } -> std::convertible_to<const typename tensor_traits<T>::value_type*>;  // 2
    { tensor_traits<T>::shape(t) } -> extent_range;                                     // 4
};

/// An xtensor container or adaptor (derives from `xt::xcontainer<T>`) with static row-major layout:
/// its storage is contiguous and `data()` points at element 0. Views are excluded.
template <class T>
concept xtensor_container = std::derived_from<T, xt::xcontainer<T>> &&
                            (T::static_layout == xt::layout_type::row_major) &&
                            element<typename T::value_type>;

/// A non-xtensor type with the members of a contiguous row-major array:
///   1. `typename T::value_type` is an `element`;
///   2. `t.data()` returns a pointer to it (const-qualified for a const `t`);
///   3. `t.shape()` returns a sized range of integers.
template <class T>
concept structural_tensor = !xt::is_xexpression<T>::value && requires(const T& t) {
    typename T::value_type;                                                             // 1
    requires element<std::remove_const_t<typename T::value_type>>;                     // 1
    { t.data() } -> std::convertible_to<const std::remove_const_t<typename T::value_type>*>;  // 2
    { t.shape() } -> extent_range;                                                      // 3
};

}  // namespace detail

/// A readable tensor: an element type, a shape and contiguous row-major data, reachable through
/// `tensor_data`, `tensor_shape` and `tensor_size` without copying.
/// Satisfied by (in order of precedence) a `tensor_traits<T>` specialization, an xtensor container
/// with static row-major layout, or the structural members (see `detail::structural_tensor`).
template <class T>
concept tensor = detail::traits_tensor<std::remove_cvref_t<T>> ||
                 detail::xtensor_container<std::remove_cvref_t<T>> ||
                 detail::structural_tensor<std::remove_cvref_t<T>>;

/// The element type of a tensor, without cv-qualifiers: `tensor_value_t<xt::xarray<float>>` is float.
template <tensor T>
using tensor_value_t = std::remove_const_t<typename std::conditional_t<
    detail::traits_tensor<std::remove_cvref_t<T>>, tensor_traits<std::remove_cvref_t<T>>,
    std::remove_cvref_t<T>>::value_type>;

/// Pointer to the first element (const).
template <tensor T>
[[nodiscard]] constexpr const tensor_value_t<T>* tensor_data(const T& t) {
    if constexpr (detail::traits_tensor<T>) {
        return tensor_traits<T>::data(t);
    } else {
        return t.data();
    }
}

/// A tensor whose elements can be written through `tensor_data` on a non-const object.
///   1. it is a `tensor`;
///   2. `tensor_traits<T>::data(T&)` (or `t.data()` on a non-const `t`) returns a non-const pointer.
template <class T>
concept mutable_tensor = tensor<T> && requires(std::remove_cvref_t<T>& t) {
    requires(detail::traits_tensor<std::remove_cvref_t<T>> &&
             requires { { tensor_traits<std::remove_cvref_t<T>>::data(t) } -> std::same_as<tensor_value_t<T>*>; }) ||
                (!detail::traits_tensor<std::remove_cvref_t<T>> &&
                 requires { { t.data() } -> std::same_as<tensor_value_t<T>*>; });
};

/// Pointer to the first element (mutable).
template <mutable_tensor T>
[[nodiscard]] constexpr tensor_value_t<T>* tensor_data(T& t) {
    if constexpr (detail::traits_tensor<std::remove_cvref_t<T>>) {
        return tensor_traits<std::remove_cvref_t<T>>::data(t);
    } else {
        return t.data();
    }
}

/// The extents as `shape_type` (copied: a few integers, never the data).
template <tensor T>
[[nodiscard]] shape_type tensor_shape(const T& t) {
    decltype(auto) extents = [&]() -> decltype(auto) {
        if constexpr (detail::traits_tensor<T>) {
            return tensor_traits<T>::shape(t);
        } else {
            return t.shape();
        }
    }();
    shape_type out;
    out.reserve(std::ranges::size(extents));
    for (auto e : extents) out.push_back(static_cast<std::size_t>(e));
    return out;
}

/// Product of the extents (1 for a scalar, 0 when any extent is 0).
[[nodiscard]] inline std::size_t shape_size(const shape_type& shape) noexcept {
    std::size_t n = 1;
    for (std::size_t e : shape) n *= e;
    return n;
}

/// Number of elements of a tensor.
template <tensor T>
[[nodiscard]] std::size_t tensor_size(const T& t) {
    return shape_size(tensor_shape(t));
}

/// A named collection of tensors (a model's weights), e.g. `std::map<std::string, xt::xarray<float>>`:
///   1. iterable (a forward range) of (name, tensor) pairs — `key_type`, `mapped_type`;
///   2. `key_type` converts to `std::string_view` and can be built from one;
///   3. `mapped_type` is a `tensor`;
///   4. `d.find(key)` / `d.end()` look a tensor up by name, `d.size()` counts them.
template <class D>
concept state_dict = std::ranges::forward_range<const D> &&                                  // 1
    requires(const D& d, const typename D::key_type& key) {
        typename D::key_type;
        typename D::mapped_type;
        requires std::convertible_to<const typename D::key_type&, std::string_view>;        // 2
        requires std::constructible_from<typename D::key_type, std::string_view>;           // 2
        requires tensor<typename D::mapped_type>;                                           // 3
        { d.find(key) != d.end() } -> std::convertible_to<bool>;                            // 4
        { d.size() } -> std::convertible_to<std::size_t>;                                   // 4
    };

/// The tensor named `name` in `dict`, or nullptr.
template <state_dict D>
[[nodiscard]] const typename D::mapped_type* find_tensor(const D& dict, std::string_view name) {
    auto it = dict.find(typename D::key_type(name));
    return it == dict.end() ? nullptr : &it->second;
}

namespace detail {
template <class P, class In>
concept member_predictor = requires(P& p, const In& x) { p.predict(x); };
}  // namespace detail

/// Runs a predictor on a batch: `p.predict(x)` when `P` has such a member, else `p(x)`.
template <class P, class In>
    requires detail::member_predictor<P, In> || std::invocable<P&, const In&>
[[nodiscard]] decltype(auto) predict(P& p, const In& batch) {
    if constexpr (detail::member_predictor<P, In>) {
        return p.predict(batch);
    } else {
        return std::invoke(p, batch);
    }
}

/// A model that maps a batch of inputs to scores:
///   1. `In` is a `tensor` (typically (N, F) features);
///   2. `blend::predict(p, x)` is valid — a `predict` member or a call operator;
///   3. its result is a `tensor` (typically (N, C) probabilities or logits, or (N,)).
template <class P, class In>
concept predictor = tensor<In> &&                                                             // 1
    requires(P& p, const In& x) {
        { blend::predict(p, x) };                                                             // 2
        requires tensor<decltype(blend::predict(p, x))>;                                      // 3
    };

/// A model that can be refit on subsets of rows (stacking's base learners, ensemble/stacking.hpp):
///   1. `In` (features, typically (N, F)) and `Y` (labels or targets, (N,)) are `tensor`s;
///   2. `m.fit(x, y)` is valid;
///   3. `M` is a `predictor` of `In` (once fitted).
template <class M, class In, class Y>
concept trainable = tensor<In> && tensor<Y> &&                                                 // 1
    requires(M& m, const In& x, const Y& y) { m.fit(x, y); } &&                                // 2
    predictor<M, In>;                                                                           // 3

}  // namespace blend
