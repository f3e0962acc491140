// Tests for blend/merge/linear.hpp (METHODS.md §1 "linear").
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/linear.hpp>

#include "support/catch.hpp"

#include <vector>

TEST_CASE("linear with normalize is the weighted mean", "[merge][linear]") {
    const std::vector<xt::xarray<float>> inputs{{1.f, 2.f, -4.f}, {3.f, 4.f, 8.f}};
    const std::vector<double> weights{1.0, 3.0};
    const auto merged = blend::merge::linear(inputs, {.weights = weights});
    // (1*1 + 3*3)/4 = 2.5, (2 + 12)/4 = 3.5, (-4 + 24)/4 = 5
    CHECK((merged == xt::xarray<float>{2.5f, 3.5f, 5.f}));
}

TEST_CASE("linear without normalize is the weighted sum", "[merge][linear]") {
    const std::vector<xt::xarray<double>> inputs{{{1.0, 2.0}}, {{3.0, 4.0}}};
    const std::vector<double> weights{0.5, -1.0};
    const auto merged = blend::merge::linear(inputs, {.weights = weights, .normalize = false});
    REQUIRE(merged.shape() == std::vector<std::size_t>{1, 2});
    CHECK(merged(0, 0) == -2.5);
    CHECK(merged(0, 1) == -3.0);
}

TEST_CASE("linear of identical inputs gives the input back, bit for bit", "[merge][linear]") {
    blend::random_stream rng(7, 1);
    xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({33, 129});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform_float(i) * 4.f - 2.f;
    const std::vector<xt::xtensor<float, 2>> inputs{x, x, x};
    const std::vector<double> weights{0.2, 0.3, 0.5};
    CHECK((blend::merge::linear(inputs, {.weights = weights}) == x));
}

TEST_CASE("linear of bf16 inputs rounds the float64 result once", "[merge][linear]") {
    // 1 + 2^-7 is the bf16 after 1; their mean 1 + 2^-8 is a tie, which rounds to even (1.0).
    const std::vector<xt::xarray<blend::bf16>> inputs{
        {blend::bf16::from_bits(0x3F80)}, {blend::bf16::from_bits(0x3F81)}};
    CHECK(blend::merge::linear(inputs).data()[0].bits == 0x3F80);
    // weights 1, 3: 1 + 0.75 * 2^-7 rounds up to 1 + 2^-7.
    const std::vector<double> weights{1.0, 3.0};
    CHECK(blend::merge::linear(inputs, {.weights = weights}).data()[0].bits == 0x3F81);
}

TEST_CASE("linear gives identical results for 1 and 2 threads", "[merge][linear]") {
    blend::random_stream rng(3, 9);
    std::vector<xt::xarray<float>> inputs;
    for (int m = 0; m < 3; ++m) {
        xt::xarray<float> x = xt::xarray<float>::from_shape({100003});
        for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform_float(m * x.size() + i) - 0.5f;
        inputs.push_back(std::move(x));
    }
    const std::vector<double> weights{0.1, 0.7, 0.33};
    const std::size_t previous = blend::num_threads();
    blend::set_num_threads(1);
    const auto one = blend::merge::linear(inputs, {.weights = weights});
    blend::set_num_threads(2);
    const auto two = blend::merge::linear(inputs, {.weights = weights});
    blend::set_num_threads(previous);
    CHECK((one == two));
}

TEST_CASE("linear rejects bad inputs with a message naming the problem", "[merge][linear]") {
    const std::vector<xt::xarray<float>> inputs{{1.f, 2.f}, {3.f, 4.f}};
    const std::vector<double> opposite{1.0, -1.0};
    CHECK_THROWS_WITH(blend::merge::linear(inputs, {.weights = opposite}), "linear: weights sum to zero (0)");
    CHECK_NOTHROW(blend::merge::linear(inputs, {.weights = opposite, .normalize = false}));
    const std::vector<double> three{1.0, 1.0, 1.0};
    CHECK_THROWS_AS(blend::merge::linear(inputs, {.weights = three}), blend::invalid_argument);
    const std::vector<xt::xarray<float>> mismatched{{1.f, 2.f}, {3.f, 4.f, 5.f}};
    CHECK_THROWS_WITH(blend::merge::linear(mismatched), "linear: input 1 has shape [3], expected [2]");
    CHECK_THROWS_AS(blend::merge::linear(std::vector<xt::xarray<float>>{}), blend::invalid_argument);
}
