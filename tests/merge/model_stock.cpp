// Tests for blend/merge/model_stock.hpp (METHODS.md §1 "model_stock", mergekit 0.1.5 model_stock.py).
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/model_stock.hpp>

#include "merge/misc_support.hpp"
#include "support/catch.hpp"

#include <cmath>
#include <vector>

namespace {

xt::xarray<float> random_tensor(std::uint64_t key, std::vector<std::size_t> shape, float scale) {
    const blend::random_stream rng(5, key);
    xt::xarray<float> x = xt::xarray<float>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = (rng.uniform_float(i) - 0.5f) * scale;
    return x;
}

}  // namespace

TEST_CASE("model_stock golden: two models at 45 degrees", "[merge][model_stock]") {
    // o1 = (1, 1), o2 = (1, 0): cos = 1/sqrt2, t = 2c / (1 + c); mean X = (1, 0.5)
    const xt::xarray<double> base{0.0, 0.0};
    const std::vector<xt::xarray<double>> xs{{1.0, 1.0}, {1.0, 0.0}};
    const double c = 1.0 / std::sqrt(2.0);
    const double t = 2.0 * c / (1.0 + c);
    const auto r = blend::merge::model_stock(base, xs);
    CHECK(r(0) == Approx(t).epsilon(1e-15));
    CHECK(r(1) == Approx(0.5 * t).epsilon(1e-15));
    // filter_wise on a 1-D tensor: one row, the same result
    CHECK((blend::merge::model_stock(base, xs, {.filter_wise = true}) == r));
}

TEST_CASE("model_stock golden: orthogonal offsets keep the base, singular t keeps the base", "[merge][model_stock]") {
    const xt::xarray<double> base{3.0, -1.0};
    const std::vector<xt::xarray<double>> orthogonal{{4.0, -1.0}, {3.0, 0.0}};
    CHECK((blend::merge::model_stock(base, orthogonal) == base));
    // cos = -1 with N = 2: 1 + (N - 1) cos = 0 -> t = 0 (mergekit 0.1.5), not a division by zero
    const std::vector<xt::xarray<double>> opposite{{4.0, 0.0}, {2.0, -2.0}};
    CHECK((blend::merge::model_stock(base, opposite) == base));
}

TEST_CASE("model_stock filter_wise computes one t per row along the last axis", "[merge][model_stock]") {
    // row 0: offsets (1, 0), (0, 1) orthogonal -> t = 0 -> base row; row 1: identical -> t = 1 -> (1, 1)
    const xt::xarray<double> base{{0.0, 0.0}, {0.0, 0.0}};
    const std::vector<xt::xarray<double>> xs{{{1.0, 0.0}, {1.0, 1.0}}, {{0.0, 1.0}, {1.0, 1.0}}};
    const auto r = blend::merge::model_stock(base, xs, {.filter_wise = true});
    CHECK(r(0, 0) == 0.0);
    CHECK(r(0, 1) == 0.0);
    CHECK(r(1, 0) == Approx(1.0).epsilon(1e-15));  // cos = 2 / (sqrt2 sqrt2) rounds to 1 - 2^-53
    CHECK(r(1, 1) == Approx(1.0).epsilon(1e-15));
    // the same tensors flattened: one t from the whole offsets (o1 = (1,0,1,1), o2 = (0,1,1,1), cos = 2/3)
    const double c = 2.0 / 3.0;
    const double t = 2.0 * c / (1.0 + c);
    const auto flat = blend::merge::model_stock(base, xs);
    CHECK(flat(0, 0) == Approx(0.5 * t).epsilon(1e-15));
    CHECK(flat(1, 1) == Approx(t).epsilon(1e-15));
}

TEST_CASE("model_stock of identical models gives them back", "[merge][model_stock]") {
    const auto base = random_tensor(1, {9, 40}, 1.f);
    const auto x = random_tensor(2, {9, 40}, 1.f);
    const std::vector<xt::xarray<float>> xs{x, x, x};
    CHECK((blend::merge::model_stock(base, xs) == x));
    CHECK((blend::merge::model_stock(base, xs, {.filter_wise = true}) == x));
}

