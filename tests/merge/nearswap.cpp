// Tests for blend/merge/nearswap.hpp (METHODS.md §1 "nearswap").
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/nearswap.hpp>

#include "merge/misc_support.hpp"
#include "support/catch.hpp"

#include <vector>

namespace {

xt::xarray<float> random_tensor(std::uint64_t key, std::vector<std::size_t> shape, float scale) {
    const blend::random_stream rng(11, key);
    xt::xarray<float> x = xt::xarray<float>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = (rng.uniform_float(i) - 0.5f) * scale;
    return x;
}

}  // namespace

TEST_CASE("nearswap golden values", "[merge][nearswap]") {
    // a = 0; b = [0.5, 2, 1e-7, -4]; t = 1: w = clamp(1 / max(|a-b|, 1e-6), 0, 1) = [1, 0.5, 1, 0.25]
    const xt::xarray<double> a{0.0, 0.0, 0.0, 1.0};
    const xt::xarray<double> b{0.5, 2.0, 1e-7, -3.0};
    const auto r = blend::merge::nearswap(a, b, {.t = 1.0});
    CHECK(r(0) == 0.5);
    CHECK(r(1) == 1.0);
    CHECK(r(2) == 1e-7);
    CHECK(r(3) == 0.25 * -3.0 + 0.75 * 1.0);
    // t = 0.1: entry 0 w = 0.2 -> 0.1; entry 1 w = 0.05 -> 0.1
    const auto s = blend::merge::nearswap(a, b, {.t = 0.1});
    CHECK(s(0) == Approx(0.1).epsilon(1e-15));
    CHECK(s(1) == Approx(0.1).epsilon(1e-15));
}

TEST_CASE("nearswap with t = 0 or t < 0 gives the base; identical inputs give themselves", "[merge][nearswap]") {
    const auto a = random_tensor(1, {7, 33}, 2.f);
    const auto b = random_tensor(2, {7, 33}, 2.f);
    CHECK((blend::merge::nearswap(a, b, {.t = 0.0}) == a));
    CHECK((blend::merge::nearswap(a, b, {.t = -0.5}) == a));
    CHECK((blend::merge::nearswap(b, b, {.t = 0.3}) == b));
    // t larger than every |a - b| gives the other model
    CHECK((blend::merge::nearswap(a, b, {.t = 10.0}) == b));
}

TEST_CASE("nearswap gives identical results for 1 and 2 threads", "[merge][nearswap]") {
    const auto a = random_tensor(3, {100003}, 1.f);
    const auto b = random_tensor(4, {100003}, 1.f);
    const std::size_t previous = blend::num_threads();
    blend::set_num_threads(1);
    const auto one = blend::merge::nearswap(a, b, {.t = 0.05});
    blend::set_num_threads(2);
    const auto two = blend::merge::nearswap(a, b, {.t = 0.05});
    blend::set_num_threads(previous);
    CHECK((one == two));
}

TEST_CASE("nearswap rejects a missing t and wrong input counts", "[merge][nearswap]") {
    const xt::xarray<float> a{1.f, 2.f};
    CHECK_THROWS_WITH(blend::merge::nearswap(a, a, {}), "nearswap: parameter 't' is required");
    std::vector<blend::any_tensor_view> three(3, blend::any_tensor_view::of(a));
    xt::xarray<float> out = a;
    CHECK_THROWS_AS(blend::merge::nearswap_into(three, blend::any_mutable_tensor_view::of(out), {.t = 1.0}),
                    blend::invalid_argument);
    const xt::xarray<float> c{1.f, 2.f, 3.f};
    const std::vector<blend::any_tensor_view> mismatched{blend::any_tensor_view::of(a), blend::any_tensor_view::of(c)};
    CHECK_THROWS_AS(blend::merge::nearswap_into(mismatched, blend::any_mutable_tensor_view::of(out), {.t = 1.0}),
                    blend::shape_error);
}

TEST_CASE("nearswap agrees with the float64 reference", "[merge][nearswap]") {
    const auto merge = [](auto views, const auto& out) { blend::merge::nearswap_into(views, out, {.t = 0.001}); };
    for (const char* name : {"nearswap_f32", "nearswap_bf16"}) misc_test::check_case(name, merge);
}

TEST_CASE("nearswap agrees with mergekit 0.1.5 where its arithmetic allows", "[merge][nearswap]") {
    const auto merge = [](auto views, const auto& out) { blend::merge::nearswap_into(views, out, {.t = 0.001}); };
    misc_test::check_mergekit("nearswap_f32", merge);
    misc_test::check_mergekit("nearswap_bf16", merge, 0.02);  // bf16 |a - b|, division and blend in mergekit
}
