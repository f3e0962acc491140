#pragma once
/// @file blend/ensemble/selection.hpp
/// Greedy ensemble selection with replacement (Caruana et al., "Ensemble Selection from Libraries of
/// Models", ICML 2004) — METHODS.md §2, in AutoGluon's and auto-sklearn's semantics.
///
/// Step i (s = i models chosen so far, counts n_k): every member j is scored as the candidate
///   AutoGluon:    (s/(s+1)) E + P_j/(s+1),  E the running mean of the chosen members, rows
///                 renormalised for multiclass (`EnsembleSelection._fit`, autogluon.core 1.x);
///   auto-sklearn: (S + P_j) / (s+1),        S the running sum, no renormalisation;
/// the member with the lowest error (metric optimum - score) is appended. AutoGluon mode rounds every
/// score to 6 decimals (numpy `round`: rint(x 1e6)/1e6) from step 2 on when the first step's best |error|
/// exceeds 1e-4 (the first best is rounded too); ties are scores within rtol 1e-12 of the minimum
/// (numpy `isclose`) → prefer members already chosen, then the lowest index (AutoGluon draws at random:
/// deliberate deviation); `use_best` keeps the steps up to the first minimum of the trajectory. auto-sklearn
/// mode: 50 steps, ties → lowest index, every step kept. Weights = counts over the kept steps / kept.
///
/// Scoring paths (same results, chosen automatically):
///   * log loss → true-class probabilities only (detail/selection_kernels.hpp), exact for rows that need no
///     clipping, screened in float32 and decided in float64; * Brier, RMSE → member Gram matrix, O(M^2) per
///     step, when the candidate needs no renormalisation (auto-sklearn mode, single-column members, or member
///     rows summing to 1 within 1e-12);
///   * anything else (accuracy, balanced accuracy, ROC-AUC, a host loss) → the candidate is built in float64
///     and the metric evaluated, candidates in parallel.
/// The fast paths carry ~1e-15 relative rounding noise, so in auto-sklearn mode ties are also detected with
/// rtol 1e-12 rather than exact equality (a documented deviation, visible only for rounding-level ties).
/// Members stay in their own precision (float32 is read in place, never copied) unless `max_rows`
/// subsamples the rows (AutoGluon caps at 1M; blend draws the subset with its seeded Philox stream, so
/// the subset differs from numpy's).

#include <blend/core/error.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/ensemble/detail/selection_kernels.hpp>
#include <blend/ensemble/detail/selection_metrics.hpp>
#include <blend/ensemble/detail/selection_scorers.hpp>
#include <blend/ensemble/member_block.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <span>
#include <vector>

