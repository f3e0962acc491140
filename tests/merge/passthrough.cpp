// Tests for blend/merge/passthrough.hpp (METHODS.md §1 "passthrough", mergekit 0.1.5 passthrough.py).
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/passthrough.hpp>

#include "merge/misc_support.hpp"
#include "support/catch.hpp"

#include <vector>

TEST_CASE("passthrough copies its input, bit for bit", "[merge][passthrough]") {
    const xt::xarray<float> x{{1.f, -2.5f, 3e-38f}, {0.f, -0.f, 7.f}};
    CHECK((blend::merge::passthrough(x) == x));
    const xt::xarray<blend::bf16> h{blend::bf16::from_bits(0x3F81), blend::bf16::from_bits(0x8001)};
    const auto copy = blend::merge::passthrough(h);
    CHECK(copy.data()[0].bits == 0x3F81);
    CHECK(copy.data()[1].bits == 0x8001);
}

TEST_CASE("passthrough scales its input with one rounding", "[merge][passthrough]") {
    const xt::xarray<double> x{1.0, -2.0, 0.5};
    CHECK((blend::merge::passthrough(x, {.scale = 0.5}) == xt::xarray<double>{0.5, -1.0, 0.25}));
    CHECK((blend::merge::passthrough(x, {.scale = 0.0}) == xt::xarray<double>{0.0, -0.0, 0.0}));
    // bf16 1 + 2^-7 times 1.5 = 1.5 + 1.5 * 2^-7 = 1.51171875: between the bf16 1.5078125 and 1.515625, a tie -> even
    const xt::xarray<blend::bf16> h{blend::bf16::from_bits(0x3F81)};
    CHECK(blend::merge::passthrough(h, {.scale = 1.5}).data()[0].bits == 0x3FC2);
}

TEST_CASE("passthrough to another dtype converts once", "[merge][passthrough]") {
    const xt::xarray<float> x{1.f + 0x1p-8f, 3.f};
    const std::vector<blend::any_tensor_view> in{blend::any_tensor_view::of(x)};
    xt::xarray<blend::bf16> out = xt::xarray<blend::bf16>::from_shape({2});
    blend::merge::passthrough_into(in, blend::any_mutable_tensor_view::of(out));
    CHECK(out.data()[0].bits == 0x3F80);  // 1 + 2^-8 is a tie -> even
    CHECK(out.data()[1].bits == 0x4040);
}

TEST_CASE("passthrough gives identical results for 1 and 2 threads", "[merge][passthrough]") {
    const blend::random_stream rng(29, 1);
    xt::xarray<float> x = xt::xarray<float>::from_shape({100003});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform_float(i) - 0.5f;
    const std::size_t previous = blend::num_threads();
    blend::set_num_threads(1);
    const auto one = blend::merge::passthrough(x, {.scale = 0.37});
    blend::set_num_threads(2);
    const auto two = blend::merge::passthrough(x, {.scale = 0.37});
    blend::set_num_threads(previous);
    CHECK((one == two));
}

TEST_CASE("passthrough rejects anything but one input", "[merge][passthrough]") {
    const xt::xarray<float> x{1.f};
    xt::xarray<float> out = x;
    const std::vector<blend::any_tensor_view> two{blend::any_tensor_view::of(x), blend::any_tensor_view::of(x)};
    CHECK_THROWS_WITH(blend::merge::passthrough_into(two, blend::any_mutable_tensor_view::of(out)),
                      "passthrough: needs exactly 1 input tensor, got 2");
    const std::vector<blend::any_tensor_view> one{blend::any_tensor_view::of(x)};
    CHECK_THROWS_AS(blend::merge::passthrough_into(one, blend::any_mutable_tensor_view::of(out), {.scale = 1.0 / 0.0}),
                    blend::invalid_argument);
}

TEST_CASE("passthrough agrees with the float64 reference", "[merge][passthrough]") {
    const auto merge = [](auto views, const auto& out) { blend::merge::passthrough_into(views, out, {.scale = 0.37}); };
    for (const char* name : {"passthrough_f32", "passthrough_bf16"}) misc_test::check_case(name, merge);
}

TEST_CASE("passthrough agrees with mergekit 0.1.5", "[merge][passthrough]") {
    const auto merge = [](auto views, const auto& out) { blend::merge::passthrough_into(views, out, {.scale = 0.37}); };
    misc_test::check_mergekit("passthrough_f32", merge);
    misc_test::check_mergekit("passthrough_bf16", merge);  // one rounding of X * scale either way: identical
}
