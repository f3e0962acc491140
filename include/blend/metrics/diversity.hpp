#pragma once
/// @file blend/metrics/diversity.hpp
/// Ensemble diversity — METHODS.md §2 "Diversity": the pairwise oracle measures of classifiers
/// (disagreement, Q-statistic, double fault) and the ambiguity decomposition of a weighted-average
/// regression ensemble.
///
/// Pairwise measures (Kuncheva & Whitaker 2003, "Measures of diversity in classifier ensembles and their
/// relationship with the ensemble accuracy", Machine Learning 51; Kuncheva 2004, "Combining Pattern
/// Classifiers"). For members a, b over N rows, count N11 (both right), N00 (both wrong), N10 (a right,
/// b wrong), N01 (a wrong, b right):
///   disagreement = (N01 + N10) / N
///   Q            = (N11 N00 - N01 N10) / (N11 N00 + N01 N10)
///   double fault = N00 / N
/// and each measure's mean over the M(M-1)/2 pairs a < b.
/// Deliberate choice: Q is 0/0 when the denominator vanishes (e.g. a member right on every row);
/// blend returns 0 there — the value of independent members — so the mean stays finite (Kuncheva
/// leaves it undefined; DESlib's `Q_statistic` divides by zero).
///
/// Ambiguity decomposition (Krogh & Vedelsby 1995, "Neural network ensembles, cross validation, and
/// active learning"): with weights w_m >= 0 normalised to sum 1 and f̄ = sum_m w_m f_m, per row
///   (f̄ - y)^2 = sum_m w_m (f_m - y)^2 - sum_m w_m (f_m - f̄)^2,
/// i.e. ensemble error = mean member error - ambiguity; blend reports the three terms averaged over rows.

#include <blend/metrics/detail/inputs.hpp>

#include <fmt/format.h>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <ranges>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace blend::metrics {

/// One member's predicted labels: an integer tensor (N,), or a contiguous range of integers such as
/// the `std::vector<std::int64_t>` of `predicted_labels`.
template <class S>
concept label_sequence = label_tensor<S> || (std::ranges::contiguous_range<const S> &&
                                             std::ranges::sized_range<const S> &&
                                             std::integral<std::ranges::range_value_t<const S>>);

/// Members' predicted labels: a random-access range of `label_sequence`s, or one (M, N) integer tensor.
template <class M>
concept member_labels = label_tensor<M> || (std::ranges::random_access_range<const M> &&
                                            std::ranges::sized_range<const M> &&
                                            label_sequence<std::ranges::range_value_t<const M>>);

/// The pairwise measures: M x M matrices (symmetric; the diagonal is each formula applied to a member
/// with itself: disagreement 0, double fault its error rate, Q 1 or 0) and their means over pairs a < b.
struct pairwise_diversity_result {
    xt::xtensor<double, 2> disagreement;
    xt::xtensor<double, 2> q_statistic;
    xt::xtensor<double, 2> double_fault;
    double mean_disagreement = 0.0;
    double mean_q_statistic = 0.0;
    double mean_double_fault = 0.0;
};

namespace detail {

/// Pointer and length of one `label_sequence`.
template <label_sequence S>
[[nodiscard]] auto label_span(const S& s) {
    if constexpr (label_tensor<S>) {
        return std::span(tensor_data(s), tensor_size(s));
    } else {
        return std::span(std::ranges::data(s), std::ranges::size(s));
    }
}

/// correct[m * N + i] = 1 when member m's label of row i equals y_i.
template <class L, class Y>
void mark_correct(std::span<const L> member, const Y* y, std::size_t rows, std::uint8_t* correct) {
    for (std::size_t i = 0; i < rows; ++i) correct[i] = static_cast<std::int64_t>(member[i]) == static_cast<std::int64_t>(y[i]) ? 1 : 0;
}

}  // namespace detail

