#pragma once
/// @file examples/demo/methods.hpp
/// Every row of the demo's table: the members, the weight merges of the soup ingredients (uniform and
/// greedy soup, task arithmetic, TIES) and the prediction ensembles of all members (soft vote, greedy
/// ensemble selection, stacking, temperature scaling). Each is a thin call into blend; the demo only
/// chooses hyper-parameters on the validation split and scores on the test split.

#include "members.hpp"
#include "network.hpp"

#include <blend/core/tensor_view.hpp>
#include <blend/ensemble/soft_vote.hpp>
#include <blend/merge/soup.hpp>
#include <blend/merge/task_arithmetic.hpp>
#include <blend/metrics/calibration_error.hpp>
#include <blend/metrics/classification.hpp>

#include <fmt/format.h>

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace demo {

/// Test-split scores of one row.
struct scores {
    double accuracy = 0.0;
    double nll = 0.0;  ///< log loss, natural log
    double ece = 0.0;  ///< 15 equal-width bins
};

/// Accuracy, log loss and ECE (15 bins) of probabilities `p` against `y`, all from blend::metrics.
[[nodiscard]] inline scores score(const xt::xtensor<double, 2>& p, const xt::xtensor<std::int64_t, 1>& y) {
    return {blend::metrics::accuracy(p, y), blend::metrics::log_loss(p, y), blend::metrics::expected_calibration_error(p, y, {.bins = 15})};
}

/// One row of the table: what it is, how it was made, its test scores and test probabilities.
struct result_row {
    std::string name;
    std::string kind;    ///< "member", "merge" or "ensemble"
    std::string detail;  ///< the choices made on the validation split
    scores test;
    xt::xtensor<double, 2> test_p;
    bool ingredient = false;  ///< a member sharing the soup's initialisation
};

/// The row of a single network (a member or a merged model).
[[nodiscard]] inline result_row network_row(std::string name, std::string kind, std::string detail, const network& net,
                                            const splits& data) {
    auto p = probabilities(net, data.test.x);
    const scores s = score(p, data.test.y);
    return {std::move(name), std::move(kind), std::move(detail), s, std::move(p)};
}

/// The row of an ensemble's test probabilities.
[[nodiscard]] inline result_row ensemble_row(std::string name, std::string detail, xt::xtensor<double, 2> p, const splits& data) {
    const scores s = score(p, data.test.y);
    return {std::move(name), "ensemble", std::move(detail), s, std::move(p)};
}

/// Validation accuracy of the network stored in `dict` (what every merge's choice maximises).
[[nodiscard]] inline double val_accuracy(const state_dict& dict, const splits& data) {
    return blend::metrics::accuracy(probabilities(from_state_dict(dict), data.val.x), data.val.y);
}

/// The merge `merge_one(name, base tensor, views of the models' tensors)` applied tensor by tensor.
[[nodiscard]] inline state_dict merge_tensors(
    const state_dict& base, const std::vector<state_dict>& models,
    const std::function<xt::xarray<float>(const std::string&, const xt::xarray<float>&,
                                          const std::vector<blend::tensor_view<const float>>&)>& merge_one) {
    state_dict out;
    for (const auto& [name, tensor] : base) {
        std::vector<blend::tensor_view<const float>> views;
        for (const auto& model : models) views.emplace_back(model.at(name));
        out.emplace(name, merge_one(name, tensor, views));
    }
    return out;
}

/// A merge chosen on validation accuracy from a grid of settings: the best model and its setting.
struct tuned_merge {
    state_dict model;
    std::string setting;
    double val_accuracy = -1.0;
};

/// Task-vector merges of the ingredients with the shared initialisation as base, B + lambda * mixed:
///   task arithmetic (weights 1, no normalisation): lambda in {0.1, 0.2, 0.3, 0.5, 0.7, 1.0}
///     (lambda = 1/K is the uniform soup);
///   TIES (weights 1, normalised over the agreeing models): density in {0.2, 0.5, 0.8} x lambda in
///     {1, 1.5, 2}.
/// Each grid point is scored by validation accuracy; the first best wins.
[[nodiscard]] inline tuned_merge tune_task_merge(blend::merge::task_method method, const state_dict& base,
                                                 const std::vector<state_dict>& models, const splits& data) {
    std::vector<std::pair<double, double>> grid;  // (density, lambda)
    if (method == blend::merge::task_method::ties) {
        for (double density : {0.2, 0.5, 0.8})
            for (double lambda : {1.0, 1.5, 2.0}) grid.emplace_back(density, lambda);
    } else {
        for (double lambda : {0.1, 0.2, 0.3, 0.5, 0.7, 1.0}) grid.emplace_back(1.0, lambda);
    }
    tuned_merge best;
    for (const auto& [density, lambda] : grid) {
        const double densities[] = {density};
        auto merged = merge_tensors(base, models, [&](const std::string& name, const xt::xarray<float>& b, const auto& views) {
            return blend::merge::task_arithmetic(
                b, views, {.method = method, .densities = densities, .lambda = lambda, .tensor_name = name});
        });
        const double acc = val_accuracy(merged, data);
        if (acc > best.val_accuracy) {
            best = {std::move(merged),
                    method == blend::merge::task_method::ties ? fmt::format("density {}, lambda {}", density, lambda)
                                                              : fmt::format("lambda {}", lambda),
                    acc};
        }
    }
    return best;
}

/// The merged models of the table (uniform soup, greedy soup, task arithmetic, TIES), each with its
/// state dict for saving.
struct merge_results {
    std::vector<result_row> rows;
    std::vector<std::pair<std::string, state_dict>> models;
};

/// Merges the soup ingredients among `members` (see the file comment): the uniform soup, the greedy soup
/// (ingredients ranked and candidate soups scored by validation accuracy), and task arithmetic and TIES
/// with `base` (the shared initialisation) tuned by `tune_task_merge`.
[[nodiscard]] inline merge_results run_merges(const std::vector<member>& members, const state_dict& base, const splits& data) {
    std::vector<state_dict> ingredients;
    std::vector<std::string> names;
    std::vector<double> val_scores;
    for (const auto& m : members) {
        if (!m.spec.ingredient) continue;
        ingredients.push_back(to_state_dict(m.net));
        names.push_back(m.spec.name);
        val_scores.push_back(blend::metrics::accuracy(m.val, data.val.y));
    }
    merge_results out;
    const auto add = [&](std::string name, std::string detail, state_dict model) {
        out.rows.push_back(network_row(name, "merge", std::move(detail), from_state_dict(model), data));
        out.models.emplace_back(std::move(name), std::move(model));
    };
    add("uniform soup", fmt::format("mean of the {} ingredients", ingredients.size()), blend::merge::uniform_soup(ingredients));

    auto greedy = blend::merge::greedy_soup(ingredients, val_scores, [&](const state_dict& soup) { return val_accuracy(soup, data); });
    std::vector<std::string> kept;
    for (const std::size_t k : greedy.kept) kept.push_back(names[k]);
    add("greedy soup", fmt::format("kept {} of {}: {}", kept.size(), ingredients.size(), fmt::join(kept, " ")), std::move(greedy.soup));

    auto ta = tune_task_merge(blend::merge::task_method::task_arithmetic, base, ingredients, data);
    add("task arithmetic", ta.setting, std::move(ta.model));
    auto ties = tune_task_merge(blend::merge::task_method::ties, base, ingredients, data);
    add("TIES", ties.setting, std::move(ties.model));
    return out;
}

}  // namespace demo
