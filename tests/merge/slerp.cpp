// Tests for blend/merge/slerp.hpp (METHODS.md §1 "slerp", "nuslerp").
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/slerp.hpp>

#include "spherical_fixtures.hpp"
#include "support/catch.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace {

namespace fx = spherical_fixtures;
using blend::dtype;

xt::xarray<float> random_tensor(std::vector<std::size_t> shape, std::uint64_t stream) {
    blend::random_stream rng(11, stream);
    auto x = xt::xarray<float>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform_float(i) * 2.f - 1.f;
    return x;
}

bool close(double got, double want, double rel) { return std::abs(got - want) <= rel * std::abs(want); }

template <class F>
auto with_threads(std::size_t n, F&& f) {
    const std::size_t previous = blend::num_threads();
    blend::set_num_threads(n);
    auto r = f();
    blend::set_num_threads(previous);
    return r;
}

}  // namespace

TEST_CASE("slerp of orthogonal vectors follows the great circle", "[merge][slerp]") {
    const xt::xarray<double> a{1.0, 0.0};
    const xt::xarray<double> b{0.0, 1.0};
    const auto mid = blend::merge::slerp(a, b, {.t = 0.5});
    CHECK(close(mid(0), std::sqrt(0.5), 1e-15));
    CHECK(close(mid(1), std::sqrt(0.5), 1e-15));
    // theta = pi/2 with unnormalized v0 = (2, 0): sin(pi/3) * 2 = sqrt(3), sin(pi/6) * 1 = 0.5.
    const auto third = blend::merge::slerp(xt::xarray<double>{2.0, 0.0}, b, {.t = 1.0 / 3.0});
    CHECK(close(third(0), std::sqrt(3.0), 1e-15));
    CHECK(close(third(1), 0.5, 1e-15));
}

TEST_CASE("slerp of colinear or antiparallel vectors is lerp", "[merge][slerp]") {
    CHECK((blend::merge::slerp(xt::xarray<double>{1.0, 1.0}, xt::xarray<double>{2.0, 2.0}, {.t = 0.25}) ==
           xt::xarray<double>{1.25, 1.25}));
    CHECK((blend::merge::slerp(xt::xarray<double>{1.0, 1.0}, xt::xarray<double>{-2.0, -2.0}, {.t = 0.5}) ==
           xt::xarray<double>{-0.5, -0.5}));
}

TEST_CASE("slerp with a zero vector treats it as orthogonal", "[merge][slerp]") {
    // u0 = v0 = 0, dot = 0, theta = pi/2: result = sin(t pi/2) v1.
    const auto r = blend::merge::slerp(xt::xarray<double>{0.0, 0.0}, xt::xarray<double>{3.0, -1.0}, {.t = 0.3});
    CHECK(close(r(0), 3.0 * std::sin(0.15 * M_PI), 1e-15));
    CHECK(close(r(1), -std::sin(0.15 * M_PI), 1e-15));
}

TEST_CASE("slerp at t = 0 gives the base, at t = 1 the other, of identical inputs the input", "[merge][slerp]") {
    const auto a = random_tensor({17, 33}, 1);
    const auto b = random_tensor({17, 33}, 2);
    CHECK((blend::merge::slerp(a, b, {.t = 0.0}) == a));
    CHECK((blend::merge::slerp(a, b, {.t = 1.0}) == b));
    CHECK((blend::merge::slerp(a, a, {.t = 0.37}) == a));
}

TEST_CASE("slerp gives identical results for 1 and 2 threads", "[merge][slerp]") {
    const auto a = random_tensor({100003}, 3);
    const auto b = random_tensor({100003}, 4);
    const auto one = with_threads(1, [&] { return blend::merge::slerp(a, b, {.t = 0.6}); });
    const auto two = with_threads(2, [&] { return blend::merge::slerp(a, b, {.t = 0.6}); });
    CHECK((one == two));
}

TEST_CASE("slerp rejects a wrong input count, a non-finite t and mismatched shapes", "[merge][slerp]") {
    const auto a = random_tensor({4}, 5);
    const auto c = random_tensor({5}, 6);
    const std::vector<blend::any_tensor_view> three{blend::any_tensor_view::of(a), blend::any_tensor_view::of(a),
                                                    blend::any_tensor_view::of(a)};
    auto out = fx::output(dtype::f32, {4});
    CHECK_THROWS_WITH(blend::merge::slerp_into(three, out.mutable_view()), "slerp: needs exactly 2 models, got 3");
    CHECK_THROWS_AS(blend::merge::slerp(a, a, {.t = std::nan("")}), blend::invalid_argument);
    CHECK_THROWS_WITH(blend::merge::slerp(a, c), "slerp: input 1 has shape [5], expected [4]");
}

