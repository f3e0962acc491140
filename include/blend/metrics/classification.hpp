#pragma once
/// @file blend/metrics/classification.hpp
/// Classification metrics — METHODS.md §2 "Metrics", CLI.md `eval`: predicted labels, accuracy,
/// balanced accuracy, log loss (NLL), Brier score, ROC-AUC, and the NLL of a logit ensemble.
///
/// Inputs (read in place, never copied; all math float64):
///   - P: float32/float64 (N, C) class probabilities, or a binary problem's positive-class
///     probabilities (N,) (also (N, 1)), read as the two columns [1 - p, p];
///   - y: integer labels (N,) (also (N, 1)), each in [0, C) (C = 2 for binary P): column c of P is
///     class c. A label outside that range is `invalid_argument`; mismatched row counts `shape_error`;
///     a NaN or infinite prediction `invalid_argument` naming its row and column; N = 0
///     `invalid_argument`.
/// References: scikit-learn 1.2.1 (`accuracy_score`, `balanced_accuracy_score`, `log_loss`,
/// `roc_auc_score`); Brier (1950) in its original multi-class form.

#include <blend/metrics/detail/inputs.hpp>
#include <blend/metrics/detail/numeric.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace blend::metrics {

/// Predicted label of every row: the argmax of the row with ties going to the lowest class index (as
/// numpy's `argmax`); for binary (N,) predictions, 1 when p > 0.5 else 0 (so p = 0.5 gives 0, like the
/// argmax of [0.5, 0.5]). NaN/Inf is an error. N = 0 gives an empty vector.
template <real_tensor P>
[[nodiscard]] std::vector<std::int64_t> predicted_labels(const P& predictions) {
    const auto s = detail::scores_of(predictions, "blend::metrics::predicted_labels");
    std::vector<std::int64_t> labels(s.rows);
    for (std::size_t i = 0; i < s.rows; ++i) labels[i] = detail::row_top_label(s, i).label;
    return labels;
}

/// Accuracy: (1/N) sum_i [predicted_label_i == y_i], with `predicted_labels`' argmax rule. Equals
/// scikit-learn's `accuracy_score(y, P.argmax(1))`.
template <real_tensor P, label_tensor Y>
[[nodiscard]] double accuracy(const P& predictions, const Y& y) {
    constexpr std::string_view fn = "blend::metrics::accuracy";
    const auto s = detail::scores_of(predictions, fn);
    const auto labels = detail::labels_of(y, s.rows, s.cols, fn);
    detail::require_rows(s.rows, fn);
    std::size_t correct = 0;
    for (std::size_t i = 0; i < s.rows; ++i) correct += detail::row_top_label(s, i).label == labels[i] ? 1 : 0;
    return static_cast<double>(correct) / static_cast<double>(s.rows);
}

/// Balanced accuracy: the mean over the classes present in y of each class's recall
/// (correct predictions of class c / rows with y = c). Classes that are predicted but absent from y
/// are ignored, as in scikit-learn's `balanced_accuracy_score` (adjusted = False), which warns there.
template <real_tensor P, label_tensor Y>
[[nodiscard]] double balanced_accuracy(const P& predictions, const Y& y) {
    constexpr std::string_view fn = "blend::metrics::balanced_accuracy";
    const auto s = detail::scores_of(predictions, fn);
    const auto labels = detail::labels_of(y, s.rows, s.cols, fn);
    detail::require_rows(s.rows, fn);
    std::vector<std::size_t> support(s.cols, 0), correct(s.cols, 0);
    for (std::size_t i = 0; i < s.rows; ++i) {
        const auto c = static_cast<std::size_t>(labels[i]);
        ++support[c];
        if (detail::row_top_label(s, i).label == labels[i]) ++correct[c];
    }
    double sum = 0.0;
    std::size_t present = 0;
    for (std::size_t c = 0; c < s.cols; ++c) {
        if (support[c] == 0) continue;
        sum += static_cast<double>(correct[c]) / static_cast<double>(support[c]);
        ++present;
    }
    return sum / static_cast<double>(present);
}

/// Clipping bound of `log_loss`: probabilities are clipped to [log_loss_eps, 1 - log_loss_eps].
inline constexpr double log_loss_eps = 1e-15;

