#pragma once
/// @file blend/merge/slerp.hpp
/// slerp and nuslerp — METHODS.md §1 "slerp", "nuslerp".
///
/// slerp (two models, t; t = 0 gives the base v0, t = 1 the other model v1). The whole tensor is one
/// vector; u = v / |v| when |v| > 1e-8 (else u = v); dot = u0 . u1;
///   |dot| > 0.9995:  result = (1 - t) v0 + t v1
///   otherwise:       theta = acos(dot),
///                    result = sin((1 - t) theta) / sin theta * v0 + sin(t theta) / sin theta * v1
/// on the unnormalized v. Reference: Shoemake 1985; mergekit `slerp` (the same thresholds).
///
/// nuslerp (exactly two models a, b with weights w_a, w_b): t = w_b / (w_a + w_b), 0.5 when
/// |w_a + w_b| < 1e-6. With a base B: result = B + nuslerp(t, a - B, b - B). Vectors: the flattened
/// tensor (`flatten`, default true), else each row along the last axis, or with `row_wise` each vector
/// along axis 0 (a matrix's columns — mergekit's code swaps axes 0 and -1; its docs say rows).
/// Per vector: n = max(|v|, 1e-7), cos = clamp(v0 . v1 / (n0 n1), -1, 1), theta = acos(cos);
///   |sin theta| < 1e-8 (colinear): result = (1 - t) v0 + t v1
///   otherwise:  result = (sin((1 - t) theta) v0 + sin(t theta) v1) / sin theta.
/// Reference: mergekit `nuslerp`.
///
/// Math (both): norms and dot products are float64 sums over the inputs read in float32 (float64 for
/// float64 storage), differences from the base are taken in float64, the result is formed in float64
/// and rounded once to the output dtype. Deliberate difference from mergekit: nuslerp there computes
/// in the storage dtype (bf16 norms, trigonometry and sums for bf16 models); slerp there computes in
/// float32 and agrees with blend to about 1 float32 ulp.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/rows.hpp>
#include <blend/merge/detail/typed.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace blend::merge {

/// Options of `slerp`.
struct slerp_options {
    /// Interpolation factor: 0 gives the first input (the base), 1 the second (mergekit's `t`).
    double t = 0.5;
};

/// Options of `nuslerp`.
struct nuslerp_options {
    /// (w_a, w_b): the two models' weights (mergekit's per-model `weight`); empty means (1, 1).
    std::span<const double> weights{};
    /// Treat the whole tensor as one vector (mergekit's `nuslerp_flatten`, default true).
    bool flatten = true;
    /// Without flattening: vectors along axis 0 (columns of a matrix) instead of the last axis
    /// (mergekit's `nuslerp_row_wise`, default false).
    bool row_wise = false;
};

namespace detail {

/// slerp's coefficients (c0, c1), result = c0 v0 + c1 v1, from |v0|^2, |v1|^2 and v0 . v1.
[[nodiscard]] inline std::pair<double, double> slerp_coefficients(double t, double n00, double n11, double n01) noexcept {
    const double n0 = std::sqrt(n00);
    const double n1 = std::sqrt(n11);
    const double dot = n01 / ((n0 > 1e-8 ? n0 : 1.0) * (n1 > 1e-8 ? n1 : 1.0));
    if (std::abs(dot) > 0.9995) return {1.0 - t, t};
    const double theta = std::acos(std::clamp(dot, -1.0, 1.0));
    const double s = std::sin(theta);
    return {std::sin((1.0 - t) * theta) / s, std::sin(t * theta) / s};
}

/// nuslerp's coefficients (c0, c1) for one vector, from |v0|^2, |v1|^2 and v0 . v1.
[[nodiscard]] inline std::pair<double, double> nuslerp_coefficients(double t, double n00, double n11, double n01) noexcept {
    const double n0 = std::max(std::sqrt(n00), 1e-7);
    const double n1 = std::max(std::sqrt(n11), 1e-7);
    const double theta = std::acos(std::clamp(n01 / (n0 * n1), -1.0, 1.0));
    const double s = std::sin(theta);
    if (std::abs(s) < 1e-8) return {1.0 - t, t};
    return {std::sin((1.0 - t) * theta) / s, std::sin(t * theta) / s};
}

inline void require_finite(const char* method, const char* name, double value) {
    if (!std::isfinite(value)) throw invalid_argument{fmt::format("{}: {} must be finite, got {}", method, name, value)};
}

/// Two equal-shape inputs (after the optional base): the shared argument checks of slerp and nuslerp.
inline void require_pair(const char* method, std::size_t count) {
    if (count != 2) throw invalid_argument{fmt::format("{}: needs exactly 2 models, got {}", method, count)};
}

}  // namespace detail

