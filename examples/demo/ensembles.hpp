#pragma once
/// @file examples/demo/ensembles.hpp
/// The prediction ensembles of the demo's table, over every member (the soup ingredients and the
/// diverse members): soft vote, greedy ensemble selection, stacking and a temperature-scaled soft vote.
/// Everything fitted is fitted on the validation split's predictions and scored on the test split.
/// Stacking therefore uses a held-out split (blending), not k-fold out-of-fold predictions: k folds
/// would retrain every member k times, beyond the demo's time budget.

#include "members.hpp"
#include "methods.hpp"

#include <blend/core/tensor_view.hpp>
#include <blend/ensemble/calibration.hpp>
#include <blend/ensemble/member_block.hpp>
#include <blend/ensemble/selection.hpp>
#include <blend/ensemble/soft_vote.hpp>
#include <blend/ensemble/stacking.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace demo {

namespace detail {

/// log max(p, 1e-300) elementwise: logits whose softmax is p (rows of p sum to 1).
[[nodiscard]] inline xt::xtensor<double, 2> log_probabilities(const xt::xtensor<double, 2>& p) {
    xt::xtensor<double, 2> z = xt::xtensor<double, 2>::from_shape(p.shape());
    for (std::size_t i = 0; i < p.size(); ++i) z.data()[i] = std::log(std::max(p.data()[i], 1e-300));
    return z;
}

/// The labels of a split as a span.
[[nodiscard]] inline std::span<const std::int64_t> labels(const dataset& d) { return {d.y.data(), d.y.size()}; }

/// `logit_data` over (N, C) float64 logits and their labels (empty when only applying).
[[nodiscard]] inline blend::ensemble::logit_data logit_view(const xt::xtensor<double, 2>& z, std::span<const std::int64_t> y) {
    return {{blend::dtype::f64, z.data()}, z.shape()[0], z.shape()[1], y};
}

}  // namespace detail

/// The ensemble rows (see the file comment).
[[nodiscard]] inline std::vector<result_row> run_ensembles(const std::vector<member>& members, const splits& data) {
    std::vector<blend::tensor_view<const double>> val, test;  // the members' predictions, not copied
    for (const auto& m : members) {
        val.emplace_back(m.val);
        test.emplace_back(m.test);
    }
    const auto val_block = blend::ensemble::make_member_block(val);
    const auto test_block = blend::ensemble::make_member_block(test);
    std::vector<result_row> rows;

    // Soft vote: the plain mean of every member's probabilities.
    const xt::xtensor<double, 2> vote_val = blend::ensemble::soft_vote(val);
    xt::xtensor<double, 2> vote_test = blend::ensemble::soft_vote(test);
    rows.push_back(ensemble_row("soft vote", fmt::format("mean of all {} members", members.size()), vote_test, data));

    // Greedy ensemble selection (Caruana; AutoGluon's defaults: 25 steps, log loss) on validation.
    const auto selection = blend::ensemble::select_greedy(val_block, detail::labels(data.val), {});
    std::vector<std::string> picked;
    for (std::size_t m = 0; m < members.size(); ++m) {
        if (selection.weights[m] > 0) picked.push_back(fmt::format("{} {:.2f}", members[m].spec.name, selection.weights[m]));
    }
    rows.push_back(ensemble_row("greedy selection", fmt::format("weights: {}", fmt::join(picked, ", ")),
                                blend::ensemble::soft_vote(test, {.weights = selection.weights}), data));

    // Stacking: a multinomial logistic meta-learner (C = 1) on the members' probabilities side by side,
    // fitted on the validation rows (held out from every member's training), applied to the test rows.
    std::size_t width = 0, columns = 0;
    const auto meta_val = blend::ensemble::meta_features(val_block, {}, 0, width);
    const auto meta_test = blend::ensemble::meta_features(test_block, {}, 0, width);
    const auto stacked = blend::ensemble::fit_predict_meta(meta_val, meta_test, detail::labels(data.val), {}, {}, columns);
    rows.push_back(ensemble_row("stacking", fmt::format("logistic meta-learner on {} probabilities, fitted on the validation split", width),
                                xt::adapt(stacked, std::vector<std::size_t>{data.test.rows(), columns}), data));

    // Temperature scaling of the soft vote: logits log p (softmax(log p) = p), T fitted on validation.
    const auto z_val = detail::log_probabilities(vote_val);
    const auto z_test = detail::log_probabilities(vote_test);
    const auto fit = blend::ensemble::fit_temperature(detail::logit_view(z_val, detail::labels(data.val)));
    rows.push_back(ensemble_row("soft vote + temperature", fmt::format("T = {:.3f}", fit.temperature),
                                blend::ensemble::apply_calibration(detail::logit_view(z_test, {}), fit.temperature), data));
    return rows;
}

}  // namespace demo
