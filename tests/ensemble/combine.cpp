// Tests for blend/ensemble/combine.hpp against tests/reference/ensemble_reference.py, whose numpy/scipy
// implementation of every method is independent of blend's (np.average, scipy rankdata / trim_mean,
// np.median, softmax / expit), on (M, N, C) = (10, 30, 4) and single-column (10, 30, 1) members.
#include <blend/ensemble/combine.hpp>

#include "ensemble/fixtures.hpp"

#include <string>
#include <vector>

using blend::ensemble::combine;
using blend::ensemble::combine_method;
using blend::test::fixture_values;
using blend::test::load_fixture;
using blend::test::stacked_block;

namespace {

void check_method(const std::string& prefix, combine_method method) {
    const auto probs = load_fixture(prefix + (method == combine_method::logit ? "_logits.npy" : "_probs.npy"));
    const auto weights = fixture_values(load_fixture("synth_weights.npy"));
    const auto expected = load_fixture(prefix + "_" + std::string(name(method)) + ".npy");
    const auto block = stacked_block(probs);
    const auto got = combine(block, {.method = method, .weights = weights});
    REQUIRE(got.shape() == xt::xarray<double>::shape_type(expected.shape.begin(), expected.shape.end()));
    const auto want = fixture_values(expected);
    for (std::size_t j = 0; j < want.size(); ++j) {
        INFO(prefix << " " << name(method) << " entry " << j);
        CHECK(got.data()[j] == Approx(want[j]).epsilon(1e-12).margin(1e-15));
    }
}

}  // namespace

TEST_CASE("every combine method matches the independent numpy reference", "[ensemble][combine]") {
    for (auto method : {combine_method::soft, combine_method::logit, combine_method::geometric, combine_method::rank,
                        combine_method::median, combine_method::trimmed, combine_method::max}) {
        check_method("synth", method);
        check_method("bin", method);
    }
}

TEST_CASE("soft combine reproduces scikit-learn's VotingClassifier on load_digits", "[ensemble][combine]") {
    const auto members = load_fixture("digits_members.npy");
    const std::vector<double> weights{2, 1, 1};
    const auto got = combine(stacked_block(members), {.method = combine_method::soft, .weights = weights});
    const auto want = fixture_values(load_fixture("digits_soft.npy"));
    REQUIRE(got.size() == want.size());
    for (std::size_t j = 0; j < want.size(); ++j) CHECK(got.data()[j] == Approx(want[j]).epsilon(1e-13).margin(1e-16));
}

TEST_CASE("combining identical members gives the member back", "[ensemble][combine]") {
    const xt::xtensor<double, 2> p = {{0.2, 0.3, 0.5}, {0.6, 0.4, 0.0}, {1.0 / 3, 1.0 / 3, 1.0 / 3}};
    const std::vector<xt::xtensor<double, 2>> members{p, p, p, p};
    const std::vector<double> weights{0.5, 2, 1, 0.25};
    for (auto method : {combine_method::soft, combine_method::geometric, combine_method::median, combine_method::trimmed,
                        combine_method::max}) {
        const auto got = combine(members, {.method = method, .weights = weights});
        for (std::size_t j = 0; j < p.size(); ++j) {
            INFO(name(method) << " entry " << j);
            CHECK(got.data()[j] == Approx(p.data()[j]).margin(1e-14));
        }
    }
    // logit mean of identical logits is their softmax
    const auto logits = combine(members, {.method = combine_method::logit});
    const double z = std::exp(0.2) + std::exp(0.3) + std::exp(0.5);
    CHECK(logits(0, 2) == Approx(std::exp(0.5) / z).epsilon(1e-14));
}

TEST_CASE("combine accepts float32 members and rejects bad weights and shapes", "[ensemble][combine]") {
    const std::vector<xt::xtensor<float, 1>> binary{{0.9f, 0.2f}, {0.7f, 0.4f}};
    const auto vote = combine(binary, {.method = combine_method::max});
    REQUIRE(vote.dimension() == 1);
    CHECK(vote(0) == Approx(0.9f));
    const std::vector<double> three{1, 2, 3};
    CHECK_THROWS_AS(combine(binary, {.weights = three}), blend::invalid_argument);
    const std::vector<double> zero{1, -1};
    CHECK_THROWS_AS(combine(binary, {.weights = zero}), blend::invalid_argument);
    CHECK_THROWS_AS(combine(binary, {.method = combine_method::hard}), blend::invalid_argument);
    const std::vector<xt::xtensor<float, 1>> mismatched{{0.9f, 0.2f}, {0.7f}};
    CHECK_THROWS_AS(combine(mismatched), blend::shape_error);
    CHECK(blend::ensemble::parse_combine_method("trimmed") == combine_method::trimmed);
    CHECK_FALSE(blend::ensemble::parse_combine_method("mean").has_value());
}
