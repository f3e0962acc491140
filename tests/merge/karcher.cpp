// Tests for blend/merge/karcher.hpp (METHODS.md §1 "karcher", mergekit's definition).
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/karcher.hpp>

#include "spherical_fixtures.hpp"
#include "support/catch.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace {

namespace fx = spherical_fixtures;
using blend::dtype;

xt::xarray<float> random_tensor(std::vector<std::size_t> shape, std::uint64_t stream) {
    blend::random_stream rng(31, stream);
    auto x = xt::xarray<float>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform_float(i) * 2.f - 1.f;
    return x;
}

bool close(double got, double want, double rel) { return std::abs(got - want) <= rel * std::abs(want); }

}  // namespace

TEST_CASE("karcher of two orthogonal vectors is the geodesic midpoint times the mean norm", "[merge][karcher]") {
    const std::vector<xt::xarray<double>> xs{{3.0, 0.0}, {0.0, 1.0}};
    const auto r = blend::merge::karcher(xs);  // direction (1, 1)/sqrt(2), scale (3 + 1)/2
    CHECK(close(r(0), std::sqrt(2.0), 1e-15));
    CHECK(close(r(1), std::sqrt(2.0), 1e-15));
}

TEST_CASE("karcher of the three coordinate axes is their symmetric mean", "[merge][karcher]") {
    const std::vector<xt::xarray<double>> xs{{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 0.0, 1.0}};
    const auto r = blend::merge::karcher(xs);
    for (std::size_t i = 0; i < 3; ++i) CHECK(close(r(i), 1.0 / std::sqrt(3.0), 1e-15));
}

TEST_CASE("karcher of unequally spread directions is the intrinsic mean, not the normalised average", "[merge][karcher]") {
    // Unit vectors at angles 0, 0 and 90 degrees: the Karcher mean on the circle is at 30 degrees
    // (the arithmetic mean of the angles); the normalised average would be at atan(1/2) = 26.57 degrees.
    const std::vector<xt::xarray<double>> xs{{1.0, 0.0}, {1.0, 0.0}, {0.0, 1.0}};
    const auto r = blend::merge::karcher(xs, {.max_iter = 100, .tol = 1e-12});
    CHECK(close(r(0), std::cos(M_PI / 6), 1e-12));
    CHECK(close(r(1), std::sin(M_PI / 6), 1e-12));
    // With the defaults (10 iterations, tol 1e-5) it converges to within the tolerance.
    const auto d = blend::merge::karcher(xs);
    CHECK(std::abs(std::atan2(d(1), d(0)) - M_PI / 6) < 1e-5);
}

TEST_CASE("karcher: one input is returned, identical inputs give themselves", "[merge][karcher]") {
    const auto a = random_tensor({21, 35}, 1);
    CHECK((blend::merge::karcher(std::vector<xt::xarray<float>>{a}) == a));
    CHECK((blend::merge::karcher(std::vector<xt::xarray<float>>{a, a, a}) == a));
}

TEST_CASE("karcher skips inputs with norm below tol but counts their norm in the scale", "[merge][karcher]") {
    const std::vector<xt::xarray<double>> xs{{2.0, 0.0}, {0.0, 0.0}};
    CHECK((blend::merge::karcher(xs) == xt::xarray<double>{1.0, 0.0}));
    const std::vector<xt::xarray<double>> zeros{{0.0, 0.0}, {0.0, 0.0}};
    CHECK((blend::merge::karcher(zeros) == xt::xarray<double>{0.0, 0.0}));
}

TEST_CASE("karcher gives identical results for 1 and 2 threads", "[merge][karcher]") {
    const std::vector<xt::xarray<float>> xs{random_tensor({100003}, 2), random_tensor({100003}, 3), random_tensor({100003}, 4)};
    const std::size_t previous = blend::num_threads();
    blend::set_num_threads(1);
    const auto one = blend::merge::karcher(xs);
    blend::set_num_threads(2);
    const auto two = blend::merge::karcher(xs);
    blend::set_num_threads(previous);
    CHECK((one == two));
}

TEST_CASE("karcher rejects no inputs, mismatched shapes and a bad tol", "[merge][karcher]") {
    CHECK_THROWS_AS(blend::merge::karcher(std::vector<xt::xarray<float>>{}), blend::invalid_argument);
    const std::vector<xt::xarray<float>> mismatched{{1.f, 2.f}, {3.f, 4.f, 5.f}};
    CHECK_THROWS_WITH(blend::merge::karcher(mismatched), "karcher: input 1 has shape [3], expected [2]");
    const std::vector<xt::xarray<float>> xs{{1.f, 2.f}, {3.f, 4.f}};
    CHECK_THROWS_AS(blend::merge::karcher(xs, {.tol = -1.0}), blend::invalid_argument);
}

TEST_CASE("karcher agrees with the float64 reference on f32, bf16 and f64 tensors", "[merge][karcher]") {
    struct spec {
        std::string name;
        dtype type;
        std::size_t count;
    };
    for (const spec& s : {spec{"karcher_f32", dtype::f32, 3}, spec{"karcher_bf16", dtype::bf16, 4},
                          spec{"karcher_f64", dtype::f64, 3}, spec{"karcher_two_f32", dtype::f32, 2}}) {
        std::vector<fx::owned> xs;
        std::vector<blend::any_tensor_view> in;
        for (std::size_t i = 0; i < s.count; ++i) xs.push_back(fx::load(s.name + "_x" + std::to_string(i) + ".npy", s.type));
        for (const auto& x : xs) in.push_back(x.view());
        auto out = fx::output(s.type, xs[0].shape);
        blend::merge::karcher_into(in, out.mutable_view());
        fx::compare(s.name, out, fx::load(s.name + "_expected.npy", dtype::f64).values(), fx::tolerance(s.type, 1e-5));
    }
}

TEST_CASE("karcher agrees with mergekit 0.1.5", "[merge][karcher][mergekit]") {
    // mergekit stops iterating at |T| < tol (1e-5), like blend, and computes in the storage dtype.
    struct spec {
        std::string name;
        dtype type;
        std::size_t count;
        bool base;  // the base is one more input, last here (mergekit's group order in the fixture)
    };
    for (const spec& s : {spec{"karcher_f32", dtype::f32, 3, false}, spec{"karcher_f64", dtype::f64, 4, false},
                          spec{"karcher_base_f32", dtype::f32, 2, true}}) {
        std::vector<fx::owned> xs;
        for (std::size_t i = 0; i < s.count; ++i) xs.push_back(fx::load("mergekit/" + s.name + "_x" + std::to_string(i) + ".npy", s.type));
        if (s.base) xs.push_back(fx::load("mergekit/" + s.name + "_base.npy", s.type));
        std::vector<blend::any_tensor_view> in;
        for (const auto& x : xs) in.push_back(x.view());
        auto out = fx::output(s.type, xs[0].shape);
        blend::merge::karcher_into(in, out.mutable_view());
        fx::compare("mergekit " + s.name, out, fx::load("mergekit/" + s.name + "_out.npy", dtype::f64).values(),
                    fx::tolerance(s.type, 1e-5));
    }
}
