#pragma once
/// @file blend/ensemble/predictor_ensemble.hpp
/// `predictor_ensemble<P>`: host predictors (anything satisfying blend's `predictor` concept,
/// core/concepts.hpp) combined by one of `combine`'s methods — and itself a `predictor`, so ensembles
/// nest (an ensemble of ensembles). `predict(x)` runs the members on the batch in parallel on blend's
/// thread pool (`parallel_for`, one member per task; results do not depend on the thread count), then
/// combines their outputs in float64 with `combine` (blend/ensemble/combine.hpp).
///
/// Members of different types: make `P` a type-erased callable such as
/// `std::function<xt::xarray<double>(const xt::xtensor<double, 2>&)>`. Each member is called from one
/// thread at a time, but different members concurrently: members must not share unsynchronised state.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/parallel.hpp>
#include <blend/ensemble/combine.hpp>

#include <fmt/format.h>

#include <cstddef>
#include <ranges>
#include <utility>
#include <vector>

namespace blend::ensemble {

/// Runs every predictor of `members` on `batch` in parallel on blend's thread pool (one member per
/// task) and returns their outputs converted to float64, in member order — the input of `combine`,
/// selection and stacking. Each member is called once, from one thread; exceptions propagate (the
/// lowest-indexed member's first).
template <std::ranges::random_access_range R, tensor In>
    requires predictor<std::ranges::range_value_t<R>, In>
[[nodiscard]] std::vector<xt::xarray<double>> evaluate_members(R& members, const In& batch) {
    std::vector<xt::xarray<double>> outputs(std::ranges::size(members));
    blend::parallel_for(outputs.size(), 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t m = begin; m < end; ++m) {
            const auto& out = blend::predict(members[m], batch);
            auto& target = outputs[m];
            target = xt::xarray<double>::from_shape(tensor_shape(out));
            const auto* p = tensor_data(out);
            for (std::size_t j = 0; j < target.size(); ++j) target.data()[j] = static_cast<double>(p[j]);
        }
    });
    return outputs;
}

/// Options of `predictor_ensemble` (owned: the ensemble outlives the caller's buffers).
struct predictor_ensemble_options {
    /// Any method but `hard` (which returns labels, not scores).
    combine_method method = combine_method::soft;
    /// One weight per member; empty means equal weights.
    std::vector<double> weights{};
};

/// M predictors of type `P` combined into one (see the file comment).
template <class P>
class predictor_ensemble {
public:
    /// Throws `invalid_argument` for no members, the hard method, or a weight count different from M.
    explicit predictor_ensemble(std::vector<P> members, predictor_ensemble_options options = {})
        : members_{std::move(members)}, options_{std::move(options)} {
        (void)detail::checked_weights(members_.size(), options_.weights, "predictor_ensemble");
        if (options_.method == combine_method::hard)
            throw invalid_argument{"predictor_ensemble: the hard vote gives labels, not scores; use soft"};
    }

    /// Runs every member on `batch` (in parallel) and combines their outputs: float64 of the members'
    /// output shape ((N,) for single-column outputs). Throws `shape_error` when the members' outputs
    /// differ in shape; exceptions from members propagate (the lowest-indexed member's first).
    template <tensor In>
        requires predictor<P, In>
    [[nodiscard]] xt::xarray<double> predict(const In& batch) {
        const auto outputs = evaluate_members(members_, batch);
        return combine(outputs, {.method = options_.method, .weights = options_.weights});
    }

    [[nodiscard]] std::size_t size() const noexcept { return members_.size(); }
    [[nodiscard]] const std::vector<P>& members() const noexcept { return members_; }
    [[nodiscard]] const predictor_ensemble_options& options() const noexcept { return options_; }

private:
    std::vector<P> members_;
    predictor_ensemble_options options_;
};

}  // namespace blend::ensemble
