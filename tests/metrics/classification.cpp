// Tests for blend/metrics/classification.hpp (METHODS.md §2 "Metrics", CLI.md `eval`).
// References: scikit-learn 1.2.1 on predictions of four sklearn models (tests/metrics/data/sklearn/,
// written by tests/reference/metrics_reference.py) and hand-computed cases.
#include <blend/metrics/classification.hpp>

#include "metrics/fixtures.hpp"
#include "support/catch.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace bm = blend::metrics;
using metrics_test::load;

namespace {
const char* const models[] = {"logistic", "gaussian_nb", "tree", "knn"};
constexpr double tight = 1e-12;
}  // namespace

static_assert(bm::real_tensor<blend::tensor_view<const float>>);
static_assert(bm::real_tensor<xt::xtensor<double, 2>>);
static_assert(!bm::real_tensor<xt::xtensor<int, 2>>);
static_assert(bm::label_tensor<xt::xtensor<std::uint8_t, 1>>);
static_assert(!bm::label_tensor<xt::xtensor<double, 1>>);
static_assert(!bm::label_tensor<xt::xtensor<bool, 1>>);

TEST_CASE("multiclass metrics match scikit-learn 1.2.1 on digits", "[metrics][classification]") {
    const auto ref = metrics_test::values("sklearn");
    const auto y_file = load("sklearn", "digits_labels");
    const auto y = y_file.as<std::int64_t>();
    for (const std::string model : models) {
        INFO(model);
        const auto p_file = load("sklearn", "digits_" + model);
        const auto p = p_file.as<double>();
        const auto& r = ref["digits_" + model];
        CHECK(bm::accuracy(p, y) == Approx(r["accuracy"].get<double>()).epsilon(tight));
        CHECK(bm::balanced_accuracy(p, y) == Approx(r["balanced_accuracy"].get<double>()).epsilon(tight));
        CHECK(bm::log_loss(p, y) == Approx(r["log_loss"].get<double>()).epsilon(tight));
        CHECK(bm::brier_score(p, y) == Approx(r["brier"].get<double>()).epsilon(tight));
    }
    const auto p32_file = load("sklearn", "digits_logistic_f32");
    const auto p32 = p32_file.as<float>();
    const auto& r = ref["digits_logistic_f32"];
    CHECK(bm::accuracy(p32, y) == Approx(r["accuracy"].get<double>()).epsilon(tight));
    CHECK(bm::balanced_accuracy(p32, y) == Approx(r["balanced_accuracy"].get<double>()).epsilon(tight));
    CHECK(bm::log_loss(p32, y) == Approx(r["log_loss"].get<double>()).epsilon(tight));
    CHECK(bm::brier_score(p32, y) == Approx(r["brier"].get<double>()).epsilon(tight));
}

TEST_CASE("binary metrics match scikit-learn 1.2.1 on breast cancer, as (N,) and as (N, 2)", "[metrics][classification]") {
    const auto ref = metrics_test::values("sklearn");
    const auto y_file = load("sklearn", "cancer_labels");
    const auto y = y_file.as<std::int32_t>();
    for (const std::string model : models) {
        INFO(model);
        const auto p_file = load("sklearn", "cancer_" + model);
        const auto p2_file = load("sklearn", "cancer_" + model + "_2col");
        const auto p = p_file.as<double>();
        const auto p2 = p2_file.as<double>();
        const auto& r = ref["cancer_" + model];
        CHECK(bm::accuracy(p, y) == Approx(r["accuracy"].get<double>()).epsilon(tight));
        CHECK(bm::accuracy(p2, y) == Approx(r["accuracy_2col"].get<double>()).epsilon(tight));
        CHECK(bm::balanced_accuracy(p, y) == Approx(r["balanced_accuracy"].get<double>()).epsilon(tight));
        // sklearn clips a 1-D p before expanding it to [1 - p, p]: the two forms differ slightly when
        // some p is 0 or 1 (gaussian_nb, knn), and blend reproduces each.
        CHECK(bm::log_loss(p, y) == Approx(r["log_loss"].get<double>()).epsilon(tight));
        CHECK(bm::log_loss(p2, y) == Approx(r["log_loss_2col"].get<double>()).epsilon(tight));
        CHECK(bm::roc_auc(p, y) == Approx(r["roc_auc"].get<double>()).epsilon(tight));
        CHECK(bm::roc_auc(p2, y) == Approx(r["roc_auc"].get<double>()).epsilon(tight));
        // Twice sklearn's brier_score_loss, and equal to the 2-column form.
        CHECK(bm::brier_score(p, y) == Approx(r["brier"].get<double>()).epsilon(tight));
        CHECK(bm::brier_score(p2, y) == Approx(r["brier_2col"].get<double>()).epsilon(tight));
    }
}

