// Tests for blend/merge/ram.hpp (METHODS.md §1 "ram, ramplus_tl", mergekit 0.1.5 ram.py).
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/ram.hpp>

#include "merge/misc_support.hpp"
#include "support/catch.hpp"

#include <vector>

namespace {

xt::xarray<float> random_tensor(std::uint64_t key, std::vector<std::size_t> shape, float scale, float keep = 1.f) {
    const blend::random_stream rng(17, key);
    xt::xarray<float> x = xt::xarray<float>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) {
        x.data()[i] = rng.uniform(i) < keep ? (rng.uniform_float(i) - 0.5f) * scale : 0.f;
    }
    return x;
}

}  // namespace

TEST_CASE("ram golden: unique entries take their d, shared the mean, none the base", "[merge][ram]") {
    // base 0; d1 = [1, 0, 2, 0], d2 = [3, 0, 0, 1e-6 (<= epsilon)]
    const xt::xarray<double> base{0.0, 0.0, 0.0, 0.0};
    const std::vector<xt::xarray<double>> xs{{1.0, 0.0, 2.0, 0.0}, {3.0, 0.0, 0.0, 1e-6}};
    CHECK((blend::merge::ram(base, xs) == xt::xarray<double>{2.0, 0.0, 2.0, 0.0}));
    // epsilon 0: the 1e-6 now counts as a change by model 2 alone
    CHECK((blend::merge::ram(base, xs, {.epsilon = 0.0}) == xt::xarray<double>{2.0, 0.0, 2.0, 1e-6}));
    // a non-zero base: entries stay B + ...
    const xt::xarray<double> b1{1.0, 1.0, 1.0, 1.0};
    const std::vector<xt::xarray<double>> ys{{2.0, 1.0, 3.0, 1.0}, {4.0, 1.0, 1.0, 1.000001}};
    CHECK((blend::merge::ram(b1, ys) == xt::xarray<double>{3.0, 1.0, 3.0, 1.0}));
}

TEST_CASE("ramplus_tl golden: unique contributions scaled by lambda", "[merge][ram]") {
    // model 1: shared 1, unique 1 -> rho 1 -> clamp 0.2 -> lambda 1.02; model 2: shared 1, unique 0
    const xt::xarray<double> base{0.0, 0.0, 0.0, 0.0};
    const std::vector<xt::xarray<double>> xs{{1.0, 0.0, 2.0, 0.0}, {3.0, 0.0, 0.0, 1e-6}};
    const auto r = blend::merge::ramplus_tl(base, xs);
    CHECK(r(0) == 2.0);
    CHECK(r(1) == 0.0);
    CHECK(r(2) == 2.0 * 1.02);
    CHECK(r(3) == 0.0);
    // r 0.5, alpha 0.25: model 3 has shared 1, unique 3 -> rho 1/3 -> 0.25 -> lambda 1.125
    const std::vector<xt::xarray<double>> zs{{1.0, 2.0, 3.0, 4.0, 0.0}, {1.0, 0.0, 0.0, 0.0, 0.0}};
    const auto s = blend::merge::ramplus_tl(xt::xarray<double>(xt::zeros<double>({5})), zs, {.r = 0.5, .alpha = 0.25});
    CHECK((s == xt::xarray<double>{1.0, 2 * 1.125, 3 * 1.125, 4 * 1.125, 0.0}));
}

TEST_CASE("ramplus_tl lambdas are finite for a model without unique entries", "[merge][ram]") {
    const xt::xarray<double> base = xt::zeros<double>({3});
    const xt::xarray<double> x1{1.0, 1.0, 0.0};
    const xt::xarray<double> x2{1.0, 1.0, 5.0};
    const std::vector<blend::any_tensor_view> views{blend::any_tensor_view::of(base), blend::any_tensor_view::of(x1),
                                                    blend::any_tensor_view::of(x2)};
    const auto lambdas = blend::merge::ramplus_tl_lambdas(views);
    // model 1: shared 2, unique 0 -> rho = 2 / 1e-5 -> clamp 0.2; model 2: shared 2, unique 1 -> rho 2 -> 0.2
    CHECK(lambdas == std::vector<double>{1.0 + 0.1 * 0.2, 1.0 + 0.1 * 0.2});
}