TEST_CASE("slerp agrees with the float64 reference on f32, bf16 and f64 tensors", "[merge][slerp]") {
    struct spec {
        std::string name;
        dtype type;
        double t;
    };
    for (const spec& s : {spec{"slerp_f32", dtype::f32, 0.3}, spec{"slerp_bf16", dtype::bf16, 0.7},
                          spec{"slerp_f64", dtype::f64, 0.45}, spec{"slerp_lerp", dtype::f32, 0.4}}) {
        const auto base = fx::load(s.name + "_base.npy", s.type);
        const auto x = fx::load(s.name + "_x0.npy", s.type);
        const std::vector<blend::any_tensor_view> in{base.view(), x.view()};
        auto out = fx::output(s.type, base.shape);
        blend::merge::slerp_into(in, out.mutable_view(), {.t = s.t});
        fx::compare(s.name, out, fx::load(s.name + "_expected.npy", dtype::f64).values(), fx::tolerance(s.type));
    }
}

TEST_CASE("nuslerp interpolates with t = w_b / (w_a + w_b)", "[merge][nuslerp]") {
    const xt::xarray<double> a{1.0, 0.0};
    const xt::xarray<double> b{0.0, 1.0};
    const std::vector<double> w{1.0, 2.0};  // t = 2/3: (sin(pi/6), sin(pi/3))
    const auto r = blend::merge::nuslerp(a, b, {.weights = w});
    CHECK(close(r(0), 0.5, 1e-15));
    CHECK(close(r(1), std::sqrt(0.75), 1e-15));
    // weights summing to zero give t = 0.5, as do no weights
    const std::vector<double> opposite{1.0, -1.0};
    CHECK((blend::merge::nuslerp(a, b, {.weights = opposite}) == blend::merge::nuslerp(a, b)));
    CHECK(close(blend::merge::nuslerp(a, b)(0), std::sqrt(0.5), 1e-15));
}

TEST_CASE("nuslerp with a base interpolates the task vectors", "[merge][nuslerp]") {
    const xt::xarray<double> base{1.0, 1.0};
    const auto r = blend::merge::nuslerp(base, xt::xarray<double>{2.0, 1.0}, xt::xarray<double>{1.0, 2.0});
    CHECK(close(r(0), 1.0 + std::sqrt(0.5), 1e-15));
    CHECK(close(r(1), 1.0 + std::sqrt(0.5), 1e-15));
    // colinear task vectors (|sin theta| < 1e-8) are lerped
    // (deltas (3, 4) and (6, 8): cos = 50 / (5 * 10) = 1 exactly)
    const auto lerp = blend::merge::nuslerp(base, xt::xarray<double>{4.0, 5.0}, xt::xarray<double>{7.0, 9.0});
    CHECK((lerp == xt::xarray<double>{5.5, 7.0}));
}

TEST_CASE("nuslerp per row and per column", "[merge][nuslerp]") {
    // rows: row 0 orthogonal (midpoint), row 1 colinear (lerp)
    const xt::xarray<double> a{{1.0, 0.0}, {3.0, 0.0}};
    const xt::xarray<double> b{{0.0, 1.0}, {3.0, 0.0}};
    const auto rows = blend::merge::nuslerp(a, b, {.flatten = false});
    CHECK(close(rows(0, 0), std::sqrt(0.5), 1e-15));
    CHECK(close(rows(0, 1), std::sqrt(0.5), 1e-15));
    CHECK(rows(1, 0) == 3.0);
    CHECK(rows(1, 1) == 0.0);
    // columns of a: (1, 3), (0, 0); of b: (0, 3), (1, 0) — column 1: |a| clamps to 1e-7, cos 0, midpoint
    const auto cols = blend::merge::nuslerp(a, b, {.flatten = false, .row_wise = true});
    const double theta = std::acos(3.0 / std::sqrt(10.0));  // angle between (1, 3) and (0, 3)
    CHECK(close(cols(0, 0), std::sin(theta / 2) / std::sin(theta), 1e-14));
    CHECK(close(cols(1, 0), (3.0 + 3.0) * std::sin(theta / 2) / std::sin(theta), 1e-14));
    CHECK(close(cols(0, 1), std::sqrt(0.5), 1e-15));
    CHECK(cols(1, 1) == 0.0);
}

