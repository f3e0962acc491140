#pragma once
/// @file blend/merge/karcher.hpp
/// karcher — METHODS.md §1 "karcher" (as mergekit defines it; MERGEKIT_NOTES.md §6): the Riemannian
/// (Karcher) mean of the models' directions on the unit sphere, scaled by their mean norm.
///
///   all N inputs (a configured base is one more input), uniform alpha_i = 1/N; one input: returned.
///   n_i = |X_i| (flattened), u_i = X_i / n_i; valid inputs: n_i > tol (none: the result is zero);
///   a_i = 1 / #valid. u = sum a_i u_i normalised (|u| < tol: the first valid u_i). Then up to max_iter
///   times: T = sum over valid i with theta_i = acos(clamp(u . u_i, -1, 1)) >= tol of
///   a_i theta_i / sin(theta_i) (u_i - cos_i u); stop when |T| < tol; else
///   u = cos|T| u + sin|T| T / |T|, then u = u / |u| if |u| > tol.
///   result = (sum_i alpha_i n_i) u            (every input's norm, tiny ones included)
///
/// u always lies in the span of the u_i, so blend iterates on its coefficients u = sum_i c_i u_i with
/// the unit Gram matrix U_pq = u_p . u_q (from one float64 pass over the data): every dot product and
/// norm above is exact up to float64 rounding, and the result is one weighted sum of the inputs,
/// rounded once. Reference: Karcher 1977; Buss & Fillmore 2001; mergekit `karcher` (0.1.5).
/// Deliberate difference from mergekit: float64 geometry (mergekit stores the unit vectors and takes
/// the dot products in the storage dtype; on bf16 models ~5 % of its entries are > 1 bf16 ulp from the
/// exact result).

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

/// Options of `karcher`.
struct karcher_options {
    /// Maximum number of iterations (mergekit's `max_iter`, default 10).
    std::size_t max_iter = 10;
    /// Convergence tolerance on |T|, smallest angle and smallest norm (mergekit's `tol`, default 1e-5).
    double tol = 1e-5;
};

/// The coefficients c_i of result = sum_i c_i X_i from the Gram matrix of the inputs (file comment).
[[nodiscard]] inline std::vector<double> karcher_coefficients(const detail::gram_matrix& g, const karcher_options& options) {
    const std::size_t n = g.n;
    const double tol = options.tol;
    if (!std::isfinite(tol) || tol < 0.0) throw invalid_argument{fmt::format("karcher: tol must be finite and >= 0, got {}", tol)};
    std::vector<double> norms(n);
    std::vector<std::size_t> valid;
    double scale = 0.0;  // sum_i alpha_i n_i over all inputs
    for (std::size_t i = 0; i < n; ++i) {
        norms[i] = std::sqrt(g(i, i));
        scale += norms[i] / static_cast<double>(n);
        if (norms[i] > tol) valid.push_back(i);
    }
    std::vector<double> result(n, 0.0);
    const std::size_t m = valid.size();
    if (m == 0) return result;
    std::vector<double> unit(m * m);  // U_pq over the valid inputs
    for (std::size_t p = 0; p < m; ++p) {
        for (std::size_t q = 0; q < m; ++q) unit[p * m + q] = g(valid[p], valid[q]) / (norms[valid[p]] * norms[valid[q]]);
    }
    auto dot = [&](const std::vector<double>& x, std::size_t p) {  // (sum_q x_q u_q) . u_p
        double s = 0.0;
        for (std::size_t q = 0; q < m; ++q) s += x[q] * unit[q * m + p];
        return s;
    };
    auto norm = [&](const std::vector<double>& x) {
        double s = 0.0;
        for (std::size_t p = 0; p < m; ++p) s += x[p] * dot(x, p);
        return std::sqrt(std::max(s, 0.0));
    };
    const double a = 1.0 / static_cast<double>(m);
    std::vector<double> u(m, a);
    if (const double nu = norm(u); nu < tol) {
        std::fill(u.begin(), u.end(), 0.0);
        u[0] = 1.0;
    } else {
        for (double& x : u) x /= nu;
    }
    std::vector<double> tangent(m);
    for (std::size_t iter = 0; iter < options.max_iter; ++iter) {
        std::fill(tangent.begin(), tangent.end(), 0.0);
        for (std::size_t i = 0; i < m; ++i) {
            const double cos_i = std::clamp(dot(u, i), -1.0, 1.0);
            const double theta = std::acos(cos_i);
            if (theta < tol) continue;
            const double k = a * theta / std::sin(theta);
            tangent[i] += k;
            for (std::size_t q = 0; q < m; ++q) tangent[q] -= k * cos_i * u[q];
        }
        const double nt = norm(tangent);
        if (nt < tol) break;
        const double c = std::cos(nt);
        const double s = std::sin(nt) / nt;
        for (std::size_t q = 0; q < m; ++q) u[q] = c * u[q] + s * tangent[q];
        if (const double nu = norm(u); nu > tol) {
            for (double& x : u) x /= nu;
        }
    }
    for (std::size_t p = 0; p < m; ++p) result[valid[p]] = scale * u[p] / norms[valid[p]];
    return result;
}

/// karcher on runtime-typed tensors (every model, a base included), written to `out` (any dtype).
/// Throws `invalid_argument` for no inputs or a bad tol, `shape_error` when shapes differ.
inline void karcher_into(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                         const karcher_options& options = {}) {
    if (inputs.empty()) throw invalid_argument{"karcher: no input tensors"};
    detail::require_same_shapes("karcher", inputs, out.shape);
    if (inputs.size() == 1) {
        const std::array<double, 1> one{1.0};
        detail::linear_combination("karcher", inputs, false, one, out);
        return;
    }
    const std::vector<double> c = karcher_coefficients(detail::gram(inputs, false), options);
    detail::linear_combination("karcher", inputs, false, c, out);
}

/// karcher of same-shape tensors; the result has their shape and element type.
template <std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto karcher(const R& inputs, const karcher_options& options = {}) {
    return detail::run_typed("karcher", inputs, [&](std::span<const any_tensor_view> v, const any_mutable_tensor_view& out) {
        karcher_into(v, out, options);
    });
}

}  // namespace blend::merge