/// Pairwise disagreement, Q-statistic and double fault of M >= 2 members' predicted labels against the
/// true labels `y` (integer (N,) or (N, 1)); labels are compared for equality only (any integers). See
/// the file comment for the formulas and the 0/0 rule of Q. Throws `invalid_argument` for fewer than two
/// members or N = 0, `shape_error` when a member's length differs from N or stacked labels are not 2-D.
template <member_labels M, label_tensor Y>
[[nodiscard]] pairwise_diversity_result pairwise_diversity(const M& members, const Y& y) {
    constexpr std::string_view fn = "blend::metrics::pairwise_diversity";
    const shape_type y_shape = tensor_shape(y);
    if (!(y_shape.size() == 1 || (y_shape.size() == 2 && y_shape[1] == 1))) {
        throw shape_error{fmt::format("{}: labels have shape {}; expected (N,)", fn, detail::shape_text(y_shape))};
    }
    const std::size_t rows = y_shape[0];
    detail::require_rows(rows, fn);
    std::vector<std::uint8_t> correct;
    std::size_t count = 0;
    const auto add_member = [&](auto member, std::size_t m) {
        if (member.size() != rows) {
            throw shape_error{fmt::format("{}: member {} has {} labels but y has {}", fn, m, member.size(), rows)};
        }
        correct.resize((m + 1) * rows);
        detail::mark_correct(member, tensor_data(y), rows, correct.data() + m * rows);
    };
    if constexpr (label_tensor<M>) {
        const shape_type s = tensor_shape(members);
        if (s.size() != 2) {
            throw shape_error{fmt::format("{}: stacked member labels have shape {}; expected (M, N)", fn, detail::shape_text(s))};
        }
        count = s[0];
        for (std::size_t m = 0; m < count; ++m) add_member(std::span(tensor_data(members) + m * s[1], s[1]), m);
    } else {
        count = std::ranges::size(members);
        for (std::size_t m = 0; m < count; ++m) add_member(detail::label_span(members[m]), m);
    }
    if (count < 2) throw invalid_argument{fmt::format("{}: {} member(s); pairwise measures need at least 2", fn, count)};

    pairwise_diversity_result out{xt::xtensor<double, 2>::from_shape({count, count}),
                                  xt::xtensor<double, 2>::from_shape({count, count}),
                                  xt::xtensor<double, 2>::from_shape({count, count}), 0.0, 0.0, 0.0};
    std::vector<std::size_t> right(count, 0);
    for (std::size_t m = 0; m < count; ++m) {
        for (std::size_t i = 0; i < rows; ++i) right[m] += correct[m * rows + i];
    }
    const auto n = static_cast<double>(rows);
    for (std::size_t a = 0; a < count; ++a) {
        for (std::size_t b = a; b < count; ++b) {
            std::size_t both = 0;
            const std::uint8_t* ca = correct.data() + a * rows;
            const std::uint8_t* cb = correct.data() + b * rows;
            for (std::size_t i = 0; i < rows; ++i) both += ca[i] & cb[i];
            const auto n11 = static_cast<double>(both);
            const auto n10 = static_cast<double>(right[a] - both);
            const auto n01 = static_cast<double>(right[b] - both);
            const double n00 = n - n11 - n10 - n01;
            const double q_den = n11 * n00 + n01 * n10;
            const double q = q_den == 0.0 ? 0.0 : (n11 * n00 - n01 * n10) / q_den;
            out.disagreement(a, b) = out.disagreement(b, a) = (n01 + n10) / n;
            out.q_statistic(a, b) = out.q_statistic(b, a) = q;
            out.double_fault(a, b) = out.double_fault(b, a) = n00 / n;
            if (a == b) continue;
            out.mean_disagreement += (n01 + n10) / n;
            out.mean_q_statistic += q;
            out.mean_double_fault += n00 / n;
        }
    }
    const double pairs = 0.5 * static_cast<double>(count) * static_cast<double>(count - 1);
    out.mean_disagreement /= pairs;
    out.mean_q_statistic /= pairs;
    out.mean_double_fault /= pairs;
    return out;
}

