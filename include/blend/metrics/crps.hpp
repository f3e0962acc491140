#pragma once
/// @file blend/metrics/crps.hpp
/// Continuous ranked probability score (CRPS) of ensemble forecasts — METHODS.md §2.
///
/// For an observation y and members x_1..x_M with weights w_i >= 0 (normalised to sum 1; equal by
/// default), X, X' independent draws from the weighted empirical distribution:
///   standard: CRPS = E|X - y| - 1/2 E|X - X'|
///                  = sum_i w_i |x_i - y| - 1/2 sum_i sum_j w_i w_j |x_i - x_j|
///   fair:     CRPS = sum_i w_i |x_i - y| - 1/2 sum_i sum_j w_i w_j |x_i - x_j| / (1 - sum_i w_i^2)
/// With equal weights the fair spread term is sum_ij |x_i - x_j| / (2 M (M - 1)) (Ferro 2014): the
/// unbiased estimate of the CRPS of the distribution the members are drawn from.
/// Computed in O(M log M) per observation: after sorting, sum_ij w_i w_j |x_i - x_j| =
/// 2 sum_k (x_(k+1) - x_(k)) F_k (1 - F_k), F_k the cumulative weight of the k smallest members (a sum of
/// non-negative terms, no cancellation).
///
/// References: properscoring 0.1 `crps_ensemble(obs, fcst, weights)` (standard form, weights
/// normalised per observation) and scoringrules 0.10 `crps_ensemble(obs, fct, ens_w=..., estimator=
/// "nrg" | "fair")` (standard and fair; its weighted fair form is the one above). Both agree with blend
/// to rounding (tests/metrics/crps.cpp, fixtures by tests/reference/metrics_reference.py). Deliberate
/// differences: a NaN member or observation is an error (properscoring skips NaN members, scoringrules
/// returns NaN), as are negative weights (scoringrules rejects them too; properscoring does not check).

#include <blend/metrics/detail/inputs.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace blend::metrics {

/// Which CRPS estimator (file comment): the empirical distribution's CRPS or the fair (unbiased) one.
enum class crps_estimator {
    standard,  ///< E|X - y| - 1/2 E|X - X'| (properscoring; scoringrules "nrg")
    fair,      ///< spread term divided by 1 - sum w^2, i.e. 1/(2M(M-1)) for equal weights (scoringrules "fair")
};

/// Options of `crps_ensemble` and `crps_ensemble_rows`.
struct crps_options {
    crps_estimator estimator = crps_estimator::standard;
    /// Member weights, >= 0, normalised per observation. Empty: equal weights. For many observations,
    /// either M values shared by every row or N x M values (row-major, one row per observation).
    std::span<const double> weights{};
};

/// Per-observation CRPS values and their mean.
struct crps_result {
    std::vector<double> values;
    double mean = 0.0;
};

