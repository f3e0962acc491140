// Tests for blend/merge/arcee_fusion.hpp (METHODS.md §1 "arcee_fusion", mergekit 0.1.5 arcee_fusion.py).
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/arcee_fusion.hpp>

#include "merge/misc_support.hpp"
#include "support/catch.hpp"

#include <cmath>
#include <numeric>
#include <vector>

namespace {

xt::xarray<float> random_tensor(std::uint64_t key, std::vector<std::size_t> shape, float scale) {
    const blend::random_stream rng(23, key);
    xt::xarray<float> x = xt::xarray<float>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = (rng.uniform_float(i) - 0.5f) * scale;
    return x;
}

/// Heavy-tailed values: scale * (2u - 1)^3, so that median + 1.5 IQR cuts off about 10 %.
xt::xarray<float> heavy_tensor(std::uint64_t key, std::vector<std::size_t> shape, float scale) {
    xt::xarray<float> x = random_tensor(key, std::move(shape), 2.f);
    for (float& v : x) v = scale * v * v * v;
    return x;
}

}  // namespace

TEST_CASE("arcee_fusion threshold is median + 1.5 IQR of the sorted scores at floor(q (n - 1))", "[merge][arcee_fusion]") {
    std::vector<double> scores(100);
    std::iota(scores.begin(), scores.end(), 0.0);
    std::reverse(scores.begin(), scores.end());
    CHECK(blend::merge::detail::arcee_threshold(scores) == 49 + 1.5 * (74 - 24));
    std::vector<double> outlier{1000, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0};  // n = 11: indices 2, 5, 7
    CHECK(blend::merge::detail::arcee_threshold(outlier) == 5 + 1.5 * (7 - 2));
}

TEST_CASE("arcee_fusion KL is one value per row along the last axis", "[merge][arcee_fusion]") {
    // a = (0, 0), b = (ln 3, 0): p = (3/4, 1/4) + 1e-8, q = (1/2, 1/2) + 1e-8
    const xt::xarray<double> a{{0.0, 0.0}, {0.0, 0.0}};
    const xt::xarray<double> b{{std::log(3.0), 0.0}, {0.0, 0.0}};
    const std::vector<blend::any_tensor_view> views{blend::any_tensor_view::of(a), blend::any_tensor_view::of(b)};
    const auto kl = blend::merge::arcee_fusion_row_kl(views);
    REQUIRE(kl.size() == 2);
    const double p0 = 0.75 + 1e-8, p1 = 0.25 + 1e-8, q = 0.5 + 1e-8;
    CHECK(kl[0] == Approx(p0 * std::log(p0 / q) + p1 * std::log(p1 / q)).epsilon(1e-12));
    CHECK(kl[1] == 0.0);
}

TEST_CASE("arcee_fusion golden: only the outlying change is taken", "[merge][arcee_fusion]") {
    // one row: importance = KL |d| with d = 1..8, 100: sorted indices 2, 4, 6 -> threshold 5 KL + 1.5 * 4 KL
    const xt::xarray<double> a = xt::zeros<double>({9});
    const xt::xarray<double> b{1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 100.0};
    CHECK((blend::merge::arcee_fusion(a, b) == xt::xarray<double>{0, 0, 0, 0, 0, 0, 0, 0, 100.0}));
    // threshold 0 (most importances 0): every entry passes, the result is the other model
    xt::xarray<double> c = xt::zeros<double>({1, 11});
    c(0, 10) = 5.0;
    c(0, 3) = 0.01;
    CHECK((blend::merge::arcee_fusion(xt::xarray<double>(xt::zeros<double>({1, 11})), c) == c));
}

TEST_CASE("arcee_fusion of identical inputs gives them back", "[merge][arcee_fusion]") {
    const auto x = random_tensor(1, {17, 40}, 2.f);
    CHECK((blend::merge::arcee_fusion(x, x) == x));
}

