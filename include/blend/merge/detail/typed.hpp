#pragma once
/// @file blend/merge/detail/typed.hpp
/// The bridge from in-memory typed tensors (xtensor containers, host types, `tensor_view`) to the
/// runtime-typed per-tensor functions every method is written as: views the inputs without copying,
/// allocates the result with the first input's shape and element type, and calls the method.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>

#include <fmt/format.h>

#include <ranges>
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

/// Runs `method(views, out)` for typed `inputs` and returns the result as an `xt::xarray` of the
/// inputs' element type and the first input's shape. `name` is the method, for the error on no inputs.
template <std::ranges::random_access_range R, class Method>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto run_typed(const char* name, const R& inputs, Method&& method) {
    using E = tensor_value_t<std::ranges::range_value_t<R>>;
    if (std::ranges::empty(inputs)) throw invalid_argument{fmt::format("{}: no input tensors", name)};
    const std::vector<any_tensor_view> views = views_of(inputs);
    auto result = xt::xarray<E>::from_shape(views.front().shape);
    method(std::span<const any_tensor_view>(views), any_mutable_tensor_view::of(result));
    return result;
}

}  // namespace blend::merge::detail
