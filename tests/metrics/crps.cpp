// Tests for blend/metrics/crps.hpp (METHODS.md §2 "CRPS for ensembles").
// References: properscoring's public cases (METHODS.md), and per-observation values of properscoring
// 0.1 and scoringrules 0.10 (tests/metrics/data/crps/, written by tests/reference/metrics_reference.py).
#include <blend/metrics/crps.hpp>

#include "metrics/fixtures.hpp"
#include "support/catch.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace bm = blend::metrics;
using metrics_test::load;

TEST_CASE("CRPS reproduces properscoring's public cases", "[metrics][crps]") {
    CHECK(bm::crps_ensemble(0.0, std::vector<double>{0.0, 1.0}) == Approx(0.25).epsilon(1e-15));
    CHECK(bm::crps_ensemble(2.0, std::vector<double>{0.0, 1.0}) == Approx(1.25).epsilon(1e-15));
    CHECK(bm::crps_ensemble(0.0, std::vector<double>{-1.0, 1.0}) == Approx(0.5).epsilon(1e-15));
    CHECK(bm::crps_ensemble(0.0, std::vector<double>{0.0, 0.0, 1.0}) == Approx(1.0 / 9).epsilon(1e-15));
    const std::vector<double> w{0.8, 0.2};
    CHECK(bm::crps_ensemble(1.0, std::vector<double>{0.0, 2.0}, {.weights = w}) == Approx(0.68).epsilon(1e-15));
    // The same through a float32 tensor; member order does not matter.
    const xt::xtensor<float, 1> members = {1.0f, 0.0f, 0.0f};
    CHECK(bm::crps_ensemble(0.0, members) == Approx(1.0 / 9).epsilon(1e-15));
}

TEST_CASE("fair CRPS: hand-computed values", "[metrics][crps]") {
    const auto fair = bm::crps_options{.estimator = bm::crps_estimator::fair};
    // y = 0, x = [0, 1]: E|X - y| = 1/2, sum_ij |x_i - x_j| = 2, / (2 M (M - 1)) = 1/2 → 0.
    CHECK(bm::crps_ensemble(0.0, std::vector<double>{0.0, 1.0}, fair) == Approx(0.0).margin(1e-15));
    // y = 0, x = [0, 0, 1]: 1/3 - 4 / 12 = 0.
    CHECK(bm::crps_ensemble(0.0, std::vector<double>{0.0, 0.0, 1.0}, fair) == Approx(0.0).margin(1e-15));
    // y = 3, x = [1, 2, 4]: E|X - y| = 4/3; sum_ij |x_i - x_j| = 2 (1 + 3 + 2) = 12, / (2 * 3 * 2) = 1
    // → 1/3 (standard: 4/3 - 12 / 18 = 2/3).
    CHECK(bm::crps_ensemble(3.0, std::vector<double>{4.0, 1.0, 2.0}, fair) == Approx(1.0 / 3).epsilon(1e-15));
    CHECK(bm::crps_ensemble(3.0, std::vector<double>{4.0, 1.0, 2.0}) == Approx(2.0 / 3).epsilon(1e-15));
    // Weighted fair: w = [0.8, 0.2], x = [0, 2], y = 1: 1 - 0.5 * (2 * 0.16 * 2) / (1 - 0.68) = 0.
    const std::vector<double> w{0.8, 0.2};
    CHECK(bm::crps_ensemble(1.0, std::vector<double>{0.0, 2.0}, {.estimator = bm::crps_estimator::fair, .weights = w}) ==
          Approx(0.0).margin(1e-15));
    CHECK_THROWS_AS(bm::crps_ensemble(1.0, std::vector<double>{0.0}, fair), blend::invalid_argument);
    const std::vector<double> one_positive{1.0, 0.0};
    CHECK_THROWS_AS(bm::crps_ensemble(1.0, std::vector<double>{0.0, 2.0}, {.estimator = bm::crps_estimator::fair,
                                                                          .weights = one_positive}),
                    blend::invalid_argument);
}

