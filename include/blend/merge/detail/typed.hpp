#pragma once
/// @file blend/merge/detail/typed.hpp
/// The bridge from in-memory typed tensors (xtensor containers, host types, `tensor_view`) to the
/// runtime-typed per-tensor functions every method is written as: views the inputs without copying,
/// allocates the result with the first input's shape and element type, and calls the method. Three
/// spellings of one operation: a range of tensors, a base in front of a range (the runtime
/// convention of methods with a base: input 0 is the base, inputs 1..N the other models in config
/// order), and a fixed list of tensors.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>

#include <fmt/format.h>

#include <array>
#include <ranges>
#include <span>
#include <type_traits>
#include <vector>

namespace blend::merge::detail {

/// `any_tensor_view`s of every tensor of `inputs`.
template <std::ranges::input_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] std::vector<any_tensor_view> views_of(const R& inputs) {
    std::vector<any_tensor_view> views;
    for (const auto& input : inputs) views.push_back(any_tensor_view::of(input));
    return views;
}

/// Runs `method(views, out)` with `out` an `xt::xarray<E>` of the first view's shape, and returns it.
template <class E, class Method>
[[nodiscard]] xt::xarray<E> run_on_views(std::span<const any_tensor_view> views, Method&& method) {
    auto result = xt::xarray<E>::from_shape(views.front().shape);
    method(views, any_mutable_tensor_view::of(result));
    return result;
}

/// Runs `method(views, out)` for typed `inputs` and returns the result as an `xt::xarray` of the
/// inputs' element type and the first input's shape. `name` is the method, for the error on no inputs.
template <std::ranges::random_access_range R, class Method>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto run_typed(const char* name, const R& inputs, Method&& method) {
    using E = tensor_value_t<std::ranges::range_value_t<R>>;
    if (std::ranges::empty(inputs)) throw invalid_argument{fmt::format("{}: no input tensors", name)};
    const std::vector<any_tensor_view> views = views_of(inputs);
    return run_on_views<E>(views, method);
}

/// Runs `method(views, out)` with views = {base, inputs...} and returns an `xt::xarray` of the base's
/// element type and shape. The inputs must have the base's element type.
template <tensor T, std::ranges::random_access_range R, class Method>
    requires tensor<std::ranges::range_value_t<R>> &&
        std::same_as<tensor_value_t<T>, tensor_value_t<std::ranges::range_value_t<R>>>
[[nodiscard]] auto run_typed(const T& base, const R& inputs, Method&& method) {
    std::vector<any_tensor_view> views{any_tensor_view::of(base)};
    for (const auto& input : inputs) views.push_back(any_tensor_view::of(input));
    return run_on_views<tensor_value_t<T>>(views, method);
}

/// Runs `method(views, out)` for a fixed list of same-typed tensors and returns an `xt::xarray` of their
/// element type and the first tensor's shape.
template <class Method, tensor... T>
[[nodiscard]] auto run_tensors(Method&& method, const T&... tensors) {
    const std::array<any_tensor_view, sizeof...(T)> views{any_tensor_view::of(tensors)...};
    return run_on_views<std::common_type_t<tensor_value_t<T>...>>(views, method);
}

}  // namespace blend::merge::detail