TEST_CASE("arcee_fusion gives identical results for 1 and 2 threads", "[merge][arcee_fusion]") {
    // short rows, one long row, and a tensor above 10^6 elements (the sampled threshold)
    for (const auto& shape : {std::vector<std::size_t>{301, 37}, std::vector<std::size_t>{20011},
                              std::vector<std::size_t>{1001, 1000}}) {
        const auto a = random_tensor(2, shape, 1.f);
        const xt::xarray<float> b = a + heavy_tensor(3, shape, 0.2f);
        const blend::merge::arcee_fusion_options options{.seed = 7, .tensor_name = "model.layers.0.mlp.up_proj.weight"};
        const std::size_t previous = blend::num_threads();
        blend::set_num_threads(1);
        const auto one = blend::merge::arcee_fusion(a, b, options);
        blend::set_num_threads(2);
        const auto two = blend::merge::arcee_fusion(a, b, options);
        blend::set_num_threads(previous);
        CHECK((one == two));
    }
}

TEST_CASE("arcee_fusion's sampled threshold above 10^6 elements is close to the exact one", "[merge][arcee_fusion]") {
    const std::vector<std::size_t> shape{1001, 1000};
    const auto a = random_tensor(4, shape, 1.f);
    const xt::xarray<float> b = a + heavy_tensor(5, shape, 0.2f);
    const std::vector<blend::any_tensor_view> views{blend::any_tensor_view::of(a), blend::any_tensor_view::of(b)};
    const auto kl = blend::merge::arcee_fusion_row_kl(views);
    std::vector<double> scores(a.size());
    for (std::size_t j = 0; j < a.size(); ++j) {
        scores[j] = std::abs(static_cast<double>(b.data()[j]) - static_cast<double>(a.data()[j])) * kl[j / 1000];
    }
    std::vector<double> copy = scores;
    const double exact = blend::merge::detail::arcee_threshold(copy);
    std::size_t kept_exact = 0;
    for (double s : scores) kept_exact += s >= exact ? 1 : 0;
    const auto merged = blend::merge::arcee_fusion(a, b, {.tensor_name = "w"});
    std::size_t kept = 0;
    for (std::size_t j = 0; j < a.size(); ++j) kept += merged.data()[j] == b.data()[j] && a.data()[j] != b.data()[j] ? 1 : 0;
    INFO("kept with the exact threshold " << kept_exact << ", with the sampled one " << kept);
    CHECK(kept_exact > a.size() / 50);
    CHECK(std::abs(static_cast<double>(kept) - static_cast<double>(kept_exact)) < 0.002 * static_cast<double>(a.size()));
    // the sample depends on the seed and the tensor name, the result only slightly
    const auto other = blend::merge::arcee_fusion(a, b, {.seed = 1, .tensor_name = "w"});
    CHECK_FALSE((other == merged));
}

TEST_CASE("arcee_fusion rejects wrong input counts and mismatched shapes", "[merge][arcee_fusion]") {
    const xt::xarray<float> a{1.f, 2.f};
    const xt::xarray<float> c{1.f, 2.f, 3.f};
    CHECK_THROWS_AS(blend::merge::arcee_fusion(a, c), blend::shape_error);
    const std::vector<blend::any_tensor_view> one{blend::any_tensor_view::of(a)};
    xt::xarray<float> out = a;
    CHECK_THROWS_WITH(blend::merge::arcee_fusion_into(one, blend::any_mutable_tensor_view::of(out)),
                      "arcee_fusion: needs exactly 2 input tensors (the base first), got 1");
}

TEST_CASE("arcee_fusion agrees with the float64 reference", "[merge][arcee_fusion]") {
    const auto merge = [](auto views, const auto& out) { blend::merge::arcee_fusion_into(views, out); };
    for (const char* name : {"arcee_fusion_f32", "arcee_fusion_bf16", "arcee_fusion_f64", "arcee_fusion_1d_f32"}) {
        misc_test::check_case(name, merge);
    }
}

TEST_CASE("arcee_fusion agrees with mergekit 0.1.5 where its arithmetic allows", "[merge][arcee_fusion]") {
    const auto merge = [](auto views, const auto& out) { blend::merge::arcee_fusion_into(views, out); };
    for (const char* name : {"arcee_fusion_f32", "arcee_fusion_f64", "arcee_fusion_1d_f32"}) misc_test::check_mergekit(name, merge);
    // mergekit's bf16 softmax/KL flip the mask of ~2 % of the entries (each then differs by |b - a|)
    misc_test::check_mergekit("arcee_fusion_bf16", merge, 0.03);
}