namespace detail {

/// CRPS of one observation; `w` null means equal weights. `sorted` is scratch (reused across rows).
/// Inputs are validated by the callers except the weights' total.
template <class E>
[[nodiscard]] double crps_kernel(double y, const E* x, const double* w, std::size_t members,
                                 crps_estimator estimator, std::vector<std::pair<double, double>>& sorted,
                                 std::string_view fn, std::size_t row) {
    sorted.resize(members);
    double total = 0.0, squares = 0.0, distance = 0.0;
    for (std::size_t k = 0; k < members; ++k) {
        const double weight = w == nullptr ? 1.0 : w[k];
        const auto value = static_cast<double>(x[k]);
        sorted[k] = {value, weight};
        total += weight;
        squares += weight * weight;
        distance += weight * std::abs(value - y);
    }
    if (!(total > 0.0)) {
        throw invalid_argument{fmt::format("{}: the weights of observation {} sum to {}; need a positive sum", fn, row, total)};
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    double spread = 0.0, below = 0.0;  // spread = sum_ij w_i w_j |x_i - x_j| (raw weights)
    for (std::size_t k = 0; k + 1 < members; ++k) {
        below += sorted[k].second;
        spread += (sorted[k + 1].first - sorted[k].first) * below * (total - below);
    }
    spread *= 2.0;
    double denominator = total * total;
    if (estimator == crps_estimator::fair) {
        denominator -= squares;
        if (!(denominator > 0.0)) {
            throw invalid_argument{fmt::format(
                "{}: the fair CRPS needs at least two members with positive weight (observation {} has {} member{})", fn,
                row, members, members == 1 ? "" : "s")};
        }
    }
    return distance / total - 0.5 * spread / denominator;
}

/// Checks the weights: finite, >= 0, and none, `members` or `members * rows` of them.
inline void check_crps_weights(std::span<const double> weights, std::size_t members, std::size_t rows,
                               std::string_view fn) {
    if (!weights.empty() && weights.size() != members && weights.size() != members * rows) {
        throw invalid_argument{fmt::format("{}: {} weights for {} observation(s) of {} members; expected {} or {}", fn,
                                           weights.size(), rows, members, members, members * rows)};
    }
    for (std::size_t k = 0; k < weights.size(); ++k) {
        if (!(weights[k] >= 0.0) || !std::isfinite(weights[k])) {
            throw invalid_argument{fmt::format("{}: weight {} is {}; weights must be finite and >= 0", fn, k, weights[k])};
        }
    }
}

/// `crps_ensemble` for one observation, after validation.
template <class E>
[[nodiscard]] double crps_one(double observation, std::span<const E> members, const crps_options& options) {
    constexpr std::string_view fn = "blend::metrics::crps_ensemble";
    if (members.empty()) throw invalid_argument{fmt::format("{}: no members", fn)};
    require_finite(observation, fn, "observation", 0, 0);
    for (std::size_t k = 0; k < members.size(); ++k) require_finite(static_cast<double>(members[k]), fn, "members", 0, k);
    check_crps_weights(options.weights, members.size(), 1, fn);
    std::vector<std::pair<double, double>> sorted;
    return crps_kernel(observation, members.data(), options.weights.empty() ? nullptr : options.weights.data(),
                       members.size(), options.estimator, sorted, fn, 0);
}

}  // namespace detail

/// CRPS of one observation and its ensemble `members` (see the file comment for the formulas).
/// Throws `invalid_argument` for no members, a non-finite value, a weight count other than M, negative
/// weights or weights summing to 0, and (fair) fewer than two members of positive weight.
[[nodiscard]] inline double crps_ensemble(double observation, std::span<const double> members,
                                          const crps_options& options = {}) {
    return detail::crps_one(observation, members, options);
}

/// The same for members held in any (M,) float32/float64 tensor.
template <real_tensor X>
[[nodiscard]] double crps_ensemble(double observation, const X& members, const crps_options& options = {}) {
    const shape_type shape = tensor_shape(members);
    if (shape.size() != 1) {
        throw shape_error{fmt::format("blend::metrics::crps_ensemble: members have shape {}; expected (M,)",
                                      detail::shape_text(shape))};
    }
    return detail::crps_one(observation, std::span<const tensor_value_t<X>>(tensor_data(members), shape[0]), options);
}

/// CRPS of N observations: `observations` (N,) (or (N, 1)), `members` (N, M) float32/float64, row i
/// being observation i's ensemble. Returns every row's CRPS and their mean. Weights: none, M shared or
/// N x M (crps_options). Errors as `crps_ensemble`, plus `shape_error` when the shapes disagree and
/// `invalid_argument` for N = 0.
template <tensor O, real_tensor X>
    requires std::is_arithmetic_v<tensor_value_t<O>>
[[nodiscard]] crps_result crps_ensemble_rows(const O& observations, const X& members, const crps_options& options = {}) {
    constexpr std::string_view fn = "blend::metrics::crps_ensemble_rows";
    const auto obs = detail::column_of(observations, fn, "observations");
    const shape_type shape = tensor_shape(members);
    if (shape.size() != 2 || shape[0] != obs.size) {
        throw shape_error{fmt::format("{}: members have shape {} but there are {} observations; expected ({}, M)", fn,
                                      detail::shape_text(shape), obs.size, obs.size)};
    }
    detail::require_rows(obs.size, fn);
    const std::size_t m = shape[1];
    if (m == 0) throw invalid_argument{fmt::format("{}: no members", fn)};
    const auto* x = tensor_data(members);
    for (std::size_t j = 0; j < obs.size * m; ++j) {
        detail::require_finite(static_cast<double>(x[j]), fn, "members", j / m, j % m);
    }
    detail::check_crps_weights(options.weights, m, obs.size, fn);
    const bool per_row = options.weights.size() == obs.size * m && obs.size > 1;
    crps_result out{std::vector<double>(obs.size), 0.0};
    std::vector<std::pair<double, double>> sorted;
    for (std::size_t i = 0; i < obs.size; ++i) {
        const double* w = options.weights.empty() ? nullptr : options.weights.data() + (per_row ? i * m : 0);
        out.values[i] = detail::crps_kernel(obs[i], x + i * m, w, m, options.estimator, sorted, fn, i);
        out.mean += out.values[i];
    }
    out.mean /= static_cast<double>(obs.size);
    return out;
}

}  // namespace blend::metrics