TEST_CASE("model_stock gives identical results for 1 and 2 threads", "[merge][model_stock]") {
    // 1-D of 3 pieces (long-row path) and 2-D with many short rows
    for (const auto& shape : {std::vector<std::size_t>{10007}, std::vector<std::size_t>{301, 37}, std::vector<std::size_t>{5, 9001}}) {
        const auto base = random_tensor(3, shape, 1.f);
        std::vector<xt::xarray<float>> xs;
        for (std::uint64_t m = 0; m < 3; ++m) xs.push_back(base + random_tensor(10 + m, shape, 0.1f) + random_tensor(20, shape, 0.1f));
        const std::size_t previous = blend::num_threads();
        for (const bool filter_wise : {false, true}) {
            blend::set_num_threads(1);
            const auto one = blend::merge::model_stock(base, xs, {.filter_wise = filter_wise});
            blend::set_num_threads(2);
            const auto two = blend::merge::model_stock(base, xs, {.filter_wise = filter_wise});
            CHECK((one == two));
        }
        blend::set_num_threads(previous);
    }
}

TEST_CASE("model_stock filter_wise on long rows equals model_stock of each row alone", "[merge][model_stock]") {
    // rows of 9001 elements span three pieces of the per-row core: each row must reduce exactly as the
    // same row flattened on its own
    const std::size_t rows = 3, cols = 9001;
    const auto base = random_tensor(30, {rows, cols}, 1.f);
    std::vector<xt::xarray<float>> xs;
    for (std::uint64_t m = 0; m < 3; ++m) xs.push_back(base + random_tensor(31 + m, {rows, cols}, 0.1f) + random_tensor(40, {rows, cols}, 0.1f));
    const auto merged = blend::merge::model_stock(base, xs, {.filter_wise = true});
    for (std::size_t r = 0; r < rows; ++r) {
        const auto row_of = [&](const xt::xarray<float>& x) {
            return xt::xarray<float>(xt::adapt(x.data() + r * cols, cols, xt::no_ownership(), std::vector<std::size_t>{cols}));
        };
        std::vector<xt::xarray<float>> row_xs;
        for (const auto& x : xs) row_xs.push_back(row_of(x));
        CHECK((blend::merge::model_stock(row_of(base), row_xs) == row_of(merged)));
    }
}

TEST_CASE("model_stock rejects fewer than two models and mismatched shapes", "[merge][model_stock]") {
    const xt::xarray<float> a{1.f, 2.f};
    const std::vector<xt::xarray<float>> one{a};
    CHECK_THROWS_WITH(blend::merge::model_stock(a, one),
                      "model_stock: needs at least 3 input tensors (the base first), got 2");
    const std::vector<xt::xarray<float>> mismatched{a, xt::xarray<float>{1.f, 2.f, 3.f}};
    CHECK_THROWS_AS(blend::merge::model_stock(a, mismatched), blend::shape_error);
}

TEST_CASE("model_stock agrees with the float64 reference", "[merge][model_stock]") {
    const auto flat = [](auto views, const auto& out) { blend::merge::model_stock_into(views, out); };
    const auto rows = [](auto views, const auto& out) { blend::merge::model_stock_into(views, out, {.filter_wise = true}); };
    for (const char* name : {"model_stock_flat_f32", "model_stock_flat_bf16"}) misc_test::check_case(name, flat);
    for (const char* name : {"model_stock_rows_f32", "model_stock_rows_bf16", "model_stock_rows_f64", "model_stock_1d_f32",
                             "model_stock_3d_f32"}) {
        misc_test::check_case(name, rows);
    }
}

TEST_CASE("model_stock agrees with mergekit 0.1.5 where its arithmetic allows", "[merge][model_stock]") {
    const auto flat = [](auto views, const auto& out) { blend::merge::model_stock_into(views, out); };
    const auto rows = [](auto views, const auto& out) { blend::merge::model_stock_into(views, out, {.filter_wise = true}); };
    misc_test::check_mergekit("model_stock_flat_f32", flat);
    for (const char* name : {"model_stock_rows_f32", "model_stock_rows_f64", "model_stock_1d_f32", "model_stock_3d_f32"}) {
        misc_test::check_mergekit(name, rows);
    }
    // mergekit's bf16 dot products and norms move t by ~1e-2 relative: ~10 % of entries differ by > 1 ulp
    misc_test::check_mergekit("model_stock_flat_bf16", flat, 0.12);
    misc_test::check_mergekit("model_stock_rows_bf16", rows, 0.12);
}