TEST_CASE("predicted labels: argmax with ties to the lowest index, binary p > 0.5", "[metrics][classification]") {
    const xt::xtensor<double, 2> p = {{0.4, 0.4, 0.2}, {0.1, 0.45, 0.45}, {0.2, 0.3, 0.5}, {1. / 3, 1. / 3, 1. / 3}};
    CHECK(bm::predicted_labels(p) == std::vector<std::int64_t>{0, 1, 2, 0});
    const xt::xtensor<float, 1> binary = {0.5f, 0.50001f, 0.2f, 1.0f, 0.0f};
    CHECK(bm::predicted_labels(binary) == std::vector<std::int64_t>{0, 1, 0, 1, 0});
    const xt::xtensor<float, 2> column = {{0.5f}, {0.7f}};  // (N, 1) is binary too
    CHECK(bm::predicted_labels(column) == std::vector<std::int64_t>{0, 1});
    const xt::xtensor<std::int16_t, 1> y = {0, 1, 0, 0};
    CHECK(bm::accuracy(p, y) == Approx(0.75));
    // Classes 0 (3 rows, 2 right) and 1 (1 row, right) are present; class 2 is predicted only.
    CHECK(bm::balanced_accuracy(p, y) == Approx((2.0 / 3.0 + 1.0) / 2.0));
}

TEST_CASE("log loss clips to [1e-15, 1 - 1e-15] and renormalises rows", "[metrics][classification]") {
    const double log_eps = 15.0 * std::log(10.0);  // -log(1e-15)
    const xt::xtensor<double, 2> p = {{1.0, 0.0}, {0.0, 1.0}};
    const xt::xtensor<std::int64_t, 1> y = {1, 1};
    CHECK(bm::log_loss(p, y) == Approx(log_eps / 2).epsilon(1e-12));
    // Unnormalised rows are renormalised after clipping: [0.1, 0.3] is [0.25, 0.75], while [2, 6] is
    // clipped to [1 - 1e-15, 1 - 1e-15] first and becomes [0.5, 0.5].
    const xt::xtensor<double, 2> raw = {{0.1, 0.3}, {0.2, 0.6}};
    const xt::xtensor<std::int64_t, 1> y0 = {0, 1};
    CHECK(bm::log_loss(raw, y0) == Approx((-std::log(0.25) - std::log(0.75)) / 2).epsilon(1e-14));
    const xt::xtensor<double, 2> above_one = {{2.0, 6.0}};
    const xt::xtensor<std::int64_t, 1> y1 = {1};
    CHECK(bm::log_loss(above_one, y1) == Approx(std::log(2.0)).epsilon(1e-14));
    // Binary (N,): p = 0.8 for a positive, 0.8 for a negative.
    const xt::xtensor<float, 1> pb = {0.8f, 0.8f};
    const xt::xtensor<std::int64_t, 1> yb = {1, 0};
    const double q = static_cast<double>(0.8f);
    CHECK(bm::log_loss(pb, yb) == Approx((-std::log(q) - std::log(1 - q)) / 2).epsilon(1e-14));
}

