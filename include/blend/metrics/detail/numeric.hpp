#pragma once
/// @file blend/metrics/detail/numeric.hpp
/// Private: the small float64 kernels shared by the metrics — log-sum-exp, Shannon entropy and the
/// top label of a score row.

#include <blend/metrics/detail/inputs.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace blend::metrics::detail {

/// log(sum_j exp(x_j)) for j < n, computed as max + log(sum exp(x_j - max)) (no overflow; one exp per
/// element). n >= 1 and finite x assumed (the callers validate).
template <class E>
[[nodiscard]] double log_sum_exp(const E* x, std::size_t n) noexcept {
    double hi = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < n; ++j) hi = std::max(hi, static_cast<double>(x[j]));
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) sum += std::exp(static_cast<double>(x[j]) - hi);
    return hi + std::log(sum);
}

/// log(1 + exp(z)) = log-sum-exp of the two logits [0, z], without overflow.
[[nodiscard]] inline double log1p_exp(double z) noexcept {
    return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
}

/// -p log p with 0 log 0 = 0 (its limit), natural log.
[[nodiscard]] inline double entropy_term(double p) noexcept { return p > 0.0 ? -p * std::log(p) : 0.0; }

/// Predicted label and its score ("confidence") of one row.
struct top_label {
    std::int64_t label = 0;
    double score = 0.0;
};

/// Row argmax with ties to the lowest index (numpy `argmax`); for a binary row the label is p > 0.5 and
/// the score max(p, 1 - p) — the same as the argmax of [1 - p, p], stated directly.
template <class E>
[[nodiscard]] top_label row_top_label(const score_matrix<E>& s, std::size_t i) noexcept {
    if (s.binary) {
        const double p = s.positive(i);
        return p > 0.5 ? top_label{1, p} : top_label{0, 1.0 - p};
    }
    const E* row = s.data + i * s.cols;
    std::size_t best = 0;
    for (std::size_t c = 1; c < s.cols; ++c) {
        if (row[c] > row[best]) best = c;
    }
    return {static_cast<std::int64_t>(best), static_cast<double>(row[best])};
}

}  // namespace blend::metrics::detail
