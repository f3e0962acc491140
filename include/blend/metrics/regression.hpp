#pragma once
/// @file blend/metrics/regression.hpp
/// Regression metrics — CLI.md `eval` (regression: "rmse").

#include <blend/metrics/detail/inputs.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <type_traits>

namespace blend::metrics {

/// Root mean squared error, sqrt((1/N) sum_i (pred_i - target_i)^2), in float64.
/// `predictions`: float32/float64 (N,) or (N, 1); `target`: (N,) or (N, 1) of any arithmetic type
/// (float regression labels; integers are accepted too). Reference: scikit-learn 1.2.1
/// `mean_squared_error(target, pred, squared=False)` for one output. Throws `shape_error` when the row
/// counts differ or an input has another shape, `invalid_argument` for N = 0 or a non-finite value.
template <real_tensor P, tensor T>
    requires std::is_arithmetic_v<tensor_value_t<T>>
[[nodiscard]] double rmse(const P& predictions, const T& target) {
    constexpr std::string_view fn = "blend::metrics::rmse";
    const auto pred = detail::column_of(predictions, fn, "predictions");
    const auto truth = detail::column_of(target, fn, "targets");
    if (pred.size != truth.size) {
        throw shape_error{fmt::format("{}: {} predictions but {} targets", fn, pred.size, truth.size)};
    }
    detail::require_rows(pred.size, fn);
    double total = 0.0;
    for (std::size_t i = 0; i < pred.size; ++i) {
        const double d = pred[i] - truth[i];
        total += d * d;
    }
    return std::sqrt(total / static_cast<double>(pred.size));
}

}  // namespace blend::metrics