TEST_CASE("nuslerp: row-wise on one row equals flatten, columns equal rows of the transpose", "[merge][nuslerp]") {
    const auto a = random_tensor({1, 3000}, 7);
    const auto b = random_tensor({1, 3000}, 8);
    const std::vector<double> w{0.3, 0.9};
    CHECK((blend::merge::nuslerp(a, b, {.weights = w, .flatten = false}) == blend::merge::nuslerp(a, b, {.weights = w})));
    const auto a1 = xt::xarray<float>(xt::reshape_view(a, {3000}));
    const auto b1 = xt::xarray<float>(xt::reshape_view(b, {3000}));
    CHECK((blend::merge::nuslerp(a1, b1, {.weights = w, .flatten = false, .row_wise = true}) ==
           blend::merge::nuslerp(a1, b1, {.weights = w})));
    // (3, 9000) columns are processed in strided blocks; compare with the rows of the transpose
    const auto c = random_tensor({3, 9000}, 9);
    const auto d = random_tensor({3, 9000}, 10);
    const auto ct = xt::xarray<float>(xt::transpose(c));
    const auto dt = xt::xarray<float>(xt::transpose(d));
    const auto cols = blend::merge::nuslerp(c, d, {.weights = w, .flatten = false, .row_wise = true});
    const auto rows = blend::merge::nuslerp(ct, dt, {.weights = w, .flatten = false});
    CHECK((xt::xarray<float>(xt::transpose(rows)) == cols));
}

TEST_CASE("nuslerp: t = 0 gives a, t = 1 gives b, identical inputs give themselves", "[merge][nuslerp]") {
    const auto base = random_tensor({9, 40}, 11);
    const auto a = random_tensor({9, 40}, 12);
    const auto b = random_tensor({9, 40}, 13);
    const std::vector<double> only_a{1.0, 0.0};
    const std::vector<double> only_b{0.0, 2.0};
    for (const bool flatten : {true, false}) {
        CHECK((blend::merge::nuslerp(base, a, b, {.weights = only_a, .flatten = flatten}) == a));
        CHECK((blend::merge::nuslerp(base, a, b, {.weights = only_b, .flatten = flatten}) == b));
        CHECK((blend::merge::nuslerp(a, b, {.weights = only_a, .flatten = flatten}) == a));
        CHECK((blend::merge::nuslerp(a, a, {.flatten = flatten, .row_wise = true}) == a));
    }
}

TEST_CASE("nuslerp gives identical results for 1 and 2 threads", "[merge][nuslerp]") {
    const auto base = random_tensor({300, 517}, 14);
    const auto a = random_tensor({300, 517}, 15);
    const auto b = random_tensor({300, 517}, 16);
    for (const bool flatten : {true, false}) {
        for (const bool row_wise : {false, true}) {
            const blend::merge::nuslerp_options o{.flatten = flatten, .row_wise = row_wise};
            const auto one = with_threads(1, [&] { return blend::merge::nuslerp(base, a, b, o); });
            const auto two = with_threads(2, [&] { return blend::merge::nuslerp(base, a, b, o); });
            CHECK((one == two));
        }
    }
}

TEST_CASE("nuslerp rejects wrong model and weight counts", "[merge][nuslerp]") {
    const auto a = random_tensor({4}, 17);
    const std::vector<blend::any_tensor_view> one{blend::any_tensor_view::of(a)};
    auto out = fx::output(dtype::f32, {4});
    CHECK_THROWS_WITH(blend::merge::nuslerp_into(nullptr, one, out.mutable_view()), "nuslerp: needs exactly 2 models, got 1");
    const std::vector<double> three{1.0, 2.0, 3.0};
    CHECK_THROWS_WITH(blend::merge::nuslerp(a, a, {.weights = three}), "nuslerp: 3 weights for 2 models");
}

TEST_CASE("nuslerp agrees with the float64 reference on f32 and bf16 tensors", "[merge][nuslerp]") {
    struct spec {
        std::string name;
        dtype type;
        bool base;
        std::vector<double> w;
        bool flatten, row_wise;
    };
    const std::vector<spec> specs{
        {"nuslerp_flat_f32", dtype::f32, false, {0.3, 0.7}, true, false},
        {"nuslerp_rows_f32", dtype::f32, false, {0.3, 0.7}, false, false},
        {"nuslerp_cols_f32", dtype::f32, false, {0.3, 0.7}, false, true},
        {"nuslerp_base_flat_f32", dtype::f32, true, {1.0, 1.0}, true, false},
        {"nuslerp_base_rows_bf16", dtype::bf16, true, {1.0, 2.0}, false, false},
        {"nuslerp_base_cols_bf16", dtype::bf16, true, {2.0, 1.0}, false, true},
        {"nuslerp_3d_rows_f32", dtype::f32, true, {0.6, 0.4}, false, false},
        {"nuslerp_3d_cols_f32", dtype::f32, true, {0.6, 0.4}, false, true},
    };
    for (const spec& s : specs) {
        const auto a = fx::load(s.name + "_x0.npy", s.type);
        const auto b = fx::load(s.name + "_x1.npy", s.type);
        const std::vector<blend::any_tensor_view> in{a.view(), b.view()};
        fx::owned base;
        if (s.base) base = fx::load(s.name + "_base.npy", s.type);
        const blend::any_tensor_view bv = base.view();
        auto out = fx::output(s.type, a.shape);
        blend::merge::nuslerp_into(s.base ? &bv : nullptr, in, out.mutable_view(),
                                   {.weights = s.w, .flatten = s.flatten, .row_wise = s.row_wise});
        fx::compare(s.name, out, fx::load(s.name + "_expected.npy", dtype::f64).values(), fx::tolerance(s.type));
    }
}

