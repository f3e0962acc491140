#pragma once
/// @file blend/ensemble/soft_vote.hpp
/// Soft voting — METHODS.md §2: P = sum_m w_m P_m / sum_m w_m (numpy `average` over members), in
/// float64, for (N, C) probabilities, (N,) binary probabilities or (N,) regression outputs.
/// Reference: scikit-learn `VotingClassifier(voting="soft")`, which averages `predict_proba` with
/// `numpy.average(..., weights=w)`.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <ranges>
#include <span>
#include <vector>

namespace blend::ensemble {

/// Options of `soft_vote`.
struct soft_vote_options {
    /// One weight per member; empty means equal weights.
    std::span<const double> weights{};
};

/// Weighted mean of the members' predictions, as float64 with the members' shape. Throws
/// `invalid_argument` for no members, a wrong weight count or weights summing to zero, and
/// `shape_error` when members' shapes differ.
template <std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>> &&
             std::floating_point<tensor_value_t<std::ranges::range_value_t<R>>>
[[nodiscard]] xt::xarray<double> soft_vote(const R& members, const soft_vote_options& options = {}) {
    const std::size_t count = std::ranges::size(members);
    if (count == 0) throw invalid_argument{"soft_vote: no members"};
    if (!options.weights.empty() && options.weights.size() != count) {
        throw invalid_argument{fmt::format("soft_vote: {} weights for {} members", options.weights.size(), count)};
    }
    double total = 0.0;
    for (std::size_t m = 0; m < count; ++m) total += options.weights.empty() ? 1.0 : options.weights[m];
    if (std::abs(total) < 1e-12) throw invalid_argument{fmt::format("soft_vote: weights sum to zero ({})", total)};

    const shape_type shape = tensor_shape(members[0]);
    auto result = xt::xarray<double>::from_shape(shape);
    result.fill(0.0);
    for (std::size_t m = 0; m < count; ++m) {
        if (tensor_shape(members[m]) != shape) {
            throw shape_error{fmt::format("soft_vote: member {} has shape [{}] but member 0 has [{}]", m,
                                          fmt::join(tensor_shape(members[m]), ", "), fmt::join(shape, ", "))};
        }
        const double w = options.weights.empty() ? 1.0 : options.weights[m];
        const auto* p = tensor_data(members[m]);
        for (std::size_t j = 0; j < result.size(); ++j) result.data()[j] += w * static_cast<double>(p[j]);
    }
    for (double& value : result) value /= total;  // numpy.average: sum(w x) / sum(w)
    return result;
}

}  // namespace blend::ensemble
