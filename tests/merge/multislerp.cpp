// Tests for blend/merge/multislerp.hpp (METHODS.md §1 "multislerp", mergekit's definition).
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/multislerp.hpp>

#include "spherical_fixtures.hpp"
#include "support/catch.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace {

namespace fx = spherical_fixtures;
using blend::dtype;

xt::xarray<float> random_tensor(std::vector<std::size_t> shape, std::uint64_t stream) {
    blend::random_stream rng(21, stream);
    auto x = xt::xarray<float>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform_float(i) * 2.f - 1.f;
    return x;
}

bool close(double got, double want, double rel) { return std::abs(got - want) <= rel * std::abs(want); }

}  // namespace

TEST_CASE("multislerp of two orthogonal unit vectors is the slerp midpoint", "[merge][multislerp]") {
    const std::vector<xt::xarray<double>> xs{{1.0, 0.0}, {0.0, 1.0}};
    const auto r = blend::merge::multislerp(xs);
    CHECK(close(r(0), std::sqrt(0.5), 1e-15));
    CHECK(close(r(1), std::sqrt(0.5), 1e-15));
}

TEST_CASE("multislerp scales the mean direction by the weighted mean norm", "[merge][multislerp]") {
    // u = (1, 0), (0, 1); weights 1/4, 3/4: direction (1, 3)/sqrt(10), scale 2/4 + 3 * 4/4 (norms 2 and 4).
    // eps = 1e-8 is added to the norms before dividing, so agreement is to ~1e-9 relative.
    const std::vector<xt::xarray<double>> xs{{2.0, 0.0}, {0.0, 4.0}};
    const std::vector<double> w{1.0, 3.0};
    const auto r = blend::merge::multislerp(xs, {.weights = w});
    const double scale = 0.25 * 2.0 + 0.75 * 4.0;
    CHECK(close(r(0), scale / std::sqrt(10.0), 1e-8));
    CHECK(close(r(1), 3.0 * scale / std::sqrt(10.0), 1e-8));
    const auto exact = blend::merge::multislerp(xs, {.weights = w, .eps = 0.0});
    CHECK(close(exact(0), scale / std::sqrt(10.0), 1e-15));
    CHECK(close(exact(1), 3.0 * scale / std::sqrt(10.0), 1e-15));
    // without normalizing, the weights multiply the scale only (the direction is the same)
    const auto raw = blend::merge::multislerp(xs, {.weights = w, .normalize_weights = false});
    CHECK(close(raw(0), 4.0 * r(0), 1e-14));
    CHECK(close(raw(1), 4.0 * r(1), 1e-14));
}

TEST_CASE("multislerp with a base works on the task vectors", "[merge][multislerp]") {
    const xt::xarray<double> base{1.0, -1.0};
    const std::vector<xt::xarray<double>> xs{{2.0, -1.0}, {1.0, 0.0}};
    const auto r = blend::merge::multislerp(base, xs);
    CHECK(close(r(0), 1.0 + std::sqrt(0.5), 1e-15));
    CHECK(close(r(1), -1.0 + std::sqrt(0.5), 1e-15));
}

TEST_CASE("multislerp: one input is returned, identical inputs give themselves", "[merge][multislerp]") {
    const auto a = random_tensor({13, 57}, 1);
    const auto base = random_tensor({13, 57}, 2);
    CHECK((blend::merge::multislerp(std::vector<xt::xarray<float>>{a}) == a));
    CHECK((blend::merge::multislerp(base, std::vector<xt::xarray<float>>{a}) == a));
    const std::vector<double> w{0.2, 0.5, 0.3};
    CHECK((blend::merge::multislerp(std::vector<xt::xarray<float>>{a, a, a}, {.weights = w}) == a));
    CHECK((blend::merge::multislerp(base, std::vector<xt::xarray<float>>{a, a, a}, {.weights = w}) == a));
}

TEST_CASE("multislerp of opposite inputs: linear for two, an error for more", "[merge][multislerp]") {
    const std::vector<xt::xarray<double>> two{{1.0, 2.0}, {-1.0, -2.0}};
    CHECK((blend::merge::multislerp(two) == xt::xarray<double>{0.0, 0.0}));
    const std::vector<double> w{3.0, 1.0};  // m = 0.75 u - 0.25 u != 0: a real spherical result
    const auto r = blend::merge::multislerp(two, {.weights = w});
    CHECK(close(r(0), 1.0, 1e-14));  // m = u / 2, scale = sqrt(5): the input (1, 2) back
    CHECK(close(r(1), 2.0, 1e-14));
    const std::vector<xt::xarray<double>> three{{1.0, 0.0}, {-1.0, 0.0}, {0.0, 0.0}};
    CHECK_THROWS_AS(blend::merge::multislerp(three), blend::invalid_argument);
}

