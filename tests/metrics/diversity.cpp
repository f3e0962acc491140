// Tests for blend/metrics/diversity.hpp (METHODS.md §2 "Diversity").
#include <blend/metrics/diversity.hpp>

#include "support/catch.hpp"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace bm = blend::metrics;

namespace {
// Correct (1) / wrong (0) per row against y = [0, 1, 2, 0, 1, 2]:
//   m0 111111, m1 110101, m2 011010, m3 001001.
const std::vector<std::vector<std::int64_t>> labels{
    {0, 1, 2, 0, 1, 2}, {0, 1, 0, 0, 2, 2}, {1, 1, 2, 1, 1, 0}, {2, 2, 2, 2, 2, 2}};
const xt::xtensor<std::int64_t, 1> truth = {0, 1, 2, 0, 1, 2};

void check_hand_values(const bm::pairwise_diversity_result& d) {
    // Pairs (N11, N10, N01, N00): (0,1) 4,2,0,0; (0,2) 3,3,0,0; (0,3) 2,4,0,0; (1,2) 1,3,2,0;
    // (1,3) 1,3,1,1; (2,3) 1,2,1,2.
    CHECK(d.disagreement(0, 1) == Approx(2.0 / 6));
    CHECK(d.disagreement(1, 2) == Approx(5.0 / 6));
    CHECK(d.disagreement(3, 1) == Approx(4.0 / 6));
    CHECK(d.q_statistic(1, 2) == Approx(-1.0));
    CHECK(d.q_statistic(1, 3) == Approx((1.0 - 3.0) / (1.0 + 3.0)));
    CHECK(d.q_statistic(2, 3) == Approx(0.0).margin(1e-15));
    CHECK(d.q_statistic(0, 1) == 0.0);  // 0/0: member 0 is never wrong
    CHECK(d.double_fault(1, 3) == Approx(1.0 / 6));
    CHECK(d.double_fault(3, 2) == Approx(2.0 / 6));
    CHECK(d.double_fault(0, 2) == 0.0);
    // Diagonal: a member with itself.
    CHECK(d.disagreement(2, 2) == 0.0);
    CHECK(d.double_fault(1, 1) == Approx(2.0 / 6));
    CHECK(d.q_statistic(1, 1) == 1.0);
    CHECK(d.q_statistic(0, 0) == 0.0);
    CHECK(d.mean_disagreement == Approx(21.0 / 36).epsilon(1e-15));
    CHECK(d.mean_q_statistic == Approx(-1.5 / 6).epsilon(1e-15));
    CHECK(d.mean_double_fault == Approx(3.0 / 36).epsilon(1e-15));
}
}  // namespace

TEST_CASE("pairwise diversity: hand-computed disagreement, Q-statistic and double fault", "[metrics][diversity]") {
    check_hand_values(bm::pairwise_diversity(labels, truth));
    // The same labels as one stacked (M, N) tensor and as a range of tensors of another integer type.
    xt::xtensor<std::int32_t, 2> stacked = xt::zeros<std::int32_t>({4, 6});
    std::vector<xt::xtensor<std::uint8_t, 1>> tensors;
    for (std::size_t m = 0; m < 4; ++m) {
        xt::xtensor<std::uint8_t, 1> t = xt::zeros<std::uint8_t>({6});
        for (std::size_t i = 0; i < 6; ++i) {
            stacked(m, i) = static_cast<std::int32_t>(labels[m][i]);
            t(i) = static_cast<std::uint8_t>(labels[m][i]);
        }
        tensors.push_back(t);
    }
    check_hand_values(bm::pairwise_diversity(stacked, truth));
    check_hand_values(bm::pairwise_diversity(tensors, truth));
}

TEST_CASE("identical members have no disagreement and Q = 1", "[metrics][diversity]") {
    const std::vector<std::vector<std::int64_t>> same{{0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}};
    const xt::xtensor<std::int64_t, 1> y = {0, 1, 0, 1};
    const auto d = bm::pairwise_diversity(same, y);
    CHECK(d.mean_disagreement == 0.0);
    CHECK(d.mean_q_statistic == 1.0);
    CHECK(d.mean_double_fault == 0.5);  // every pair fails together on the member's error rate
}

