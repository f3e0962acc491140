#pragma once
/// @file blend/merge/model_stock.hpp
/// Model Stock — METHODS.md §1 "model_stock", mergekit 0.1.5 `model_stock.py`.
///
///   o_i = X_i - B                               offsets of the N >= 2 non-base models
///   cos_ij = (o_i . o_j) / max(|o_i| |o_j|, 1e-6), clamped to [-1, 1]
///   cos = mean over the pairs i < j
///   t = N cos / (1 + (N - 1) cos),  t = 0 where |1 + (N - 1) cos| < 1e-6   (keep the base)
///   result = t * mean_i X_i + (1 - t) * B
///
/// The vectors are the whole tensor flattened (default), or with `filter_wise` each row along the last
/// axis, with one t per row (a 1-D tensor is one row; for >= 3-D tensors the rows are still along the
/// last axis, as mergekit). t is not clamped: cos < 0 gives t < 0.
///
/// Reference: Jang, Yun, Han, "Model Stock: All we need is just a few fine-tuned models", ECCV 2024
/// (arXiv:2403.19522); mergekit 0.1.5's `model_stock` (its singular-t rule; 0.1.4 divided by zero).
/// Math: offsets, dot products and norms in float64 from the float32 (float64) inputs, one rounding to
/// the output dtype. Deliberate difference from mergekit: mergekit computes in the storage dtype (bf16
/// dot products on bf16 models); blend in float64 (METHODS.md §1).

#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/elementwise.hpp>
#include <blend/merge/detail/rows.hpp>
#include <blend/merge/detail/typed.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

namespace blend::merge {

/// Options of `model_stock`.
struct model_stock_options {
    /// One t per row along the last axis instead of one for the whole tensor (mergekit's `filter_wise`,
    /// default false).
    bool filter_wise = false;
};

namespace detail {

/// t of Model Stock from the Gram matrix of the offsets (packed upper triangle, row by row:
/// G_00, G_01, ..., G_0(N-1), G_11, ...).
[[nodiscard]] inline double model_stock_t(std::span<const double> gram, std::size_t models) noexcept {
    auto at = [&](std::size_t i, std::size_t j) { return gram[i * models - i * (i - 1) / 2 + (j - i)]; };
    double sum = 0.0;
    std::size_t pairs = 0;
    for (std::size_t i = 0; i < models; ++i) {
        for (std::size_t j = i + 1; j < models; ++j) {
            const double norms = std::sqrt(at(i, i)) * std::sqrt(at(j, j));
            sum += std::clamp(at(i, j) / std::max(norms, 1e-6), -1.0, 1.0);
            ++pairs;
        }
    }
    const double cos = sum / static_cast<double>(pairs);
    const auto n = static_cast<double>(models);
    const double denominator = 1.0 + (n - 1.0) * cos;
    return std::abs(denominator) < 1e-6 ? 0.0 : n * cos / denominator;
}

}  // namespace detail

/// Model Stock on runtime-typed tensors (the per-tensor function): `inputs[0]` is the base B,
/// `inputs[1..N]` the N >= 2 other models; writes `out` (any dtype). See the file comment for the
/// formula. Throws `invalid_argument` for fewer than 3 inputs, `shape_error` when shapes differ.
inline void model_stock_into(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                             const model_stock_options& options = {}) {
    detail::require_input_count("model_stock", inputs.size(), 3, std::numeric_limits<std::size_t>::max());
    detail::require_same_shapes("model_stock", inputs, out.shape);
    const std::size_t total = out.size();
    if (total == 0) return;
    const std::size_t models = inputs.size() - 1;
    const detail::vector_layout rows = options.filter_wise ? detail::row_layout(out.shape) : detail::flat_layout(total);
    const std::size_t row_length = rows.length;
    const std::size_t entries = models * (models + 1) / 2;

    // Pass 1: per row, the packed Gram matrix of the offsets o_i = X_i - B in float64.
    const std::vector<double> gram = detail::vector_grams(inputs, rows, true);
    std::vector<double> t(rows.count());
    for (std::size_t r = 0; r < t.size(); ++r) {
        t[r] = detail::model_stock_t(std::span(gram).subspan(r * entries, entries), models);
    }

    // Pass 2: result = t * mean_i X_i + (1 - t) * B with the row's t.
    const double inv_models = 1.0 / static_cast<double>(models);
    detail::elementwise("model_stock", inputs, out, [&]<class M>(const detail::chunk<M>& c) {
        std::size_t row = c.offset / row_length;
        std::size_t column = c.offset % row_length;
        for (std::size_t e = 0; e < c.out.size(); ++e) {
            double sum = 0.0;
            for (std::size_t i = 1; i < c.inputs.size(); ++i) sum += static_cast<double>(c.inputs[i][e]);
            const double tr = t[row];
            c.out[e] = tr * (sum * inv_models) + (1.0 - tr) * static_cast<double>(c.inputs[0][e]);
            if (++column == row_length) {
                column = 0;
                ++row;
            }
        }
    });
}

/// Model Stock of typed tensors: `base` and a random-access range of >= 2 other models of the same
/// element type and shape; returns an `xt::xarray` of that type and shape. See `model_stock_into`.
template <tensor T, std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto model_stock(const T& base, const R& models, const model_stock_options& options = {}) {
    return detail::run_typed(base, models, [&](std::span<const any_tensor_view> views, const any_mutable_tensor_view& out) {
        model_stock_into(views, out, options);
    });
}

}  // namespace blend::merge