TEST_CASE("Brier score: hand-computed multiclass and binary values", "[metrics][classification]") {
    const xt::xtensor<double, 2> p = {{0.7, 0.2, 0.1}, {0.1, 0.3, 0.6}};
    const xt::xtensor<std::int64_t, 1> y = {0, 1};
    // Row 0: 0.09 + 0.04 + 0.01; row 1: 0.01 + 0.49 + 0.36.
    CHECK(bm::brier_score(p, y) == Approx((0.14 + 0.86) / 2).epsilon(1e-14));
    const xt::xtensor<double, 1> pb = {0.8, 0.3};
    const xt::xtensor<std::int64_t, 1> yb = {1, 1};
    CHECK(bm::brier_score(pb, yb) == Approx((2 * 0.04 + 2 * 0.49) / 2).epsilon(1e-14));
    const xt::xtensor<double, 2> perfect = {{0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}};
    const xt::xtensor<std::int64_t, 1> yp = {1, 0};
    CHECK(bm::brier_score(perfect, yp) == 0.0);
}

TEST_CASE("ROC-AUC: hand-computed values with ties", "[metrics][classification]") {
    const xt::xtensor<double, 1> s = {0.1, 0.4, 0.35, 0.8};  // scikit-learn's docstring example
    const xt::xtensor<std::int64_t, 1> y = {0, 0, 1, 1};
    CHECK(bm::roc_auc(s, y) == Approx(0.75).epsilon(1e-15));
    // Positive 0.5 beats negative 0.2 and ties negative 0.5 (1/2); positive 0.9 beats both.
    const xt::xtensor<float, 1> tied = {0.2f, 0.5f, 0.5f, 0.9f};
    CHECK(bm::roc_auc(tied, y) == Approx(3.5 / 4).epsilon(1e-15));
    const xt::xtensor<double, 1> flat = {0.3, 0.3, 0.3, 0.3};
    CHECK(bm::roc_auc(flat, y) == Approx(0.5).epsilon(1e-15));
    // Scores need not be probabilities; a reversed ranking gives 0.
    const xt::xtensor<double, 1> reversed = {5.0, 2.0, -1.0, -3.0};
    CHECK(bm::roc_auc(reversed, y) == 0.0);
    const xt::xtensor<std::int64_t, 1> one_class = {1, 1, 1, 1};
    CHECK_THROWS_AS(bm::roc_auc(s, one_class), blend::invalid_argument);
    const xt::xtensor<double, 2> three = {{0.2, 0.3, 0.5}, {0.2, 0.3, 0.5}, {0.2, 0.3, 0.5}, {0.2, 0.3, 0.5}};
    CHECK_THROWS_AS(bm::roc_auc(three, y), blend::shape_error);
}

TEST_CASE("invalid inputs are errors naming the function and the value", "[metrics][classification]") {
    const xt::xtensor<double, 2> p = {{0.7, 0.3}, {0.4, 0.6}};
    const xt::xtensor<std::int64_t, 1> out_of_range = {0, 2};
    CHECK_THROWS_WITH(bm::accuracy(p, out_of_range), Catch::Contains("label 2 at row 1 is outside [0, 2)"));
    const xt::xtensor<std::int64_t, 1> negative = {-1, 0};
    CHECK_THROWS_AS(bm::log_loss(p, negative), blend::invalid_argument);
    const xt::xtensor<std::int64_t, 1> short_labels = {0};
    CHECK_THROWS_AS(bm::brier_score(p, short_labels), blend::shape_error);
    xt::xtensor<double, 2> nan = p;
    nan(1, 0) = std::numeric_limits<double>::quiet_NaN();
    const xt::xtensor<std::int64_t, 1> y = {0, 1};
    CHECK_THROWS_WITH(bm::log_loss(nan, y), Catch::Contains("row 1, column 0 is nan"));
    const xt::xtensor<double, 3> cube = xt::zeros<double>({2, 2, 2});
    CHECK_THROWS_AS(bm::accuracy(cube, y), blend::shape_error);
    const xt::xtensor<double, 2> empty = xt::zeros<double>({0, 3});
    const xt::xtensor<std::int64_t, 1> no_labels = xt::zeros<std::int64_t>({0});
    CHECK_THROWS_AS(bm::accuracy(empty, no_labels), blend::invalid_argument);
    CHECK(bm::predicted_labels(empty).empty());
}

