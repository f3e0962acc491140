// Tests for blend/metrics/uncertainty.hpp (METHODS.md §2 "Uncertainty").
#include <blend/metrics/uncertainty.hpp>

#include "support/catch.hpp"

#include <array>
#include <cmath>
#include <random>
#include <vector>

namespace bm = blend::metrics;

TEST_CASE("uncertainty decomposition: hand-computed values", "[metrics][uncertainty]") {
    const double ln2 = std::log(2.0);
    // Row 0: members disagree completely ([1, 0] vs [0, 1]): all epistemic.
    // Row 1: both [0.5, 0.5]: all aleatoric.
    const std::vector<xt::xtensor<double, 2>> members{{{1.0, 0.0}, {0.5, 0.5}}, {{0.0, 1.0}, {0.5, 0.5}}};
    const auto u = bm::uncertainty_decomposition(members);
    REQUIRE(u.total.size() == 2);
    CHECK(u.total[0] == Approx(ln2).epsilon(1e-15));
    CHECK(u.aleatoric[0] == 0.0);
    CHECK(u.epistemic[0] == Approx(ln2).epsilon(1e-15));
    CHECK(u.total[1] == Approx(ln2).epsilon(1e-15));
    CHECK(u.aleatoric[1] == Approx(ln2).epsilon(1e-15));
    CHECK(u.epistemic[1] == Approx(0.0).margin(1e-15));
    CHECK(u.mean_total == Approx(ln2).epsilon(1e-15));
    CHECK(u.mean_aleatoric == Approx(ln2 / 2).epsilon(1e-15));
    CHECK(u.mean_epistemic == Approx(ln2 / 2).epsilon(1e-15));

    // Mean [0.5, 0.25, 0.25]: H = 1.5 ln 2; each member has H = ln 2; MI = 0.5 ln 2.
    const std::vector<xt::xtensor<float, 2>> three{{{0.5f, 0.5f, 0.0f}}, {{0.5f, 0.0f, 0.5f}}};
    const auto v = bm::uncertainty_decomposition(three);
    CHECK(v.total[0] == Approx(1.5 * ln2).epsilon(1e-15));
    CHECK(v.aleatoric[0] == Approx(ln2).epsilon(1e-15));
    CHECK(v.epistemic[0] == Approx(0.5 * ln2).epsilon(1e-14));
}

TEST_CASE("binary and stacked members give the same decomposition as (N, C) ranges", "[metrics][uncertainty]") {
    const std::vector<xt::xtensor<double, 1>> binary{{1.0, 0.5, 0.9}, {0.0, 0.5, 0.6}};
    const std::vector<xt::xtensor<double, 2>> columns{{{0.0, 1.0}, {0.5, 0.5}, {0.1, 0.9}},
                                                      {{1.0, 0.0}, {0.5, 0.5}, {0.4, 0.6}}};
    xt::xtensor<double, 3> stacked = xt::zeros<double>({2, 3, 2});
    for (std::size_t m = 0; m < 2; ++m)
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t c = 0; c < 2; ++c) stacked(m, i, c) = columns[m](i, c);
    const auto a = bm::uncertainty_decomposition(binary);
    const auto b = bm::uncertainty_decomposition(columns);
    const auto c = bm::uncertainty_decomposition(stacked);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(a.total[i] == Approx(b.total[i]).epsilon(1e-14));
        CHECK(a.epistemic[i] == Approx(b.epistemic[i]).epsilon(1e-14).margin(1e-15));
        CHECK(c.total[i] == b.total[i]);
        CHECK(c.aleatoric[i] == b.aleatoric[i]);
    }
}

TEST_CASE("epistemic uncertainty is non-negative and vanishes for identical members", "[metrics][uncertainty]") {
    std::mt19937_64 rng(5);
    std::gamma_distribution<double> gamma(0.5, 1.0);
    for (std::size_t m = 1; m <= 6; ++m) {
        xt::xtensor<double, 3> p = xt::zeros<double>(std::array<std::size_t, 3>{m, 20, 4});
        for (std::size_t k = 0; k < m; ++k) {
            for (std::size_t i = 0; i < 20; ++i) {
                double sum = 0.0;
                for (std::size_t c = 0; c < 4; ++c) sum += p(k, i, c) = gamma(rng) + 1e-12;
                for (std::size_t c = 0; c < 4; ++c) p(k, i, c) /= sum;
            }
        }
        const auto u = bm::uncertainty_decomposition(p);
        for (std::size_t i = 0; i < 20; ++i) {
            CHECK(u.epistemic[i] >= -1e-15);
            CHECK(u.total[i] <= std::log(4.0) + 1e-15);
        }
        if (m == 1) CHECK(u.mean_epistemic == Approx(0.0).margin(1e-15));
    }
    const xt::xtensor<double, 2> p = {{0.2, 0.3, 0.5}, {0.9, 0.05, 0.05}};
    const std::vector<xt::xtensor<double, 2>> same{p, p, p};
    const auto u = bm::uncertainty_decomposition(same);
    CHECK(u.mean_epistemic == Approx(0.0).margin(1e-15));
    CHECK(u.mean_total == Approx(u.mean_aleatoric).epsilon(1e-15));
}

TEST_CASE("uncertainty decomposition rejects empty, mismatched and non-finite members", "[metrics][uncertainty]") {
    const std::vector<xt::xtensor<double, 2>> none;
    CHECK_THROWS_AS(bm::uncertainty_decomposition(none), blend::invalid_argument);
    const std::vector<xt::xtensor<double, 2>> mismatched{{{0.5, 0.5}}, {{0.2, 0.3, 0.5}}};
    CHECK_THROWS_AS(bm::uncertainty_decomposition(mismatched), blend::shape_error);
    const std::vector<xt::xtensor<double, 1>> nan{{0.5, std::nan("")}};
    CHECK_THROWS_AS(bm::uncertainty_decomposition(nan), blend::invalid_argument);
}