TEST_CASE("ram and ramplus_tl of identical models give them back; no other model gives the base", "[merge][ram]") {
    const auto base = random_tensor(1, {13, 31}, 1.f);
    const auto x = random_tensor(2, {13, 31}, 1.f);
    const std::vector<xt::xarray<float>> xs{x, x};
    CHECK((blend::merge::ram(base, xs) == x));
    CHECK((blend::merge::ramplus_tl(base, xs) == x));
    const std::vector<xt::xarray<float>> none;
    CHECK((blend::merge::ram(base, none) == base));
    CHECK((blend::merge::ramplus_tl(base, none) == base));
}

TEST_CASE("ram and ramplus_tl give identical results for 1 and 2 threads", "[merge][ram]") {
    const auto base = random_tensor(3, {100003}, 1.f);
    std::vector<xt::xarray<float>> xs;
    for (std::uint64_t m = 0; m < 3; ++m) xs.push_back(base + random_tensor(10 + m, {100003}, 0.01f, 0.4f));
    const std::size_t previous = blend::num_threads();
    blend::set_num_threads(1);
    const auto one = blend::merge::ram(base, xs);
    const auto one_plus = blend::merge::ramplus_tl(base, xs, {.r = 0.5, .alpha = 1.0});
    blend::set_num_threads(2);
    const auto two = blend::merge::ram(base, xs);
    const auto two_plus = blend::merge::ramplus_tl(base, xs, {.r = 0.5, .alpha = 1.0});
    blend::set_num_threads(previous);
    CHECK((one == two));
    CHECK((one_plus == two_plus));
}

TEST_CASE("ram rejects a negative epsilon and mismatched shapes", "[merge][ram]") {
    const xt::xarray<float> a{1.f, 2.f};
    const std::vector<xt::xarray<float>> xs{a};
    CHECK_THROWS_AS(blend::merge::ram(a, xs, {.epsilon = -1.0}), blend::invalid_argument);
    const std::vector<xt::xarray<float>> mismatched{xt::xarray<float>{1.f, 2.f, 3.f}};
    CHECK_THROWS_AS(blend::merge::ram(a, mismatched), blend::shape_error);
    CHECK_THROWS_AS(blend::merge::ramplus_tl(a, mismatched), blend::shape_error);
}

TEST_CASE("ram and ramplus_tl agree with the float64 reference", "[merge][ram]") {
    const auto ram = [](auto views, const auto& out) { blend::merge::ram_into(views, out); };
    const auto plus = [](auto views, const auto& out) { blend::merge::ramplus_tl_into(views, out); };
    for (const char* name : {"ram_f32", "ram_bf16"}) misc_test::check_case(name, ram);
    for (const char* name : {"ramplus_tl_f32", "ramplus_tl_bf16", "ramplus_tl_f64"}) misc_test::check_case(name, plus);
    misc_test::check_case("ramplus_tl_r05_f32", [](auto views, const auto& out) {
        blend::merge::ramplus_tl_into(views, out, {.r = 0.5, .alpha = 1.0});
    });
    misc_test::check_case("ramplus_tl_eps_f32", [](auto views, const auto& out) {
        blend::merge::ramplus_tl_into(views, out, {.r = 0.3, .alpha = 0.05, .epsilon = 1e-3});
    });
}

TEST_CASE("ram and ramplus_tl agree with mergekit 0.1.5 where its arithmetic allows", "[merge][ram]") {
    const auto ram = [](auto views, const auto& out) { blend::merge::ram_into(views, out); };
    const auto plus = [](auto views, const auto& out) { blend::merge::ramplus_tl_into(views, out); };
    misc_test::check_mergekit("ram_f32", ram);
    misc_test::check_mergekit("ramplus_tl_f32", plus);
    misc_test::check_mergekit("ramplus_tl_f64", plus);  // mergekit's float32 lambda: ~1.6e-7 relative
    misc_test::check_mergekit("ramplus_tl_r05_f32", [](auto views, const auto& out) {
        blend::merge::ramplus_tl_into(views, out, {.r = 0.5, .alpha = 1.0});
    });
    misc_test::check_mergekit("ramplus_tl_eps_f32", [](auto views, const auto& out) {
        blend::merge::ramplus_tl_into(views, out, {.r = 0.3, .alpha = 0.05, .epsilon = 1e-3});
    });
    misc_test::check_mergekit("ram_bf16", ram, 0.01);  // bf16 sums and mean in mergekit
    misc_test::check_mergekit("ramplus_tl_bf16", plus, 0.01);
}