TEST_CASE("slerp and nuslerp agree with mergekit 0.1.5", "[merge][slerp][nuslerp][mergekit]") {
    // mergekit computes slerp in float32 (float64 for float64 inputs) and nuslerp in the storage dtype;
    // blend rounds a float64 result once. bf16 slerp: within 1 bf16 ulp (measured: bit-identical).
    struct slerp_spec {
        std::string name;
        dtype type;
        double t;
    };
    for (const slerp_spec& s : {slerp_spec{"slerp_t03_f32", dtype::f32, 0.3}, slerp_spec{"slerp_t0_f32", dtype::f32, 0.0},
                                slerp_spec{"slerp_t1_f32", dtype::f32, 1.0}, slerp_spec{"slerp_t06_bf16", dtype::bf16, 0.6},
                                slerp_spec{"slerp_t03_f64", dtype::f64, 0.3}}) {
        const auto base = fx::load("mergekit/" + s.name + "_base.npy", s.type);
        const auto x = fx::load("mergekit/" + s.name + "_x0.npy", s.type);
        const std::vector<blend::any_tensor_view> in{base.view(), x.view()};
        auto out = fx::output(s.type, base.shape);
        blend::merge::slerp_into(in, out.mutable_view(), {.t = s.t});
        fx::compare("mergekit " + s.name, out, fx::load("mergekit/" + s.name + "_out.npy", dtype::f64).values(),
                    fx::tolerance(s.type));
    }
    struct nuslerp_spec {
        std::string name;
        dtype type;
        bool base;
        std::vector<double> w;
        bool flatten, row_wise;
    };
    const std::vector<nuslerp_spec> specs{
        {"nuslerp_flat_f32", dtype::f32, false, {0.3, 0.7}, true, false},
        {"nuslerp_rows_f32", dtype::f32, false, {0.3, 0.7}, false, false},
        {"nuslerp_cols_f32", dtype::f32, false, {0.3, 0.7}, false, true},
        {"nuslerp_base_flat_f32", dtype::f32, true, {1.0, 2.0}, true, false},
        {"nuslerp_base_rows_f64", dtype::f64, true, {1.0, 2.0}, false, false},
    };
    for (const nuslerp_spec& s : specs) {
        const auto a = fx::load("mergekit/" + s.name + "_x0.npy", s.type);
        const auto b = fx::load("mergekit/" + s.name + "_x1.npy", s.type);
        const std::vector<blend::any_tensor_view> in{a.view(), b.view()};
        fx::owned base;
        if (s.base) base = fx::load("mergekit/" + s.name + "_base.npy", s.type);
        const blend::any_tensor_view bv = base.view();
        auto out = fx::output(s.type, a.shape);
        blend::merge::nuslerp_into(s.base ? &bv : nullptr, in, out.mutable_view(),
                                   {.weights = s.w, .flatten = s.flatten, .row_wise = s.row_wise});
        fx::compare("mergekit " + s.name, out, fx::load("mergekit/" + s.name + "_out.npy", dtype::f64).values(),
                    fx::tolerance(s.type));
    }
}

TEST_CASE("slerp and nuslerp write any output dtype and accept empty tensors", "[merge][slerp][nuslerp]") {
    // f32 inputs, bf16 output: the float64 result is rounded once to bf16 (0 ulps from the reference).
    const auto a = fx::load("nuslerp_rows_f32_x0.npy", dtype::f32);
    const auto b = fx::load("nuslerp_rows_f32_x1.npy", dtype::f32);
    const std::vector<blend::any_tensor_view> in{a.view(), b.view()};
    const std::vector<double> w{0.3, 0.7};
    auto out = fx::output(dtype::bf16, a.shape);
    blend::merge::nuslerp_into(nullptr, in, out.mutable_view(), {.weights = w, .flatten = false});
    const auto agreement = fx::compare("nuslerp rows f32 -> bf16", out,
                                       fx::load("nuslerp_rows_f32_expected.npy", dtype::f64).values(), 0, 0);
    CHECK(agreement.max_ulps == 0);
    const auto e = xt::xarray<float>::from_shape({0, 3});
    CHECK(blend::merge::slerp(e, e).size() == 0);
    CHECK(blend::merge::nuslerp(e, e, {.flatten = false}).size() == 0);
    CHECK(blend::merge::nuslerp(e, e, {.flatten = false, .row_wise = true}).size() == 0);
}
