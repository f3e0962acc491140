#pragma once
/// @file blend/ensemble/hard_vote.hpp
/// Hard (majority) voting — METHODS.md §2, CLI.md `combine --method hard`: each member votes for its
/// predicted label (the row's argmax, ties to the lowest class as numpy; for single-column members
/// the label p > 0.5), the votes are counted with the members' weights, and the label with the
/// largest weighted count wins, ties going to the smallest label.
/// Reference: scikit-learn `VotingClassifier(voting="hard")`, i.e.
/// `argmax(bincount(labels_of_row, weights=w))`.

#include <blend/ensemble/detail/combine_kernels.hpp>
#include <blend/ensemble/member_block.hpp>

#include <blend/core/detail/xtensor.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace blend::ensemble {

/// Options of `hard_vote`.
struct hard_vote_options {
    /// One weight per member (finite, non-zero sum); empty means one vote each.
    std::span<const double> weights{};
};

/// Member `m`'s predicted label of every row, written to `labels` (N entries).
inline void member_labels(const member_block& block, std::size_t m, std::span<std::int64_t> labels) {
    const std::size_t c = block.columns;
    with_member_data(block.members[m], [&](const auto* p) {
        for (std::size_t i = 0; i < block.rows; ++i) {
            const auto* row = p + i * c;
            if (c == 1) {
                labels[i] = row[0] > 0.5 ? 1 : 0;
                continue;
            }
            std::size_t best = 0;
            for (std::size_t k = 1; k < c; ++k)
                if (row[k] > row[best]) best = k;
            labels[i] = static_cast<std::int64_t>(best);
        }
    });
}

/// The weighted majority label of every row, int64 (N,), for (N, C) or single-column members (then
/// labels are 0/1). Throws `invalid_argument` for no members or bad weights.
[[nodiscard]] inline xt::xarray<std::int64_t> hard_vote(const member_block& block,
                                                        const hard_vote_options& options = {}) {
    const auto w = detail::checked_weights(block.size(), options.weights, "hard_vote");
    const std::size_t classes = std::max<std::size_t>(block.columns, 2);
    std::vector<double> counts(block.rows * classes, 0.0);
    std::vector<std::int64_t> labels(block.rows);
    for (std::size_t m = 0; m < block.size(); ++m) {
        member_labels(block, m, labels);
        for (std::size_t i = 0; i < block.rows; ++i) counts[i * classes + static_cast<std::size_t>(labels[i])] += w[m];
    }
    auto result = xt::xarray<std::int64_t>::from_shape({block.rows});
    for (std::size_t i = 0; i < block.rows; ++i) {
        const double* row = counts.data() + i * classes;
        std::size_t best = 0;
        for (std::size_t k = 1; k < classes; ++k)
            if (row[k] > row[best]) best = k;
        result(i) = static_cast<std::int64_t>(best);
    }
    return result;
}

/// `hard_vote` over any range of float32/float64 tensors of one shape.
template <std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] xt::xarray<std::int64_t> hard_vote(const R& members, const hard_vote_options& options = {}) {
    return hard_vote(make_member_block(members), options);
}

}  // namespace blend::ensemble
