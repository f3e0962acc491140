#pragma once
/// @file blend/ensemble/cmaes.hpp
/// Ensemble weights by CMA-ES (CLI.md `select --method cmaes`): minimise the validation error of the
/// weighted mean of the members' predictions, sum_m w_m P_m, with w = softmax(z) over z in R^M.
///
/// Defaults: population 4 + floor(3 ln M), sigma 0.2, budget 50 M evaluations, seed 0; the search starts
/// at the single best member: z = 0 except z_best = ln(9 (M - 1)), i.e. weight 0.9 on the best member and
/// the rest spread evenly (a softmax cannot reach a one-hot vector). The one-hot single best is scored too
/// and returned when nothing beats it, so the result's loss is never worse than the single best member's.
/// Log loss is evaluated on true-class probabilities (selection_kernels.hpp), other metrics on the
/// float64 mix through blend::metrics. Deterministic for a seed, for any thread count. The optimiser is
/// detail/cmaes_core.hpp (Hansen's tutorial defaults).

#include <blend/ensemble/detail/cmaes_core.hpp>
#include <blend/ensemble/selection.hpp>

#include <cmath>
#include <limits>
#include <span>
#include <vector>

namespace blend::ensemble {

/// Options of `select_cmaes`.
struct cmaes_options {
    /// `automatic`: log loss (classification) or RMSE (regression).
    selection_metric metric = selection_metric::automatic;
    double sigma = 0.2;
    /// 0 means 4 + floor(3 ln M).
    std::size_t population = 0;
    /// Evaluations per member: the budget is this times M.
    std::size_t evaluations_per_member = 50;
    std::uint64_t seed = 0;
    /// A host-supplied error of the mix (N * C values, C), overriding `metric`.
    selection_loss loss{};
};

/// The softmax of z (shifted by its maximum for stability).
[[nodiscard]] inline std::vector<double> softmax_weights(std::span<const double> z) {
    double top = -std::numeric_limits<double>::infinity();
    for (double v : z) top = std::max(top, v);
    std::vector<double> w(z.size());
    double total = 0.0;
    for (std::size_t i = 0; i < z.size(); ++i) total += (w[i] = std::exp(z[i] - top));
    for (double& v : w) v /= total;
    return w;
}

namespace detail {

/// The error of the weighted mix sum_m w_m P_m, by the true-class table (log loss) or the generic loss.
class mix_error {
public:
    mix_error(const member_block& block, std::span<const std::int64_t> labels, selection_loss loss,
              bool log_loss)
        : block_{block}, loss_{std::move(loss)} {
        if (log_loss) table_ = gather_true_class(block, labels);
    }

    [[nodiscard]] double operator()(std::span<const double> w) const {
        const std::size_t n = block_.rows, count = block_.size();
        if (!table_.p.empty()) {
            double total = 0.0;
            for (std::size_t r = 0; r < n; ++r) {
                double q = 0.0, s = 0.0;
                for (std::size_t m = 0; m < count; ++m) {
                    q += w[m] * table_.p[m * n + r];
                    s += w[m] * (table_.row_sum.empty() ? 1.0 : table_.row_sum[m * n + r]);
                }
                if (block_.columns > 1) q /= s;
                total += std::log(std::min(std::max(q, log_loss_eps), 1.0 - log_loss_eps));
            }
            return -total / static_cast<double>(n);
        }
        std::vector<double> mix(n * block_.columns, 0.0);
        for (std::size_t m = 0; m < count; ++m) {
            if (w[m] == 0.0) continue;
            with_member_data(block_.members[m], [&](const auto* p) {
                for (std::size_t i = 0; i < mix.size(); ++i) mix[i] += w[m] * static_cast<double>(p[i]);
            });
        }
        return loss_(mix, block_.columns);
    }

private:
    const member_block& block_;
    selection_loss loss_;
    true_class_table table_;
};

}  // namespace detail

/// CMA-ES ensemble weights (see the file comment). `labels`/`targets` as for `select_greedy`. The result
/// has the weights, an empty `order`, `kept` 0, and in `trajectory` the best error after each generation
/// (never above the single best member's error).
[[nodiscard]] inline selection_result select_cmaes(const member_block& block,
                                                   std::span<const std::int64_t> labels,
                                                   std::span<const double> targets,
                                                   const cmaes_options& options = {}) {
    const bool regression = !targets.empty();
    const std::size_t count = block.size();
    if (count == 0) throw invalid_argument{"select_cmaes: no members"};
    if ((regression ? targets.size() : labels.size()) != block.rows)
        throw shape_error{fmt::format("select_cmaes: {} labels for {} prediction rows",
                                      regression ? targets.size() : labels.size(), block.rows)};
    const std::int64_t classes = block.columns == 1 ? 2 : static_cast<std::int64_t>(block.columns);
    if (!regression)
        for (std::size_t r = 0; r < block.rows; ++r)
            if (labels[r] < 0 || labels[r] >= classes)
                throw invalid_argument{fmt::format("select_cmaes: label {} at row {} is outside [0, {})",
                                                   labels[r], r, classes)};
    if (!(options.sigma > 0.0))
        throw invalid_argument{fmt::format("select_cmaes: sigma must be positive, got {}", options.sigma)};

    const selection_metric metric = detail::resolve_metric(options.metric, regression, block.columns);
    const bool fast_log_loss = !options.loss && metric == selection_metric::log_loss;
    selection_loss loss = options.loss ? options.loss : detail::metric_loss(metric, block, labels, targets);
    const detail::mix_error error{block, labels, loss, fast_log_loss};

    // The single best member, scored exactly as a one-hot weight vector.
    std::vector<double> single(count);
    parallel_for(count, 1, [&](std::size_t begin, std::size_t end) {
        std::vector<double> one_hot(count);
        for (std::size_t m = begin; m < end; ++m) {
            std::fill(one_hot.begin(), one_hot.end(), 0.0);
            one_hot[m] = 1.0;
            single[m] = error(one_hot);
        }
    });
    const auto best =
        static_cast<std::size_t>(std::min_element(single.begin(), single.end()) - single.begin());
    selection_result result;
    result.weights.assign(count, 0.0);
    result.weights[best] = 1.0;
    if (count == 1) {
        result.trajectory.push_back(single[0]);
        return result;
    }
    std::vector<double> z0(count, 0.0);
    z0[best] = std::log(9.0 * static_cast<double>(count - 1));
    const auto outcome =
        detail::cmaes_minimize([&](std::span<const double> z) { return error(softmax_weights(z)); }, z0,
                               {.sigma = options.sigma,
                                .population = options.population,
                                .budget = options.evaluations_per_member * count,
                                .seed = options.seed});
    for (double v : outcome.history) result.trajectory.push_back(std::min(v, single[best]));
    if (outcome.value < single[best]) result.weights = softmax_weights(outcome.x);
    return result;
}

}  // namespace blend::ensemble
