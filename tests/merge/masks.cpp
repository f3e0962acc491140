// Tests for blend/merge/detail/masks.hpp: the seeded Bernoulli mask and DELLA's keep probabilities.
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/detail/masks.hpp>

#include "support/catch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

using namespace blend::merge::detail;

TEST_CASE("the mask is uniform_float(i) < p of the (seed, tensor, model) stream", "[merge][masks]") {
    const auto rng = mask_stream(42, "model.layers.0.mlp.weight", 2);
    CHECK(rng.seed() == 42);
    CHECK(rng.key() == blend::stream_key("model.layers.0.mlp.weight", 2));
    std::vector<std::uint8_t> keep(1000);
    bernoulli_keep(rng, 37, 0.3, keep);
    for (std::size_t j = 0; j < keep.size(); ++j) CHECK((keep[j] != 0) == (rng.uniform_float(37 + j) < 0.3f));
}

TEST_CASE("the mask does not depend on how the range is split", "[merge][masks]") {
    const auto rng = mask_stream(1, "t", 0);
    std::vector<std::uint8_t> whole(5000);
    bernoulli_keep(rng, 0, 0.5, whole);
    std::vector<std::uint8_t> pieces(5000);
    for (std::size_t b = 0; b < 5000; b += 333) {
        const std::size_t len = std::min<std::size_t>(333, 5000 - b);
        bernoulli_keep(rng, b, 0.5, std::span<std::uint8_t>(pieces.data() + b, len));
    }
    CHECK(whole == pieces);
}

TEST_CASE("p <= 0 keeps nothing, p >= 1 keeps everything, frequency within 3 sigma", "[merge][masks]") {
    const auto rng = mask_stream(0, "x", 1);
    std::vector<std::uint8_t> keep(100000);
    bernoulli_keep(rng, 0, 0.0, keep);
    CHECK(std::count(keep.begin(), keep.end(), 1) == 0);
    bernoulli_keep(rng, 0, 1.0, keep);
    CHECK(std::count(keep.begin(), keep.end(), 1) == 100000);
    bernoulli_keep(rng, 0, 0.1, keep);
    const double kept = static_cast<double>(std::count(keep.begin(), keep.end(), 1));
    CHECK(std::abs(kept - 10000.0) < 3 * std::sqrt(100000 * 0.09));
    std::vector<double> p(100000);
    for (std::size_t j = 0; j < p.size(); ++j) p[j] = j % 2 == 0 ? 0.2 : 0.8;
    bernoulli_keep(rng, 0, p, keep);
    std::size_t even = 0;
    std::size_t odd = 0;
    for (std::size_t j = 0; j < p.size(); ++j) (j % 2 == 0 ? even : odd) += keep[j];
    CHECK(std::abs(static_cast<double>(even) - 10000.0) < 3 * std::sqrt(50000 * 0.16));
    CHECK(std::abs(static_cast<double>(odd) - 40000.0) < 3 * std::sqrt(50000 * 0.16));
}

TEST_CASE("different models and tensors draw independent masks", "[merge][masks]") {
    std::vector<std::uint8_t> a(4096), b(4096), c(4096);
    bernoulli_keep(mask_stream(0, "t", 0), 0, 0.5, a);
    bernoulli_keep(mask_stream(0, "t", 1), 0, 0.5, b);
    bernoulli_keep(mask_stream(0, "u", 0), 0, 0.5, c);
    std::size_t same_ab = 0, same_ac = 0;
    for (std::size_t j = 0; j < a.size(); ++j) {
        same_ab += a[j] == b[j];
        same_ac += a[j] == c[j];
    }
    CHECK(std::abs(static_cast<double>(same_ab) - 2048.0) < 4 * 32.0);
    CHECK(std::abs(static_cast<double>(same_ac) - 2048.0) < 4 * 32.0);
}

TEST_CASE("DELLA probabilities are linear in the magnitude rank", "[merge][masks][della]") {
    // |d| patterns: 3, 1, 3, 0, 2 → ascending ranks 4, 1, 3, 0, 2 (the first 3 outranks the second).
    const std::vector<std::uint32_t> row{3, 1, 3, 0, 2};
    std::vector<double> p(5);
    std::vector<std::uint32_t> order, ranks;
    della_row_probabilities<std::uint32_t>(row, 0.5, 0.1, p, order, ranks);
    const std::vector<double> want{0.6, 0.45, 0.55, 0.4, 0.5};
    for (std::size_t j = 0; j < 5; ++j) CHECK(std::abs(p[j] - want[j]) < 1e-15);
    std::vector<double> one(1);
    della_row_probabilities<std::uint32_t>(std::span<const std::uint32_t>(row.data(), 1), 0.5, 0.1, one, order, ranks);
    CHECK(one[0] == 0.5);
}

TEST_CASE("DELLA parameters: density +/- epsilon must lie in (0, 1)", "[merge][masks][della]") {
    CHECK_NOTHROW(check_della_parameters("della", 0.5, 0.15));
    CHECK_NOTHROW(check_della_parameters("della", 0.0, 0.15));
    CHECK_NOTHROW(check_della_parameters("della", 1.0, 0.15));
    CHECK_THROWS_AS(check_della_parameters("della", 0.1, 0.15), blend::invalid_argument);
    CHECK_THROWS_AS(check_della_parameters("della", 0.9, 0.15), blend::invalid_argument);
    CHECK_THROWS_AS(check_della_parameters("della", 0.5, -0.1), blend::invalid_argument);
}
