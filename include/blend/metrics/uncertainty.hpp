#pragma once
/// @file blend/metrics/uncertainty.hpp
/// Predictive uncertainty of an ensemble of classifiers and its decomposition — METHODS.md §2
/// "Uncertainty". For members' class probabilities p_m (m = 1..M) of one row, natural log,
/// H[p] = -sum_c p_c log p_c with 0 log 0 = 0:
///   total      = H[ (1/M) sum_m p_m ]          (entropy of the mean prediction)
///   aleatoric  = (1/M) sum_m H[p_m]            (expected entropy)
///   epistemic  = total - aleatoric             (mutual information between label and member)
/// Reference: Depeweg et al. 2018, "Decomposition of uncertainty in Bayesian deep learning"; the
/// standard deep-ensemble decomposition (e.g. Lakshminarayanan et al. 2017). Epistemic >= 0 by Jensen's
/// inequality up to rounding (it is not clamped).

#include <blend/metrics/detail/inputs.hpp>
#include <blend/metrics/detail/numeric.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <string_view>
#include <vector>

namespace blend::metrics {

/// Per-row uncertainties (N values each) and their means over rows.
struct uncertainty_result {
    std::vector<double> total;
    std::vector<double> aleatoric;
    std::vector<double> epistemic;
    double mean_total = 0.0;
    double mean_aleatoric = 0.0;
    double mean_epistemic = 0.0;
};

/// Total, aleatoric and epistemic uncertainty (file comment) of M members' probabilities: a range of
/// float32/float64 (N, C) tensors, or one stacked (M, N, C) tensor; binary members (N,) (stacked
/// (M, N)) are read as [1 - p, p]. Probabilities are used as given (not clipped or renormalised).
/// Throws `invalid_argument` for no members, no rows or non-finite values, `shape_error` when shapes
/// differ.
template <member_tensors M>
    requires std::floating_point<detail::member_value_t<M>>
[[nodiscard]] uncertainty_result uncertainty_decomposition(const M& members) {
    constexpr std::string_view fn = "blend::metrics::uncertainty_decomposition";
    const auto list = detail::members_of(members, fn);
    std::vector<detail::score_matrix<detail::member_value_t<M>>> probs;
    probs.reserve(list.size());
    for (const auto* data : list.data) {
        probs.push_back(detail::score_shape(data, list.shape, fn, "member probabilities"));
        const auto& p = probs.back();
        const std::size_t width = p.binary ? 1 : p.cols;
        for (std::size_t j = 0; j < p.stored(); ++j) {
            detail::require_finite(static_cast<double>(p.data[j]), fn, "member probabilities", j / width, j % width);
        }
    }
    const std::size_t rows = probs.front().rows, cols = probs.front().cols;
    detail::require_rows(rows, fn);
    const auto count = static_cast<double>(probs.size());
    uncertainty_result out{std::vector<double>(rows), std::vector<double>(rows), std::vector<double>(rows), 0.0, 0.0, 0.0};
    std::vector<double> mean(cols);
    for (std::size_t i = 0; i < rows; ++i) {
        std::fill(mean.begin(), mean.end(), 0.0);
        double expected_entropy = 0.0;
        for (const auto& p : probs) {
            for (std::size_t c = 0; c < cols; ++c) {
                const double v = p(i, c);
                mean[c] += v;
                expected_entropy += detail::entropy_term(v);
            }
        }
        double entropy_of_mean = 0.0;
        for (double v : mean) entropy_of_mean += detail::entropy_term(v / count);
        out.total[i] = entropy_of_mean;
        out.aleatoric[i] = expected_entropy / count;
        out.epistemic[i] = out.total[i] - out.aleatoric[i];
        out.mean_total += out.total[i];
        out.mean_aleatoric += out.aleatoric[i];
        out.mean_epistemic += out.epistemic[i];
    }
    const auto n = static_cast<double>(rows);
    out.mean_total /= n;
    out.mean_aleatoric /= n;
    out.mean_epistemic /= n;
    return out;
}

}  // namespace blend::metrics