TEST_CASE("CRPS of many observations matches properscoring and scoringrules", "[metrics][crps]") {
    const auto ref = metrics_test::values("crps");
    const auto obs_file = load("crps", "observations");
    const auto members_file = load("crps", "members");
    const auto weights_file = load("crps", "weights");
    const auto shared_file = load("crps", "shared_weights");
    const auto obs = obs_file.as<double>();
    const auto members = members_file.as<double>();
    const std::span<const double> weights = weights_file.as<double>().span();
    const std::span<const double> shared = shared_file.as<double>().span();
    const auto standard = bm::crps_options{};
    const auto fair = bm::crps_options{.estimator = bm::crps_estimator::fair};
    const struct {
        const char* name;
        bm::crps_options options;
    } cases[] = {
        {"properscoring_standard", standard},
        {"scoringrules_nrg", standard},
        {"properscoring_weighted", {.weights = weights}},
        {"scoringrules_nrg_weighted", {.weights = weights}},
        {"properscoring_shared", {.weights = shared}},
        {"scoringrules_fair", fair},
        {"scoringrules_fair_weighted", {.estimator = bm::crps_estimator::fair, .weights = weights}},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        const auto expected_file = load("crps", c.name);
        const auto expected = expected_file.as<double>();
        const auto result = bm::crps_ensemble_rows(obs, members, c.options);
        REQUIRE(result.values.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            INFO(i);
            CHECK(result.values[i] == Approx(expected.data()[i]).epsilon(1e-12).margin(1e-14));
        }
        CHECK(result.mean == Approx(ref[c.name].get<double>()).epsilon(1e-12));
    }
    // Row 0: every member equals the observation; row 1: a point forecast, CRPS |x - y|.
    const auto rows = bm::crps_ensemble_rows(obs, members);
    CHECK(rows.values[0] == 0.0);
    CHECK(rows.values[1] == Approx(std::abs(members.data()[members.shape()[1]] - obs.data()[1])).epsilon(1e-15));
    // One row through the single-observation overload gives the same value.
    const std::span<const double> row5(members.data() + 5 * members.shape()[1], members.shape()[1]);
    CHECK(bm::crps_ensemble(obs.data()[5], row5) == Approx(rows.values[5]).epsilon(1e-15));
}

TEST_CASE("CRPS rejects bad shapes, weights and values", "[metrics][crps]") {
    const xt::xtensor<double, 1> obs = {0.0, 1.0};
    const xt::xtensor<double, 2> members = {{0.0, 1.0, 2.0}, {1.0, 2.0, 3.0}};
    const xt::xtensor<double, 2> wrong_rows = {{0.0, 1.0, 2.0}};
    CHECK_THROWS_AS(bm::crps_ensemble_rows(obs, wrong_rows), blend::shape_error);
    const std::vector<double> two_weights{1.0, 1.0};
    CHECK_THROWS_AS(bm::crps_ensemble_rows(obs, members, {.weights = two_weights}), blend::invalid_argument);
    const std::vector<double> negative{1.0, -1.0, 1.0};
    CHECK_THROWS_WITH(bm::crps_ensemble_rows(obs, members, {.weights = negative}), Catch::Contains("weight 1 is -1"));
    const std::vector<double> zeros{0.0, 0.0, 0.0};
    CHECK_THROWS_AS(bm::crps_ensemble_rows(obs, members, {.weights = zeros}), blend::invalid_argument);
    xt::xtensor<double, 2> nan = members;
    nan(1, 2) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(bm::crps_ensemble_rows(obs, nan), Catch::Contains("row 1, column 2"));
    CHECK_THROWS_AS(bm::crps_ensemble(0.0, std::vector<double>{}), blend::invalid_argument);
    CHECK_THROWS_AS(bm::crps_ensemble(std::nan(""), std::vector<double>{1.0}), blend::invalid_argument);
}