TEST_CASE("multislerp rejects weights summing to zero and wrong weight counts", "[merge][multislerp]") {
    const std::vector<xt::xarray<float>> xs{{1.f, 2.f}, {3.f, 4.f}};
    const std::vector<double> opposite{1.0, -1.0};
    CHECK_THROWS_WITH(blend::merge::multislerp(xs, {.weights = opposite}), "multislerp: weights sum to zero (0)");
    CHECK_NOTHROW(blend::merge::multislerp(xs, {.weights = opposite, .normalize_weights = false}));
    const std::vector<double> three{1.0, 1.0, 1.0};
    CHECK_THROWS_WITH(blend::merge::multislerp(xs, {.weights = three}), "multislerp: 3 weights for 2 models");
    CHECK_THROWS_AS(blend::merge::multislerp(std::vector<xt::xarray<float>>{}), blend::invalid_argument);
}

TEST_CASE("multislerp gives identical results for 1 and 2 threads", "[merge][multislerp]") {
    const auto base = random_tensor({100003}, 3);
    const std::vector<xt::xarray<float>> xs{random_tensor({100003}, 4), random_tensor({100003}, 5), random_tensor({100003}, 6)};
    const std::vector<double> w{0.2, 0.3, 0.5};
    const std::size_t previous = blend::num_threads();
    blend::set_num_threads(1);
    const auto one = blend::merge::multislerp(base, xs, {.weights = w});
    blend::set_num_threads(2);
    const auto two = blend::merge::multislerp(base, xs, {.weights = w});
    blend::set_num_threads(previous);
    CHECK((one == two));
}

TEST_CASE("multislerp agrees with the float64 reference on f32 and bf16 tensors", "[merge][multislerp]") {
    struct spec {
        std::string name;
        dtype type;
        bool base;
        std::vector<double> w;
        bool normalize;
    };
    const std::vector<spec> specs{
        {"multislerp_f32", dtype::f32, false, {0.2, 0.3, 0.5}, true},
        {"multislerp_base_bf16", dtype::bf16, true, {1.0, 2.0, 3.0}, true},
        {"multislerp_nonorm_f32", dtype::f32, false, {0.5, 0.25, 0.4}, false},
        {"multislerp_two_base_f32", dtype::f32, true, {0.3, 0.7}, true},
    };
    for (const spec& s : specs) {
        std::vector<fx::owned> xs;
        std::vector<blend::any_tensor_view> in;
        for (std::size_t i = 0; i < s.w.size(); ++i) xs.push_back(fx::load(s.name + "_x" + std::to_string(i) + ".npy", s.type));
        for (const auto& x : xs) in.push_back(x.view());
        fx::owned base;
        if (s.base) base = fx::load(s.name + "_base.npy", s.type);
        const blend::any_tensor_view bv = base.view();
        auto out = fx::output(s.type, xs[0].shape);
        blend::merge::multislerp_into(s.base ? &bv : nullptr, in, out.mutable_view(),
                                      {.weights = s.w, .normalize_weights = s.normalize});
        fx::compare(s.name, out, fx::load(s.name + "_expected.npy", dtype::f64).values(), fx::tolerance(s.type));
    }
}

TEST_CASE("multislerp agrees with mergekit 0.1.5", "[merge][multislerp][mergekit]") {
    // mergekit computes in the storage dtype; its tangent sum T (zero in exact arithmetic) is float32
    // rounding noise that it adds to the result, so agreement is to float32 rounding of the inputs' scale.
    struct spec {
        std::string name;
        dtype type;
        bool base;
        std::vector<double> w;
        bool normalize;
        double coeff;
    };
    const std::vector<spec> specs{
        {"multislerp_f32", dtype::f32, false, {0.2, 0.3, 0.5}, true, 2e-5},
        {"multislerp_base_f32", dtype::f32, true, {1.0, 2.0, 3.0}, true, 2e-5},
        {"multislerp_nonorm_f64", dtype::f64, false, {0.5, 0.25, 0.4}, false, 1e-12},
    };
    for (const spec& s : specs) {
        std::vector<fx::owned> xs;
        std::vector<blend::any_tensor_view> in;
        for (std::size_t i = 0; i < s.w.size(); ++i) xs.push_back(fx::load("mergekit/" + s.name + "_x" + std::to_string(i) + ".npy", s.type));
        for (const auto& x : xs) in.push_back(x.view());
        fx::owned base;
        if (s.base) base = fx::load("mergekit/" + s.name + "_base.npy", s.type);
        const blend::any_tensor_view bv = base.view();
        auto out = fx::output(s.type, xs[0].shape);
        blend::merge::multislerp_into(s.base ? &bv : nullptr, in, out.mutable_view(),
                                      {.weights = s.w, .normalize_weights = s.normalize});
        fx::compare("mergekit " + s.name, out, fx::load("mergekit/" + s.name + "_out.npy", dtype::f64).values(), s.coeff);
    }
}