/// Log loss (negative log-likelihood, natural log):
///   q_ic = clip(p_ic, 1e-15, 1 - 1e-15),  loss = (1/N) sum_i -log(q_{i,y_i} / sum_c q_ic).
/// Binary (N,) input: q = clip(p), the row is [1 - q, q] (clipped before expanding, as scikit-learn).
/// Reference: scikit-learn 1.2.1 `log_loss(y, P, eps=1e-15, labels=range(C))`. Deliberate differences:
/// the bound is the fixed 1e-15 of the contract (METHODS.md), while 1.2.1's default eps="auto" is the
/// machine epsilon of P's dtype — they differ only for probabilities below 1e-15 (float64) or 1.2e-7
/// (float32); float32 input is computed in float64 (scikit-learn stays in float32); and classes are
/// P's columns, so a label absent from y needs no `labels=` argument.
template <real_tensor P, label_tensor Y>
[[nodiscard]] double log_loss(const P& predictions, const Y& y) {
    constexpr std::string_view fn = "blend::metrics::log_loss";
    const auto s = detail::scores_of(predictions, fn);
    const auto labels = detail::labels_of(y, s.rows, s.cols, fn);
    detail::require_rows(s.rows, fn);
    const auto clip = [](double p) { return std::clamp(p, log_loss_eps, 1.0 - log_loss_eps); };
    double total = 0.0;
    for (std::size_t i = 0; i < s.rows; ++i) {
        const auto label = static_cast<std::size_t>(labels[i]);
        if (s.binary) {
            const double q = clip(s.positive(i));
            const double row[2] = {1.0 - q, q};
            total -= std::log(row[label] / (row[0] + row[1]));
        } else {
            const auto* row = s.data + i * s.cols;
            double sum = 0.0;
            for (std::size_t c = 0; c < s.cols; ++c) sum += clip(static_cast<double>(row[c]));
            total -= std::log(clip(static_cast<double>(row[label])) / sum);
        }
    }
    return total / static_cast<double>(s.rows);
}

/// Brier score in its original multi-class form: (1/N) sum_i sum_c (p_ic - [c == y_i])^2, no clipping.
/// Binary (N,) input is expanded to the two columns [1 - p, p] first, so the value is twice
/// scikit-learn's `brier_score_loss(y, p)` (which scores the positive column only); range [0, 2].
template <real_tensor P, label_tensor Y>
[[nodiscard]] double brier_score(const P& predictions, const Y& y) {
    constexpr std::string_view fn = "blend::metrics::brier_score";
    const auto s = detail::scores_of(predictions, fn);
    const auto labels = detail::labels_of(y, s.rows, s.cols, fn);
    detail::require_rows(s.rows, fn);
    double total = 0.0;
    for (std::size_t i = 0; i < s.rows; ++i) {
        const auto label = static_cast<std::size_t>(labels[i]);
        for (std::size_t c = 0; c < s.cols; ++c) {
            const double d = s(i, c) - (c == label ? 1.0 : 0.0);
            total += d * d;
        }
    }
    return total / static_cast<double>(s.rows);
}