namespace blend::ensemble {

/// Options of `select_greedy` (defaults as METHODS.md §2).
struct selection_options {
    selection_mode mode = selection_mode::autogluon;
    /// `automatic`: log loss for classification, RMSE for regression.
    selection_metric metric = selection_metric::automatic;
    /// Number of steps; 0 means 25 (autogluon) or 50 (autosklearn).
    std::size_t size = 0;
    /// When non-zero and smaller than N, select on this many rows drawn without replacement (seeded).
    std::size_t max_rows = 0;
    std::uint64_t seed = 0;
    /// A host-supplied error (lower is better) of a candidate: (N * C float64 values, C). Overrides `metric`.
    selection_loss loss{};
};

/// Outcome of `select_greedy`: `order` and `trajectory` (the chosen error after each step) cover every step
/// run; `weights` (one per member, summing to 1) come from the first `kept` steps.
struct selection_result {
    std::vector<double> weights;
    std::vector<std::size_t> order;
    std::vector<double> trajectory;
    std::size_t kept = 0;
};

namespace detail {

/// numpy's `round(x, 6)`: rint(x * 10^6) / 10^6.
[[nodiscard]] inline double round6(double x) { return std::nearbyint(x * 1e6) / 1e6; }

/// Rows [rows...] of every member, copied to float64 (only used when subsampling).
struct owned_block {
    std::vector<std::vector<double>> storage;
    member_block block;
};

[[nodiscard]] inline owned_block subsample_block(const member_block& in, std::span<const std::size_t> rows) {
    owned_block out;
    out.block = member_block{
        .rows = rows.size(), .columns = in.columns, .vector_input = in.vector_input, .members = {}};
    out.storage.resize(in.size());
    for (std::size_t m = 0; m < in.size(); ++m) {
        auto& dst = out.storage[m];
        dst.resize(rows.size() * in.columns);
        with_member_data(in.members[m], [&](const auto* p) {
            for (std::size_t i = 0; i < rows.size(); ++i)
                for (std::size_t c = 0; c < in.columns; ++c)
                    dst[i * in.columns + c] = static_cast<double>(p[rows[i] * in.columns + c]);
        });
        out.block.members.push_back({dtype::f64, dst.data()});
    }
    return out;
}

/// `count` distinct row indices of [0, n), sorted, from the seeded stream (partial Fisher-Yates).
[[nodiscard]] inline std::vector<std::size_t> draw_rows(std::size_t n, std::size_t count,
                                                        std::uint64_t seed) {
    std::vector<std::size_t> index(n);
    std::iota(index.begin(), index.end(), std::size_t{0});
    const random_stream stream{seed, stream_key("ensemble_selection.rows", 0)};
    for (std::size_t i = 0; i < count; ++i) {
        const auto j = i + static_cast<std::size_t>(stream.uniform(i) * static_cast<double>(n - i));
        std::swap(index[i], index[std::min(j, n - 1)]);
    }
    index.resize(count);
    std::sort(index.begin(), index.end());
    return index;
}

/// The greedy loop (see the file comment) over an already-validated block.
[[nodiscard]] inline selection_result run_greedy(const member_block& block, candidate_scorer& scorer,
                                                 const selection_options& options, std::size_t steps) {
    const std::size_t count = block.size();
    const bool autogluon = options.mode == selection_mode::autogluon;
    selection_result result;
    std::vector<double> errors(count);
    std::vector<std::size_t> counts(count, 0);
    bool round_scores = false;
    for (std::size_t i = 0; i < steps; ++i) {
        scorer.score(i, errors);
        if (round_scores)
            for (double& e : errors) e = round6(e);
        double best_error = std::numeric_limits<double>::infinity();
        for (double e : errors)
            if (!std::isnan(e)) best_error = std::min(best_error, e);
        if (std::isinf(best_error) && best_error > 0)
            throw invalid_argument{
                fmt::format("select_greedy: every candidate's error is NaN or infinite at step {}", i + 1)};
        auto tied = [&](std::size_t j) {
            return std::abs(errors[j] - best_error) <= 1e-12 * std::abs(best_error);
        };
        std::size_t best = count;
        if (autogluon && i > 0)
            for (std::size_t j = 0; j < count && best == count; ++j)
                if (counts[j] > 0 && tied(j)) best = j;
        for (std::size_t j = 0; j < count && best == count; ++j)
            if (tied(j)) best = j;
        double chosen = errors[best];
        if (autogluon && i == 0 && std::abs(chosen) > 1e-4) {
            round_scores = true;
            chosen = round6(chosen);
        }
        ++counts[best];
        scorer.add(best, i + 1);
        result.order.push_back(best);
        result.trajectory.push_back(chosen);
        if (count == 1) break;
    }
    result.kept = result.order.size();
    if (autogluon) {
        const auto first_min = std::min_element(result.trajectory.begin(), result.trajectory.end());
        result.kept = static_cast<std::size_t>(first_min - result.trajectory.begin()) + 1;
    }
    result.weights.assign(count, 0.0);
    for (std::size_t i = 0; i < result.kept; ++i) result.weights[result.order[i]] += 1.0;
    for (double& w : result.weights) w /= static_cast<double>(result.kept);
    return result;
}

}  // namespace detail

/// Greedy ensemble selection over `block`'s members (see the file comment for the exact semantics).
/// `labels` are class indices 0..C-1 (multiclass (N, C) members) or 0/1 (single-column members: binary
/// positive-class probabilities) when `targets` is empty; regression passes `targets` (N float64) and
/// leaves `labels` empty. Throws `invalid_argument` for a label out of range, a metric that does not fit
/// the task, or size 0 after defaulting; `shape_error` when the label count is not N.
[[nodiscard]] inline selection_result select_greedy(const member_block& block,
                                                    std::span<const std::int64_t> labels,
                                                    std::span<const double> targets,
                                                    const selection_options& options = {}) {
    const bool regression = !targets.empty();
    const std::size_t n = block.rows;
    if (block.size() == 0) throw invalid_argument{"select_greedy: no members"};
    if ((regression ? targets.size() : labels.size()) != n)
        throw shape_error{fmt::format("select_greedy: {} labels for {} prediction rows",
                                      regression ? targets.size() : labels.size(), n)};
    const std::int64_t classes = block.columns == 1 ? 2 : static_cast<std::int64_t>(block.columns);
    if (!regression)
        for (std::size_t r = 0; r < n; ++r)
            if (labels[r] < 0 || labels[r] >= classes)
                throw invalid_argument{fmt::format("select_greedy: label {} at row {} is outside [0, {})",
                                                   labels[r], r, classes)};
    const std::size_t steps =
        options.size != 0 ? options.size : (options.mode == selection_mode::autogluon ? 25 : 50);

    detail::owned_block sub;
    std::vector<std::int64_t> sub_labels;
    std::vector<double> sub_targets;
    const member_block* use = &block;
    if (options.max_rows != 0 && options.max_rows < n) {
        const auto rows = detail::draw_rows(n, options.max_rows, options.seed);
        sub = detail::subsample_block(block, rows);
        for (std::size_t r : rows)
            regression ? sub_targets.push_back(targets[r]) : sub_labels.push_back(labels[r]);
        use = &sub.block;
        labels = sub_labels;
        targets = sub_targets;
    }

    const selection_metric metric = detail::resolve_metric(options.metric, regression, block.columns);
    std::unique_ptr<detail::candidate_scorer> scorer;
    if (options.loss) {
        scorer = std::make_unique<detail::generic_scorer>(*use, options.loss, options.mode);
    } else if (metric == selection_metric::log_loss) {
        scorer = std::make_unique<detail::log_loss_scorer>(*use, labels, options.mode);
    } else if ((metric == selection_metric::brier || metric == selection_metric::rmse) &&
               (options.mode == selection_mode::autosklearn || detail::rows_normalised(*use))) {
        scorer = std::make_unique<detail::squared_error_scorer>(*use, labels, targets, metric);
    } else {
        scorer = std::make_unique<detail::generic_scorer>(
            *use, detail::metric_loss(metric, *use, labels, targets), options.mode);
    }
    return detail::run_greedy(*use, *scorer, options, steps);
}

}  // namespace blend::ensemble
