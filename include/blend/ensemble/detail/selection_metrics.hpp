#pragma once
/// @file blend/ensemble/detail/selection_metrics.hpp
/// The metrics greedy selection can optimise, as errors (optimum - score, lower is better, AutoGluon's
/// `as_error`): log loss, Brier and RMSE are their own errors; accuracy, balanced accuracy and ROC-AUC give
/// 1 - score. The generic path evaluates them through blend::metrics on the float64 candidate.

#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/ensemble/member_block.hpp>
#include <blend/metrics/classification.hpp>
#include <blend/metrics/regression.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace blend::ensemble {

/// Which tool's semantics `select_greedy` follows (blend/ensemble/selection.hpp).
enum class selection_mode {
    autogluon,
    autosklearn
};

/// Metric optimised by greedy selection (CLI.md `select --metric`).
enum class selection_metric {
    automatic,
    log_loss,
    accuracy,
    balanced_accuracy,
    brier,
    roc_auc,
    rmse
};

/// A host-supplied error of a candidate ensemble: its N * C float64 values (row-major) and C.
using selection_loss = std::function<double(std::span<const double>, std::size_t)>;

/// The metric named as on the command line (`log_loss`, `accuracy`, `balanced_accuracy`, `brier`,
/// `roc_auc`, `rmse`); throws `invalid_argument` naming an unknown one.
[[nodiscard]] inline selection_metric parse_selection_metric(std::string_view name) {
    if (name == "log_loss") return selection_metric::log_loss;
    if (name == "accuracy") return selection_metric::accuracy;
    if (name == "balanced_accuracy") return selection_metric::balanced_accuracy;
    if (name == "brier") return selection_metric::brier;
    if (name == "roc_auc") return selection_metric::roc_auc;
    if (name == "rmse") return selection_metric::rmse;
    throw invalid_argument{fmt::format(
        "unknown metric '{}' (expected log_loss, accuracy, balanced_accuracy, brier, roc_auc or rmse)",
        name)};
}

namespace detail {

/// `automatic` → log loss (classification) or RMSE (regression); rejects a metric that does not fit the task.
[[nodiscard]] inline selection_metric resolve_metric(selection_metric metric, bool regression,
                                                     std::size_t columns) {
    if (metric == selection_metric::automatic)
        return regression ? selection_metric::rmse : selection_metric::log_loss;
    if (regression != (metric == selection_metric::rmse))
        throw invalid_argument{fmt::format("select: metric {} does not fit a {} task",
                                           static_cast<int>(metric),
                                           regression ? "regression" : "classification")};
    if (metric == selection_metric::roc_auc && columns != 1)
        throw invalid_argument{"select: roc_auc needs binary (N,) predictions"};
    return metric;
}

/// The error of `metric` on a candidate, through blend::metrics, as a `selection_loss` (labels copied).
[[nodiscard]] inline selection_loss metric_loss(selection_metric metric, const member_block& block,
                                                std::span<const std::int64_t> labels,
                                                std::span<const double> targets) {
    const std::size_t rows = block.rows;
    if (metric == selection_metric::rmse) {
        return [target = std::vector<double>(targets.begin(), targets.end()), rows](std::span<const double> p,
                                                                                    std::size_t) {
            const tensor_view<const double> pv{p, {rows}};
            const tensor_view<const double> yv{std::span<const double>(target), {rows}};
            return metrics::rmse(pv, yv);
        };
    }
    return [y = std::vector<std::int64_t>(labels.begin(), labels.end()), metric, rows](
               std::span<const double> p, std::size_t columns) {
        const tensor_view<const double> pv{p, columns == 1 ? shape_type{rows} : shape_type{rows, columns}};
        const tensor_view<const std::int64_t> yv{std::span<const std::int64_t>(y), {rows}};
        switch (metric) {
            case selection_metric::log_loss: return metrics::log_loss(pv, yv);
            case selection_metric::accuracy: return 1.0 - metrics::accuracy(pv, yv);
            case selection_metric::balanced_accuracy: return 1.0 - metrics::balanced_accuracy(pv, yv);
            case selection_metric::brier: return metrics::brier_score(pv, yv);
            case selection_metric::roc_auc: return 1.0 - metrics::roc_auc(pv, yv);
            default: break;
        }
        BLEND_ASSERT(false, "metric resolved before building the loss");
        return 0.0;
    };
}

}  // namespace detail
}  // namespace blend::ensemble