/// ROC-AUC of a binary problem: the probability that a random positive outscores a random negative,
/// ties counting one half — the Mann-Whitney form AUC = (R_+ - n_+(n_+ + 1)/2) / (n_+ n_-), with R_+
/// the sum of the positives' ranks among all scores in ascending order, tied scores sharing their
/// average rank. O(N log N) (one sort); exact, since ranks are half-integers.
/// S: (N,) scores of the positive class (any real numbers, not only probabilities), (N, 1) likewise, or
/// (N, 2) whose column 1 is used; labels are 0 (negative) or 1 (positive). Throws `invalid_argument`
/// when only one class is present (as scikit-learn's `roc_auc_score`, which it reproduces), and
/// `shape_error` for more than two columns.
template <real_tensor S, label_tensor Y>
[[nodiscard]] double roc_auc(const S& scores, const Y& y) {
    constexpr std::string_view fn = "blend::metrics::roc_auc";
    const auto s = detail::scores_of(scores, fn, "scores");
    if (s.cols != 2) {
        throw shape_error{fmt::format("{}: scores have shape {}; ROC-AUC is binary: expected (N,) or (N, 2)", fn,
                                      detail::shape_text(tensor_shape(scores)))};
    }
    const auto labels = detail::labels_of(y, s.rows, 2, fn);
    // (score, is positive) pairs sorted by score; tie groups share the mean of their ranks.
    std::vector<std::pair<double, bool>> ranked(s.rows);
    for (std::size_t i = 0; i < s.rows; ++i) ranked[i] = {s.binary ? s.positive(i) : s(i, 1), labels[i] == 1};
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    double positive_rank_sum = 0.0;
    std::size_t positives = 0;
    for (std::size_t start = 0; start < s.rows;) {
        std::size_t end = start + 1, group_positives = ranked[start].second ? 1 : 0;
        for (; end < s.rows && ranked[end].first == ranked[start].first; ++end) group_positives += ranked[end].second ? 1 : 0;
        const double rank = 0.5 * static_cast<double>(start + 1 + end);  // mean of ranks start+1 .. end
        positive_rank_sum += rank * static_cast<double>(group_positives);
        positives += group_positives;
        start = end;
    }
    const std::size_t negatives = s.rows - positives;
    if (positives == 0 || negatives == 0) {
        throw invalid_argument{fmt::format("{}: only one class ({}) is present in the {} labels; ROC-AUC is undefined",
                                           fn, positives == 0 ? 0 : 1, s.rows)};
    }
    const auto np = static_cast<double>(positives);
    return (positive_rank_sum - 0.5 * np * (np + 1.0)) / (np * static_cast<double>(negatives));
}

/// NLL of a logit ensemble's mean probability (the "log-mean-exp" score of deep ensembles):
///   loss = -(1/N) sum_i log( (1/M) sum_m softmax(z_m,i)[y_i] )
///        = -(1/N) sum_i ( LSE_m( z_m,i,y_i - LSE_c z_m,i,c ) - log M ),
/// computed in that log-sum-exp form, so it is finite for any finite logits (no clipping, unlike
/// `log_loss`). `members`: a range of (N, C) logit tensors, or one stacked (M, N, C) tensor; binary
/// members (N,) (or (N, 1), stacked (M, N)) hold the positive-class logit z, read as the logits [0, z]
/// (softmax [0, z] = [1 - sigmoid z, sigmoid z]). With one member this is the log loss of softmax(z)
/// without clipping.
template <member_tensors M, label_tensor Y>
    requires std::floating_point<detail::member_value_t<M>>
[[nodiscard]] double ensemble_log_loss_from_logits(const M& members, const Y& y) {
    constexpr std::string_view fn = "blend::metrics::ensemble_log_loss_from_logits";
    const auto list = detail::members_of(members, fn);
    std::vector<detail::score_matrix<detail::member_value_t<M>>> logits;
    logits.reserve(list.size());
    for (const auto* data : list.data) {
        logits.push_back(detail::score_shape(data, list.shape, fn, "logits"));
        const auto& z = logits.back();
        const std::size_t width = z.binary ? 1 : z.cols;
        for (std::size_t j = 0; j < z.stored(); ++j) {
            detail::require_finite(static_cast<double>(z.data[j]), fn, "logits", j / width, j % width);
        }
    }
    const std::size_t rows = logits.front().rows;
    const auto labels = detail::labels_of(y, rows, logits.front().cols, fn);
    detail::require_rows(rows, fn);
    std::vector<double> member_log_p(logits.size());
    const double log_members = std::log(static_cast<double>(logits.size()));
    double total = 0.0;
    for (std::size_t i = 0; i < rows; ++i) {
        const auto label = static_cast<std::size_t>(labels[i]);
        for (std::size_t m = 0; m < logits.size(); ++m) {
            const auto& z = logits[m];
            if (z.binary) {
                const double v = z.positive(i);
                member_log_p[m] = (label == 1 ? v : 0.0) - detail::log1p_exp(v);
            } else {
                const auto* row = z.data + i * z.cols;
                member_log_p[m] = static_cast<double>(row[label]) - detail::log_sum_exp(row, z.cols);
            }
        }
        total -= detail::log_sum_exp(member_log_p.data(), member_log_p.size()) - log_members;
    }
    return total / static_cast<double>(rows);
}

}  // namespace blend::metrics
