// Tests for blend/metrics/calibration_error.hpp (METHODS.md §2, CLI.md `eval` "ece").
#include <blend/metrics/calibration_error.hpp>

#include "metrics/fixtures.hpp"
#include "support/catch.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace bm = blend::metrics;

TEST_CASE("ECE: hand-computed binary and multiclass values", "[metrics][calibration_error]") {
    // Confidences 0.8 (right), 0.7 (right), 0.5 (p = 0.5 predicts 0: wrong) in three different bins.
    const xt::xtensor<float, 1> p = {0.8f, 0.3f, 0.5f};
    const xt::xtensor<std::uint8_t, 1> y = {1, 0, 1};
    const double c0 = static_cast<double>(0.8f), c1 = 1.0 - static_cast<double>(0.3f), c2 = 0.5;
    CHECK(bm::expected_calibration_error(p, y) == Approx(((1 - c0) + (1 - c1) + c2) / 3).epsilon(1e-14));
    // One bin holding all three rows (B = 1): |2/3 - mean confidence|.
    CHECK(bm::expected_calibration_error(p, y, {.bins = 1}) == Approx(std::abs(2.0 / 3 - (c0 + c1 + c2) / 3)).epsilon(1e-14));

    // Multiclass, 10 bins: rows 0 and 1 share (0.6, 0.7], row 2 is in (0.4, 0.5].
    const xt::xtensor<double, 2> q = {{0.65, 0.25, 0.1}, {0.1, 0.2, 0.7}, {0.3, 0.25, 0.45}};
    const xt::xtensor<std::int64_t, 1> yq = {0, 1, 2};
    const double bin6 = 2 * std::abs(0.5 - (0.65 + 0.7) / 2), bin4 = std::abs(1.0 - 0.45);
    CHECK(bm::expected_calibration_error(q, yq, {.bins = 10}) == Approx((bin6 + bin4) / 3).epsilon(1e-14));
    const auto bins = bm::reliability_diagram(q, yq, {.bins = 10});
    REQUIRE(bins.size() == 10);
    CHECK(bins[6].count == 2);
    CHECK(bins[6].mean_confidence == Approx(0.675).epsilon(1e-15));
    CHECK(bins[6].accuracy == 0.5);
    CHECK(bins[6].lo == 0.6);
    CHECK(bins[6].hi == 0.7);
    CHECK(bins[4].count == 1);
    CHECK(bins[4].accuracy == 1.0);
    CHECK(bins[0].count == 0);
    CHECK(bins[0].mean_confidence == 0.0);
}

TEST_CASE("ECE of perfectly calibrated bins is 0", "[metrics][calibration_error]") {
    // Confidence 0.5 with half right, 0.75 with three quarters right (dyadic: exact in binary).
    const xt::xtensor<double, 2> p = {{0.5, 0.25, 0.25}, {0.5, 0.25, 0.25}, {0.25, 0.5, 0.25}, {0.25, 0.5, 0.25},
                                      {0.75, 0.25, 0.0}, {0.75, 0.25, 0.0}, {0.75, 0.25, 0.0}, {0.75, 0.25, 0.0}};
    const xt::xtensor<std::int64_t, 1> y = {0, 2, 1, 0, 0, 0, 0, 1};
    CHECK(bm::expected_calibration_error(p, y) == 0.0);
    const xt::xtensor<double, 1> binary = {0.75, 0.75, 0.75, 0.75};
    const xt::xtensor<std::int64_t, 1> yb = {1, 1, 0, 1};
    CHECK(bm::expected_calibration_error(binary, yb) == 0.0);
}

