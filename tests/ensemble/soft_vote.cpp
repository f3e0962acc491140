// Tests for blend/ensemble/soft_vote.hpp (METHODS.md §2 "soft vote").
#include <blend/ensemble/soft_vote.hpp>

#include "support/catch.hpp"

#include <vector>

TEST_CASE("soft vote is the weighted mean of the members' probabilities", "[ensemble][soft_vote]") {
    const std::vector<xt::xtensor<double, 2>> members{{{0.8, 0.2}, {0.1, 0.9}}, {{0.4, 0.6}, {0.5, 0.5}}};
    const auto equal = blend::ensemble::soft_vote(members);
    CHECK(equal(0, 0) == Approx(0.6).epsilon(1e-15));
    CHECK(equal(1, 1) == Approx(0.7).epsilon(1e-15));
    const std::vector<double> weights{3.0, 1.0};
    const auto weighted = blend::ensemble::soft_vote(members, {.weights = weights});
    CHECK(weighted(0, 0) == Approx((3 * 0.8 + 0.4) / 4).epsilon(1e-15));
    CHECK(weighted(1, 0) == Approx((3 * 0.1 + 0.5) / 4).epsilon(1e-15));
}

TEST_CASE("soft vote of identical members is the member", "[ensemble][soft_vote]") {
    const xt::xtensor<float, 2> p = {{0.25f, 0.75f}, {0.5f, 0.5f}, {1.f, 0.f}};
    const std::vector<xt::xtensor<float, 2>> members{p, p, p};
    const std::vector<double> weights{0.2, 0.5, 0.3};
    const auto vote = blend::ensemble::soft_vote(members, {.weights = weights});
    for (std::size_t j = 0; j < p.size(); ++j) CHECK(vote.data()[j] == Approx(p.data()[j]).epsilon(1e-15));
}

TEST_CASE("soft vote accepts binary (N,) members and rejects mismatched ones", "[ensemble][soft_vote]") {
    const std::vector<xt::xtensor<double, 1>> binary{{0.9, 0.2}, {0.7, 0.4}};
    const auto vote = blend::ensemble::soft_vote(binary);
    REQUIRE(vote.dimension() == 1);
    CHECK(vote(0) == Approx(0.8));
    CHECK(vote(1) == Approx(0.3));
    const std::vector<xt::xtensor<double, 1>> mismatched{{0.9, 0.2}, {0.7}};
    CHECK_THROWS_AS(blend::ensemble::soft_vote(mismatched), blend::shape_error);
    const std::vector<double> zero{1.0, -1.0};
    CHECK_THROWS_AS(blend::ensemble::soft_vote(binary, {.weights = zero}), blend::invalid_argument);
}