/// slerp on runtime-typed tensors: `inputs` = (v0, v1) — the base first — written to `out` (any dtype).
/// Throws `invalid_argument` unless there are exactly two inputs and t is finite; `shape_error` when
/// shapes differ. See the file comment for the formula.
inline void slerp_into(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                       const slerp_options& options = {}) {
    detail::require_pair("slerp", inputs.size());
    detail::require_finite("slerp", "t", options.t);
    detail::require_same_shapes("slerp", inputs, out.shape);
    const detail::gram_matrix g = detail::gram(inputs, false);
    const auto [c0, c1] = detail::slerp_coefficients(options.t, g(0, 0), g(1, 1), g(0, 1));
    const std::array<double, 2> c{c0, c1};
    detail::linear_combination("slerp", inputs, false, c, out);
}

/// nuslerp's interpolation factor t = w_b / (w_a + w_b), 0.5 when |w_a + w_b| < 1e-6. Throws
/// `invalid_argument` unless there are 0 (meaning 1, 1) or 2 finite weights.
[[nodiscard]] inline double nuslerp_t(std::span<const double> weights) {
    if (weights.empty()) return 0.5;
    if (weights.size() != 2) throw invalid_argument{fmt::format("nuslerp: {} weights for 2 models", weights.size())};
    detail::require_finite("nuslerp", "weight", weights[0]);
    detail::require_finite("nuslerp", "weight", weights[1]);
    const double sum = weights[0] + weights[1];
    return std::abs(sum) < 1e-6 ? 0.5 : weights[1] / sum;
}

/// nuslerp on runtime-typed tensors: `base` (may be null) and `models` = (a, b), written to `out`
/// (any dtype). Throws `invalid_argument` unless there are exactly two models and 0 or 2 finite
/// weights; `shape_error` when shapes differ. See the file comment for the formula.
inline void nuslerp_into(const any_tensor_view* base, std::span<const any_tensor_view> models,
                         const any_mutable_tensor_view& out, const nuslerp_options& options = {}) {
    detail::require_pair("nuslerp", models.size());
    const double t = nuslerp_t(options.weights);
    const bool has_base = base != nullptr;
    std::vector<any_tensor_view> inputs;
    if (has_base) inputs.push_back(*base);
    inputs.insert(inputs.end(), models.begin(), models.end());
    detail::require_same_shapes("nuslerp", inputs, out.shape);
    if (options.flatten || out.shape.empty()) {
        const detail::gram_matrix g = detail::gram(inputs, has_base);
        const auto [c0, c1] = detail::nuslerp_coefficients(t, g(0, 0), g(1, 1), g(0, 1));
        const std::array<double, 2> c{c0, c1};
        detail::linear_combination("nuslerp", inputs, has_base, c, out);
        return;
    }
    const std::size_t axis = options.row_wise ? 0 : out.shape.size() - 1;
    detail::per_vector("nuslerp", inputs, out, detail::layout_along(out.shape, axis), [&]<class M>(const detail::vector_block<M>& b) {
        const std::vector<double> g = detail::block_gram(b, has_base);  // per vector: |v0|^2, v0.v1, |v1|^2
        std::vector<double> c(2 * b.width);
        for (std::size_t x = 0; x < b.width; ++x) {
            std::tie(c[2 * x], c[2 * x + 1]) = detail::nuslerp_coefficients(t, g[3 * x], g[3 * x + 2], g[3 * x + 1]);
        }
        detail::block_combine(b, has_base, c);
    });
}

/// slerp of two same-shape tensors (`base` at t = 0, `other` at t = 1); the result has their shape and
/// element type. See `slerp_into` and the file comment.
template <tensor T>
[[nodiscard]] auto slerp(const T& base, const T& other, const slerp_options& options = {}) {
    return detail::run_tensors([&](std::span<const any_tensor_view> v, const any_mutable_tensor_view& out) { slerp_into(v, out, options); },
                               base, other);
}

/// nuslerp of two same-shape tensors a, b without a base. See `nuslerp_into` and the file comment.
template <tensor T>
[[nodiscard]] auto nuslerp(const T& a, const T& b, const nuslerp_options& options = {}) {
    return detail::run_tensors([&](std::span<const any_tensor_view> v, const any_mutable_tensor_view& out) { nuslerp_into(nullptr, v, out, options); },
                               a, b);
}

/// nuslerp of a, b relative to `base`: base + nuslerp(t, a - base, b - base). (`b` has its own
/// template parameter so that `nuslerp(a, b, {...})` never considers this overload.)
template <tensor T, tensor U>
    requires std::same_as<T, U>
[[nodiscard]] auto nuslerp(const T& base, const T& a, const U& b, const nuslerp_options& options = {}) {
    return detail::run_tensors(
        [&](std::span<const any_tensor_view> v, const any_mutable_tensor_view& out) { nuslerp_into(&v[0], v.subspan(1), out, options); },
        base, a, b);
}

}  // namespace blend::merge
