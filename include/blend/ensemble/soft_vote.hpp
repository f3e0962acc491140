#pragma once
/// @file blend/ensemble/soft_vote.hpp
/// Soft voting — METHODS.md §2: P = sum_m w_m P_m / sum_m w_m (numpy `average` over members), in
/// float64, for (N, C) probabilities, (N,) binary probabilities or (N,) regression outputs.
/// Reference: scikit-learn `VotingClassifier(voting="soft")`, which averages `predict_proba` with
/// `numpy.average(..., weights=w)`. The same kernel is `combine(..., {.method = combine_method::soft})`
/// (blend/ensemble/combine.hpp); this header keeps the members' own shape ((N, 1) stays (N, 1)).

#include <blend/ensemble/combine.hpp>

#include <span>

namespace blend::ensemble {

/// Options of `soft_vote`.
struct soft_vote_options {
    /// One weight per member; empty means equal weights.
    std::span<const double> weights{};
};

/// Weighted mean of the members' float32/float64 predictions, as float64 with the members' shape.
/// Throws `invalid_argument` for no members, a wrong weight count or weights summing to zero, and
/// `shape_error` when members' shapes differ.
template <std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] xt::xarray<double> soft_vote(const R& members, const soft_vote_options& options = {}) {
    auto result = combine(make_member_block(members), {.method = combine_method::soft, .weights = options.weights});
    result.reshape(tensor_shape(members[0]));
    return result;
}

}  // namespace blend::ensemble
