#pragma once
/// @file blend/merge/multislerp.hpp
/// multislerp — METHODS.md §1 "multislerp" (as mergekit defines it; MERGEKIT_NOTES.md §5):
/// barycentric interpolation of N models on the hypersphere, in the tangent space at their weighted
/// mean direction.
///
///   one input: returned as is.
///   v_i = X_i (or X_i - B with a base), flattened; w = weights / sum(weights) when normalize_weights
///   n_i = |v_i|,  u_i = v_i / (n_i + eps)                       (eps added, default 1e-8)
///   m = sum_i w_i u_i;  |m| < eps: two inputs -> sum_i w_i v_i (+ B), more -> error
///   m^ = m / |m|;  T = sum_i w_i (u_i - (u_i . m^) m^);  tau = |T| + eps
///   result = (m^ cos tau + T sin tau / tau) * sum_i w_i n_i   (+ B)
///
/// T vanishes identically (sum_i w_i (u_i - (u_i . m^) m^) = m - |m| m^ = 0: mergekit's "tangent"
/// step is a projection, not a log map), so blend evaluates result = cos(eps) sum_i w_i n_i / |m| *
/// sum_i w_i u_i exactly, from the inputs' Gram matrix (one float64 pass) and one weighted sum
/// (rounded once). Reference: mergekit `multislerp` (0.1.5).
/// Deliberate differences from mergekit: float64 norms/dot products and one rounding (mergekit
/// computes in the storage dtype, so its T is rounding noise of order 1 storage ulp that it adds to
/// the result); weights summing to zero are an error when normalizing (mergekit yields NaN).

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/rows.hpp>
#include <blend/merge/detail/typed.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <ranges>
#include <span>
#include <vector>

namespace blend::merge {

/// Options of `multislerp`.
struct multislerp_options {
    /// One weight per model (mergekit's per-model `weight`); empty means 1 for every model.
    std::span<const double> weights{};
    /// Divide the weights by their sum (mergekit's `normalize_weights`, default true).
    bool normalize_weights = true;
    /// Added to the norms and to |T|; also the threshold on |m| (mergekit's `eps`, default 1e-8).
    double eps = 1e-8;
};

/// The coefficients c_i of result = sum_i c_i v_i (+ B) from the Gram matrix of the v_i and the
/// weights (see the file comment). Throws `invalid_argument` for weights summing to zero (when
/// normalizing) and for a zero weighted mean direction with more than two models.
[[nodiscard]] inline std::vector<double> multislerp_coefficients(const detail::gram_matrix& g, std::span<const double> weights,
                                                                 const multislerp_options& options) {
    const std::size_t n = g.n;
    std::vector<double> w(weights.begin(), weights.end());
    if (w.empty()) w.assign(n, 1.0);
    if (w.size() != n) throw invalid_argument{fmt::format("multislerp: {} weights for {} models", w.size(), n)};
    for (double x : w) {
        if (!std::isfinite(x)) throw invalid_argument{fmt::format("multislerp: weight {} is not finite", x)};
    }
    if (!std::isfinite(options.eps) || options.eps < 0.0) {
        throw invalid_argument{fmt::format("multislerp: eps must be finite and >= 0, got {}", options.eps)};
    }
    if (options.normalize_weights) {
        double total = 0.0;
        for (double x : w) total += x;
        if (std::abs(total) < 1e-8) throw invalid_argument{fmt::format("multislerp: weights sum to zero ({})", total)};
        for (double& x : w) x /= total;
    }
    std::vector<double> a(n);  // m = sum_i a_i v_i, a_i = w_i / (n_i + eps)
    double scale = 0.0;        // sum_i w_i n_i
    for (std::size_t i = 0; i < n; ++i) {
        const double norm = std::sqrt(g(i, i));
        a[i] = w[i] / (norm + options.eps);
        scale += w[i] * norm;
    }
    double m2 = 0.0;
    for (std::size_t p = 0; p < n; ++p) {
        for (std::size_t q = 0; q < n; ++q) m2 += a[p] * a[q] * g(p, q);
    }
    const double m = std::sqrt(std::max(m2, 0.0));
    if (m < options.eps) {
        if (n == 2) return w;  // mergekit's linear fallback for two opposite inputs
        throw invalid_argument{fmt::format("multislerp: the weighted sum of the unit inputs is zero (|m| = {})", m)};
    }
    const double factor = std::cos(options.eps) * scale / m;
    for (double& x : a) x *= factor;
    return a;
}

/// multislerp on runtime-typed tensors: `base` (may be null) and the models, written to `out` (any
/// dtype). Throws `invalid_argument` for no models or bad options (see `multislerp_coefficients`),
/// `shape_error` when shapes differ.
inline void multislerp_into(const any_tensor_view* base, std::span<const any_tensor_view> models,
                            const any_mutable_tensor_view& out, const multislerp_options& options = {}) {
    if (models.empty()) throw invalid_argument{"multislerp: no models"};
    std::vector<any_tensor_view> inputs;
    if (base != nullptr) inputs.push_back(*base);
    inputs.insert(inputs.end(), models.begin(), models.end());
    detail::require_same_shapes("multislerp", inputs, out.shape);
    if (models.size() == 1) {  // mergekit returns a single model unchanged (base or not)
        const std::array<double, 1> one{1.0};
        detail::linear_combination("multislerp", models, false, one, out);
        return;
    }
    const bool has_base = base != nullptr;
    const std::vector<double> c = multislerp_coefficients(detail::gram(inputs, has_base), options.weights, options);
    detail::linear_combination("multislerp", inputs, has_base, c, out);
}

/// multislerp of same-shape tensors without a base; the result has their shape and element type.
template <std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto multislerp(const R& models, const multislerp_options& options = {}) {
    return detail::run_typed("multislerp", models, [&](std::span<const any_tensor_view> v, const any_mutable_tensor_view& out) {
        multislerp_into(nullptr, v, out, options);
    });
}

/// multislerp of same-shape tensors relative to `base`: base + multislerp of the X_i - B.
template <tensor T, std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto multislerp(const T& base, const R& models, const multislerp_options& options = {}) {
    const any_tensor_view b = any_tensor_view::of(base);
    return detail::run_typed("multislerp", models, [&](std::span<const any_tensor_view> v, const any_mutable_tensor_view& out) {
        multislerp_into(&b, v, out, options);
    });
}

}  // namespace blend::merge