/// Options of `ambiguity_decomposition`.
struct ambiguity_options {
    /// One weight >= 0 per member, normalised to sum 1; empty means equal weights.
    std::span<const double> weights{};
};

/// The three terms of the ambiguity decomposition, each averaged over rows:
/// `ensemble_error` = mean (f̄ - y)^2, `mean_member_error` = mean sum_m w_m (f_m - y)^2,
/// `ambiguity` = mean sum_m w_m (f_m - f̄)^2; ensemble_error = mean_member_error - ambiguity.
struct ambiguity_result {
    double ensemble_error = 0.0;
    double mean_member_error = 0.0;
    double ambiguity = 0.0;
};

/// Ambiguity decomposition (file comment) of a weighted-average regression ensemble: `members` a range
/// of float32/float64 (N,) (or (N, 1)) predictions or one stacked (M, N) tensor, `target` (N,) of any
/// arithmetic type. The identity holds to rounding (~1e-15 relative). Throws `invalid_argument` for no
/// rows or members, non-finite values, a wrong weight count, negative weights or a zero weight sum;
/// `shape_error` when shapes differ.
template <member_tensors M, tensor T>
    requires std::floating_point<detail::member_value_t<M>> && std::is_arithmetic_v<tensor_value_t<T>>
[[nodiscard]] ambiguity_result ambiguity_decomposition(const M& members, const T& target,
                                                       const ambiguity_options& options = {}) {
    constexpr std::string_view fn = "blend::metrics::ambiguity_decomposition";
    const auto list = detail::members_of(members, fn);
    const auto y = detail::column_of(target, fn, "targets");
    if (!(list.shape.size() == 1 || (list.shape.size() == 2 && list.shape[1] == 1)) || list.shape[0] != y.size) {
        throw shape_error{fmt::format("{}: members have shape {} but there are {} targets; expected ({},)", fn,
                                      detail::shape_text(list.shape), y.size, y.size)};
    }
    detail::require_rows(y.size, fn);
    const std::size_t count = list.size();
    if (!options.weights.empty() && options.weights.size() != count) {
        throw invalid_argument{fmt::format("{}: {} weights for {} members", fn, options.weights.size(), count)};
    }
    std::vector<double> w(count, 1.0);
    double total = 0.0;
    for (std::size_t m = 0; m < count; ++m) {
        if (!options.weights.empty()) w[m] = options.weights[m];
        if (!(w[m] >= 0.0) || !std::isfinite(w[m])) {
            throw invalid_argument{fmt::format("{}: weight {} is {}; weights must be finite and >= 0", fn, m, w[m])};
        }
        total += w[m];
    }
    if (!(total > 0.0)) throw invalid_argument{fmt::format("{}: weights sum to {}", fn, total)};
    for (double& v : w) v /= total;
    for (std::size_t m = 0; m < count; ++m) {
        for (std::size_t i = 0; i < y.size; ++i) {
            detail::require_finite(static_cast<double>(list.data[m][i]), fn, "member predictions", i, m);
        }
    }
    ambiguity_result out;
    for (std::size_t i = 0; i < y.size; ++i) {
        double mean = 0.0;
        for (std::size_t m = 0; m < count; ++m) mean += w[m] * static_cast<double>(list.data[m][i]);
        double member_error = 0.0, spread = 0.0;
        for (std::size_t m = 0; m < count; ++m) {
            const auto f = static_cast<double>(list.data[m][i]);
            member_error += w[m] * (f - y[i]) * (f - y[i]);
            spread += w[m] * (f - mean) * (f - mean);
        }
        out.ensemble_error += (mean - y[i]) * (mean - y[i]);
        out.mean_member_error += member_error;
        out.ambiguity += spread;
    }
    const auto n = static_cast<double>(y.size);
    out.ensemble_error /= n;
    out.mean_member_error /= n;
    out.ambiguity /= n;
    return out;
}

}  // namespace blend::metrics