TEST_CASE("ECE bins are (b/B, (b+1)/B] with edges b/double(B); confidence 0 is in no bin", "[metrics][calibration_error]") {
    // Row b has top-label confidence exactly b/15.0 (the other 15 columns share the rest): it belongs
    // to bin b - 1, whose upper edge it is.
    xt::xtensor<double, 2> p = xt::zeros<double>({15, 16});
    for (std::size_t b = 1; b <= 15; ++b) {
        const double conf = static_cast<double>(b) / 15.0;
        p(b - 1, 0) = conf;
        for (std::size_t c = 1; c < 16; ++c) p(b - 1, c) = (1.0 - conf) / 15.0;
    }
    const xt::xtensor<std::int64_t, 1> y = xt::zeros<std::int64_t>({15});
    const auto bins = bm::reliability_diagram(p, y);
    for (std::size_t b = 0; b < 15; ++b) {
        INFO(b);
        CHECK(bins[b].count == 1);
        CHECK(bins[b].lo == static_cast<double>(b) / 15.0);
        CHECK(bins[b].hi == static_cast<double>(b + 1) / 15.0);
    }
    // Just above an edge: nextafter(11/15.0, 1) * 15 rounds to exactly 11, yet the row belongs to bin 11
    // (a bin index from ceil(conf * B) - 1 alone would put it in bin 10).
    const xt::xtensor<double, 1> above = {std::nextafter(11.0 / 15.0, 1.0), 11.0 / 15.0};
    const xt::xtensor<std::int64_t, 1> y_above = {1, 1};
    const auto edge_bins = bm::reliability_diagram(above, y_above);
    CHECK(edge_bins[11].count == 1);
    CHECK(edge_bins[10].count == 1);
    // A row of zeros has confidence 0: in no bin, but it counts in N.
    const xt::xtensor<double, 2> with_zero = {{0.0, 0.0}, {0.5, 0.5}};
    const xt::xtensor<std::int64_t, 1> y2 = {1, 0};
    CHECK(bm::expected_calibration_error(with_zero, y2) == Approx(0.25).epsilon(1e-15));
    std::size_t counted = 0;
    for (const auto& bin : bm::reliability_diagram(with_zero, y2)) counted += bin.count;
    CHECK(counted == 1);
}

TEST_CASE("ECE matches an independent numpy implementation on sklearn models' predictions", "[metrics][calibration_error]") {
    const auto ref = metrics_test::values("sklearn");
    const auto digits_y_file = metrics_test::load("sklearn", "digits_labels");
    const auto cancer_y_file = metrics_test::load("sklearn", "cancer_labels");
    const auto digits_y = digits_y_file.as<std::int64_t>();
    const auto cancer_y = cancer_y_file.as<std::int32_t>();
    for (const std::string model : {"logistic", "gaussian_nb", "tree", "knn"}) {
        INFO(model);
        const auto digits = metrics_test::load("sklearn", "digits_" + model);
        CHECK(bm::expected_calibration_error(digits.as<double>(), digits_y) ==
              Approx(ref["digits_" + model]["ece"].get<double>()).epsilon(1e-12));
        const auto cancer = metrics_test::load("sklearn", "cancer_" + model);
        const auto cancer2 = metrics_test::load("sklearn", "cancer_" + model + "_2col");
        CHECK(bm::expected_calibration_error(cancer.as<double>(), cancer_y) ==
              Approx(ref["cancer_" + model]["ece"].get<double>()).epsilon(1e-12));
        CHECK(bm::expected_calibration_error(cancer2.as<double>(), cancer_y) ==
              Approx(ref["cancer_" + model]["ece_2col"].get<double>()).epsilon(1e-12));
    }
    const auto f32 = metrics_test::load("sklearn", "digits_logistic_f32");
    CHECK(bm::expected_calibration_error(f32.as<float>(), digits_y) ==
          Approx(ref["digits_logistic_f32"]["ece"].get<double>()).epsilon(1e-12));
}

TEST_CASE("ECE rejects zero bins and empty inputs", "[metrics][calibration_error]") {
    const xt::xtensor<double, 1> p = {0.2};
    const xt::xtensor<std::int64_t, 1> y = {0};
    CHECK_THROWS_AS(bm::expected_calibration_error(p, y, {.bins = 0}), blend::invalid_argument);
    CHECK_THROWS_AS(bm::reliability_diagram(p, y, {.bins = 0}), blend::invalid_argument);
    const xt::xtensor<double, 1> empty = xt::zeros<double>({0});
    const xt::xtensor<std::int64_t, 1> none = xt::zeros<std::int64_t>({0});
    CHECK_THROWS_AS(bm::expected_calibration_error(empty, none), blend::invalid_argument);
    CHECK(bm::reliability_diagram(empty, none).size() == 15);
}
