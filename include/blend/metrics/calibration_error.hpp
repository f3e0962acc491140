#pragma once
/// @file blend/metrics/calibration_error.hpp
/// Expected calibration error (ECE) and the reliability diagram behind it — METHODS.md §2, CLI.md
/// `eval` ("ece"). Reference: Guo, Pleiss, Sun & Weinberger 2017, "On Calibration of Modern Neural
/// Networks" (top-label confidence, equal-width bins).
///
/// Each row's confidence is its top-label score and its prediction the top label (argmax, ties to the
/// lowest index; binary (N,) p: confidence max(p, 1 - p), label p > 0.5). With B bins, bin b (0-based)
/// holds the rows with lo_b < conf <= hi_b, lo_b = b / double(B), hi_b = (b + 1) / double(B) — edges
/// computed exactly so, in float64. A row with conf = 0 (or conf > 1, impossible for probabilities) is
/// in no bin but still counts in N. Then
///   ECE = sum_b (n_b / N) |accuracy_b - mean_confidence_b|.
/// Inputs and errors as in classification.hpp.

#include <blend/metrics/detail/inputs.hpp>
#include <blend/metrics/detail/numeric.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace blend::metrics {

/// Options of `expected_calibration_error` and `reliability_diagram`.
struct ece_options {
    /// Number of equal-width bins over (0, 1] (default 15, as CLI.md `eval`). Must be at least 1.
    std::size_t bins = 15;
};

/// One bin of a reliability diagram: its interval (lo, hi], the rows in it, their mean top-label
/// confidence and the fraction of them predicted correctly (both 0 for an empty bin).
struct reliability_bin {
    double lo = 0.0;
    double hi = 0.0;
    std::size_t count = 0;
    double mean_confidence = 0.0;
    double accuracy = 0.0;
};

namespace detail {

/// Index of the bin holding `conf` (lo < conf <= hi with lo = b / double(bins)), or `bins` for none.
/// The first guess ceil(conf * bins) - 1 is corrected against the exact edges, so the rule above holds
/// to the last bit.
[[nodiscard]] inline std::size_t calibration_bin(double conf, std::size_t bins) noexcept {
    const auto b_count = static_cast<double>(bins);
    if (!(conf > 0.0) || conf > 1.0) return bins;
    auto b = static_cast<std::size_t>(std::ceil(conf * b_count));
    b = b == 0 ? 0 : b - 1;
    if (b >= bins) b = bins - 1;
    while (b > 0 && conf <= static_cast<double>(b) / b_count) --b;
    while (b + 1 < bins && conf > static_cast<double>(b + 1) / b_count) ++b;
    return b;
}

/// The kernel of both public functions: the bins filled from validated scores and labels.
template <class E, class L>
[[nodiscard]] std::vector<reliability_bin> reliability_bins(const score_matrix<E>& s, const label_vector<L>& labels,
                                                            std::size_t bins) {
    std::vector<reliability_bin> out(bins);
    std::vector<std::size_t> correct(bins, 0);
    std::vector<double> confidence(bins, 0.0);
    for (std::size_t i = 0; i < s.rows; ++i) {
        const auto top = row_top_label(s, i);
        const std::size_t b = calibration_bin(top.score, bins);
        if (b == bins) continue;
        ++out[b].count;
        confidence[b] += top.score;
        if (top.label == labels[i]) ++correct[b];
    }
    for (std::size_t b = 0; b < bins; ++b) {
        out[b].lo = static_cast<double>(b) / static_cast<double>(bins);
        out[b].hi = static_cast<double>(b + 1) / static_cast<double>(bins);
        if (out[b].count == 0) continue;
        const auto n = static_cast<double>(out[b].count);
        out[b].mean_confidence = confidence[b] / n;
        out[b].accuracy = static_cast<double>(correct[b]) / n;
    }
    return out;
}

/// Validates the inputs of the two public functions.
template <real_tensor P, label_tensor Y>
[[nodiscard]] auto calibration_inputs(const P& predictions, const Y& y, const ece_options& options,
                                      std::string_view fn) {
    if (options.bins == 0) throw invalid_argument{fmt::format("{}: bins must be at least 1 (got 0)", fn)};
    const auto s = scores_of(predictions, fn);
    const auto labels = labels_of(y, s.rows, s.cols, fn);
    return std::pair{s, labels};
}

}  // namespace detail

/// The data of a reliability diagram: `options.bins` bins over (0, 1] in order (see the file comment
/// for the binning rule), including empty ones. N = 0 gives empty bins. Throws `invalid_argument` for
/// bins = 0.
template <real_tensor P, label_tensor Y>
[[nodiscard]] std::vector<reliability_bin> reliability_diagram(const P& predictions, const Y& y,
                                                               const ece_options& options = {}) {
    const auto [s, labels] = detail::calibration_inputs(predictions, y, options, "blend::metrics::reliability_diagram");
    return detail::reliability_bins(s, labels, options.bins);
}

/// Expected calibration error, sum_b (n_b / N) |accuracy_b - mean_confidence_b| over the bins of
/// `reliability_diagram` (same kernel), N counting every row. 0 for perfectly calibrated bins; at most 1.
/// Throws `invalid_argument` for N = 0 or bins = 0.
template <real_tensor P, label_tensor Y>
[[nodiscard]] double expected_calibration_error(const P& predictions, const Y& y, const ece_options& options = {}) {
    constexpr std::string_view fn = "blend::metrics::expected_calibration_error";
    const auto [s, labels] = detail::calibration_inputs(predictions, y, options, fn);
    detail::require_rows(s.rows, fn);
    double ece = 0.0;
    for (const auto& bin : detail::reliability_bins(s, labels, options.bins)) {
        ece += static_cast<double>(bin.count) * std::abs(bin.accuracy - bin.mean_confidence);
    }
    return ece / static_cast<double>(s.rows);
}

}  // namespace blend::metrics