TEST_CASE("pairwise diversity rejects one member and mismatched lengths", "[metrics][diversity]") {
    const std::vector<std::vector<std::int64_t>> one{{0, 1, 2, 0, 1, 2}};
    CHECK_THROWS_AS(bm::pairwise_diversity(one, truth), blend::invalid_argument);
    const std::vector<std::vector<std::int64_t>> ragged{{0, 1, 2, 0, 1, 2}, {0, 1}};
    CHECK_THROWS_WITH(bm::pairwise_diversity(ragged, truth), Catch::Contains("member 1 has 2 labels but y has 6"));
}

TEST_CASE("ambiguity decomposition: hand-computed values", "[metrics][diversity]") {
    const std::vector<xt::xtensor<double, 1>> members{{1.0, 2.0}, {2.0, 4.0}};
    const xt::xtensor<double, 1> y = {0.0, 2.0};
    // Row 0: mean 1.5, E = 2.25, member error 2.5, ambiguity 0.25; row 1: mean 3, E = 1, 2, 1.
    const auto a = bm::ambiguity_decomposition(members, y);
    CHECK(a.ensemble_error == Approx(1.625).epsilon(1e-15));
    CHECK(a.mean_member_error == Approx(2.25).epsilon(1e-15));
    CHECK(a.ambiguity == Approx(0.625).epsilon(1e-15));
    // Weights 3:1: row 0 mean 1.25 → E 1.5625, member error 0.75 + 1 = 1.75, ambiguity 0.1875.
    const std::vector<double> w{3.0, 1.0};
    const xt::xtensor<double, 1> y0 = {0.0, 3.0};
    const std::vector<xt::xtensor<double, 1>> first_row{{1.0}, {2.0}};
    const xt::xtensor<double, 1> y_first = {0.0};
    const auto b = bm::ambiguity_decomposition(first_row, y_first, {.weights = w});
    CHECK(b.ensemble_error == Approx(1.5625).epsilon(1e-15));
    CHECK(b.mean_member_error == Approx(1.75).epsilon(1e-15));
    CHECK(b.ambiguity == Approx(0.1875).epsilon(1e-15));
    const std::vector<double> negative{1.0, -1.0};
    CHECK_THROWS_AS(bm::ambiguity_decomposition(members, y0, {.weights = negative}), blend::invalid_argument);
    const xt::xtensor<double, 1> y3 = {0.0, 1.0, 2.0};
    CHECK_THROWS_AS(bm::ambiguity_decomposition(members, y3), blend::shape_error);
}

TEST_CASE("ambiguity decomposition identity holds to 1e-12 for random ensembles", "[metrics][diversity]") {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> normal(0.0, 3.0);
    std::uniform_real_distribution<double> uniform(0.0, 2.0);
    for (int trial = 0; trial < 20; ++trial) {
        const std::size_t m = 2 + static_cast<std::size_t>(trial % 7), n = 50;
        xt::xtensor<float, 2> stacked = xt::zeros<float>({m, n});
        xt::xtensor<double, 1> y = xt::zeros<double>({n});
        for (auto& v : stacked) v = static_cast<float>(normal(rng) + 10.0);
        for (auto& v : y) v = normal(rng) + 10.0;
        std::vector<double> w(m);
        for (auto& v : w) v = uniform(rng);
        const auto a = bm::ambiguity_decomposition(stacked, y, {.weights = w});
        CHECK(a.ambiguity >= 0.0);
        CHECK(std::abs(a.ensemble_error - (a.mean_member_error - a.ambiguity)) <= 1e-12 * a.mean_member_error);
    }
    // Identical members: no ambiguity, the ensemble error is the member error.
    const std::vector<xt::xtensor<double, 1>> same{{1.0, -2.0, 0.5}, {1.0, -2.0, 0.5}};
    const xt::xtensor<double, 1> y = {0.0, 0.0, 1.0};
    const auto a = bm::ambiguity_decomposition(same, y);
    CHECK(a.ambiguity == 0.0);
    CHECK(a.ensemble_error == a.mean_member_error);
}