TEST_CASE("log-mean-exp NLL of a logit ensemble matches the direct mean of softmax probabilities", "[metrics][classification]") {
    const auto ref = metrics_test::values("sklearn");
    const auto z_file = load("sklearn", "logit_members");
    const auto y_file = load("sklearn", "logit_labels");
    const auto stacked = z_file.as<double>();
    const auto y = y_file.as<std::int64_t>();
    CHECK(bm::ensemble_log_loss_from_logits(stacked, y) == Approx(ref["logit_ensemble_nll"].get<double>()).epsilon(tight));
    // The same members as a range of (N, C) views.
    std::vector<blend::tensor_view<const double>> members;
    for (std::size_t m = 0; m < 3; ++m) {
        members.emplace_back(std::span<const double>(stacked.data() + m * 40 * 5, 40 * 5), blend::shape_type{40, 5});
    }
    CHECK(bm::ensemble_log_loss_from_logits(members, y) == Approx(ref["logit_ensemble_nll"].get<double>()).epsilon(tight));
    members.resize(1);
    CHECK(bm::ensemble_log_loss_from_logits(members, y) == Approx(ref["logit_member0_nll"].get<double>()).epsilon(tight));
}

TEST_CASE("log-mean-exp NLL is stable for huge logits and reads binary logits as [0, z]", "[metrics][classification]") {
    const std::vector<xt::xtensor<double, 2>> huge{{{1000.0, 0.0}, {0.0, -800.0}}, {{1000.0, 0.0}, {0.0, -800.0}}};
    const xt::xtensor<std::int64_t, 1> y = {1, 0};
    // Row 0: log p[1] = -1000 for both members; row 1: log p[0] = -log(1 + e^-800) = 0.
    CHECK(bm::ensemble_log_loss_from_logits(huge, y) == Approx(500.0).epsilon(1e-15));
    // Identical members: the ensemble NLL is the member's NLL.
    const std::vector<xt::xtensor<float, 2>> same{{{0.5f, -1.0f, 2.0f}}, {{0.5f, -1.0f, 2.0f}}, {{0.5f, -1.0f, 2.0f}}};
    const xt::xtensor<std::int64_t, 1> y1 = {0};
    const double lse = std::log(std::exp(0.5) + std::exp(-1.0) + std::exp(2.0));
    CHECK(bm::ensemble_log_loss_from_logits(same, y1) == Approx(lse - 0.5).epsilon(1e-14));
    // Binary members z = 2 and z = -2: mean probability (sigmoid(2) + sigmoid(-2)) / 2 = 1/2.
    const std::vector<xt::xtensor<double, 1>> binary{{2.0}, {-2.0}};
    const xt::xtensor<std::int64_t, 1> positive = {1};
    CHECK(bm::ensemble_log_loss_from_logits(binary, positive) == Approx(std::log(2.0)).epsilon(1e-15));
    const std::vector<xt::xtensor<double, 1>> mismatched{{2.0}, {-2.0, 1.0}};
    CHECK_THROWS_AS(bm::ensemble_log_loss_from_logits(mismatched, positive), blend::shape_error);
    const std::vector<xt::xtensor<double, 1>> none;
    CHECK_THROWS_AS(bm::ensemble_log_loss_from_logits(none, positive), blend::invalid_argument);
}
