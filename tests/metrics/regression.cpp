// Tests for blend/metrics/regression.hpp (CLI.md `eval`, regression: "rmse").
#include <blend/metrics/regression.hpp>

#include "support/catch.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

namespace bm = blend::metrics;

TEST_CASE("RMSE: hand-computed values", "[metrics][regression]") {
    const xt::xtensor<double, 1> pred = {1.0, 2.0, 4.0, -1.0};
    const xt::xtensor<double, 1> target = {1.0, 0.0, 1.0, 0.0};
    // Squared errors 0, 4, 9, 1: mean 3.5.
    CHECK(bm::rmse(pred, target) == Approx(std::sqrt(3.5)).epsilon(1e-15));
    CHECK(bm::rmse(target, target) == 0.0);
    // float32 predictions, (N, 1) shape, integer targets.
    const xt::xtensor<float, 2> column = {{1.5f}, {-0.5f}};
    const xt::xtensor<std::int32_t, 1> ints = {1, 0};
    CHECK(bm::rmse(column, ints) == Approx(0.5).epsilon(1e-15));
}

TEST_CASE("RMSE rejects mismatched, empty and non-finite inputs", "[metrics][regression]") {
    const xt::xtensor<double, 1> two = {1.0, 2.0};
    const xt::xtensor<double, 1> three = {1.0, 2.0, 3.0};
    CHECK_THROWS_AS(bm::rmse(two, three), blend::shape_error);
    const xt::xtensor<double, 2> matrix = {{1.0, 2.0}, {3.0, 4.0}};
    CHECK_THROWS_AS(bm::rmse(matrix, two), blend::shape_error);
    const xt::xtensor<double, 1> empty = xt::zeros<double>({0});
    CHECK_THROWS_AS(bm::rmse(empty, empty), blend::invalid_argument);
    const xt::xtensor<double, 1> inf = {1.0, std::numeric_limits<double>::infinity()};
    CHECK_THROWS_WITH(bm::rmse(two, inf), Catch::Contains("targets at row 1"));
}
