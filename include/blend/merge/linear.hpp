#pragma once
/// @file blend/merge/linear.hpp
/// linear merge (model soup, weighted average) — METHODS.md §1 "linear".
///
///   result = sum_i w_i X_i / sum_i w_i   (normalize, the default)
///   result = sum_i w_i X_i               (normalize = false)
///
/// Reference: Wortsman et al. 2022, "Model soups"; mergekit's `linear` method (same parameters).
/// Math: inputs are read in float32 (float64 for float64 storage), products summed in a float64
/// accumulator, and the result rounded once to the storage type. Deliberate difference from mergekit:
/// weights whose sum is below 1e-8 in magnitude are an error when normalizing (mergekit divides and
/// yields inf/NaN).

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/typed.hpp>
#include <blend/merge/detail/weighted_sum.hpp>

#include <fmt/format.h>

#include <cmath>
#include <ranges>
#include <span>
#include <vector>

namespace blend::merge {

/// Options of `linear`.
struct linear_options {
    /// One weight per input; empty means 1 for every input (the uniform soup).
    std::span<const double> weights{};
    /// Divide by the sum of the weights (mergekit's `normalize`, default true).
    bool normalize = true;
};

/// Weighted average of same-shape tensors (see the file comment for the formula). `inputs` is a
/// random-access range of tensors of one element type; the result has their shape and element type.
/// Throws `invalid_argument` for no inputs, a weight count that differs from the input count, or
/// (normalizing) weights summing to zero; `shape_error` when shapes differ.
/// The weights actually used and the factor applied to the weighted sum (1 / sum w when normalizing):
/// the validation shared by the in-memory `linear` and the per-tensor plan function.
struct linear_weights {
    std::vector<double> weights;
    double scale = 1.0;
};

/// Validates `options` for `count` inputs; see `linear` for the errors.
[[nodiscard]] inline linear_weights resolve_linear_weights(std::size_t count, const linear_options& options) {
    if (count == 0) throw invalid_argument{"linear: no input tensors"};
    linear_weights out{{options.weights.begin(), options.weights.end()}, 1.0};
    if (out.weights.empty()) out.weights.assign(count, 1.0);
    if (out.weights.size() != count) {
        throw invalid_argument{fmt::format("linear: {} weights for {} inputs", out.weights.size(), count)};
    }
    if (options.normalize) {
        double total = 0.0;
        for (double w : out.weights) total += w;
        if (std::abs(total) < 1e-8) throw invalid_argument{fmt::format("linear: weights sum to zero ({})", total)};
        out.scale = 1.0 / total;
    }
    return out;
}

/// linear on runtime-typed tensors, writing `out` (any dtype; the merge's per-tensor function).
inline void linear_into(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                        const linear_options& options = {}) {
    const auto [weights, scale] = resolve_linear_weights(inputs.size(), options);
    detail::weighted_sum("linear", inputs, weights, scale, out);
}

/// Weighted average of same-shape tensors (see the file comment for the formula). `inputs` is a
/// random-access range of tensors of one element type; the result has their shape and element type.
/// Throws `invalid_argument` for no inputs, a weight count that differs from the input count, or
/// (normalizing) weights summing to zero; `shape_error` when shapes differ.
template <std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto linear(const R& inputs, const linear_options& options = {}) {
    return detail::run_typed("linear", inputs, [&](std::span<const any_tensor_view> views, const any_mutable_tensor_view& out) {
        linear_into(views, out, options);
    });
}

}  // namespace blend::merge
