// Tests for blend/ensemble/calibration.hpp: temperature and vector scaling against scipy
// (tests/reference/ensemble_reference.py: minimize_scalar over log T, BFGS with gtol 1e-11), plus the
// properties T = 1 is the identity and temperature scaling never changes the predicted labels.
#include <blend/ensemble/calibration.hpp>

#include "ensemble/fixtures.hpp"

#include <cmath>
#include <vector>

using namespace blend::ensemble;
using blend::test::fixture_values;
using blend::test::load_fixture;

namespace {
std::vector<std::int64_t> int_labels(const std::string& file) {
    std::vector<std::int64_t> out;
    for (double v : fixture_values(load_fixture(file))) out.push_back(static_cast<std::int64_t>(v));
    return out;
}
logit_data fixture_logits(const blend::io::npy_array& z, std::span<const std::int64_t> labels) {
    return {.logits = {blend::dtype::f64, z.data.data()}, .rows = z.shape[0], .columns = z.shape[1], .labels = labels};
}
}  // namespace

TEST_CASE("temperature scaling matches scipy's optimum to |dNLL/dlogT| < 1e-8", "[ensemble][calibration]") {
    const auto z = load_fixture("calib_logits.npy");
    const auto labels = int_labels("calib_labels.npy");
    const auto fit = fit_temperature(fixture_logits(z, labels));
    const double want = fixture_values(load_fixture("calib_temperature.npy"))[0];
    CHECK(std::abs(fit.gradient) < 1e-8);
    CHECK(fit.temperature == Approx(want).epsilon(1e-6));
    CHECK(fit.temperature > 1.5);  // the fixture's model is over-confident
}

TEST_CASE("vector scaling matches scipy's BFGS optimum", "[ensemble][calibration]") {
    const auto z = load_fixture("calib_logits.npy");
    const auto labels = int_labels("calib_labels.npy");
    const auto fit = fit_vector_scaling(fixture_logits(z, labels));
    REQUIRE(fit.converged);
    const auto want = fixture_values(load_fixture("calib_vector.npy"));  // [scale; bias]
    const std::size_t c = z.shape[1];
    double bias_sum = 0;
    for (std::size_t k = 0; k < c; ++k) {
        CHECK(fit.scale[k] == Approx(want[k]).margin(1e-6));
        CHECK(fit.bias[k] == Approx(want[c + k]).margin(1e-6));
        bias_sum += fit.bias[k];
    }
    CHECK(std::abs(bias_sum) < 1e-12);
    // vector scaling can only lower the NLL reached by temperature scaling (a = 1/T, b = 0 is feasible)
    CHECK(fit.nll <= fit_temperature(fixture_logits(z, labels)).nll + 1e-12);
}

TEST_CASE("temperature 1 is the identity softmax and scaling never changes the labels", "[ensemble][calibration]") {
    const auto z = load_fixture("calib_logits.npy");
    const auto labels = int_labels("calib_labels.npy");
    const auto d = fixture_logits(z, labels);
    const auto identity = apply_calibration(d, 1.0);
    const auto zv = fixture_values(z);
    const std::size_t c = z.shape[1];
    for (std::size_t i = 0; i < d.rows; ++i) {
        double sum = 0;
        for (std::size_t k = 0; k < c; ++k) sum += std::exp(zv[i * c + k]);
        for (std::size_t k = 0; k < c; ++k) CHECK(identity(i, k) == Approx(std::exp(zv[i * c + k]) / sum).epsilon(1e-13));
    }
    const double t = fit_temperature(d).temperature;
    for (double temperature : {t, 0.1, 7.0}) {
        const auto p = apply_calibration(d, temperature);
        for (std::size_t i = 0; i < d.rows; ++i) {
            const auto argmax = [&](auto at) {
                std::size_t best = 0;
                for (std::size_t k = 1; k < c; ++k)
                    if (at(k) > at(best)) best = k;
                return best;
            };
            CHECK(argmax([&](std::size_t k) { return p(i, k); }) == argmax([&](std::size_t k) { return zv[i * c + k]; }));
        }
    }
}

TEST_CASE("binary temperature scaling equals two-class scaling of [0, z]", "[ensemble][calibration]") {
    const xt::xtensor<double, 1> z1 = {2.0, -1.0, 3.5, 0.2, -2.5, 1.0, -0.3, 4.0};
    const std::vector<std::int64_t> y{1, 0, 1, 0, 0, 0, 1, 1};
    xt::xtensor<double, 2> z2 = xt::zeros<double>({8, 2});
    for (std::size_t i = 0; i < 8; ++i) z2(i, 1) = z1(i);
    const auto binary = fit_temperature(make_logit_data(z1, y));
    const auto twoclass = fit_temperature(make_logit_data(z2, y));
    CHECK(binary.temperature == Approx(twoclass.temperature).epsilon(1e-12));
    CHECK(std::abs(binary.gradient) < 1e-8);
    const auto p = apply_calibration(make_logit_data(z1, y), binary.temperature);
    CHECK(p(0) == Approx(1.0 / (1.0 + std::exp(-2.0 / binary.temperature))).epsilon(1e-14));
}

TEST_CASE("calibration rejects bad inputs", "[ensemble][calibration]") {
    const xt::xtensor<double, 2> z = {{1.0, 0.0}, {0.0, 1.0}};
    const std::vector<std::int64_t> good{0, 1}, bad{0, 2}, short_labels{0};
    CHECK_THROWS_AS(fit_temperature(make_logit_data(z, bad)), blend::invalid_argument);
    CHECK_THROWS_AS(fit_temperature(make_logit_data(z, short_labels)), blend::shape_error);
    // perfectly separated labels: NLL keeps falling as T -> 0
    CHECK_THROWS_AS(fit_temperature(make_logit_data(z, good)), blend::invalid_argument);
    const xt::xtensor<double, 1> binary = {1.0, -1.0};
    CHECK_THROWS_AS(fit_vector_scaling(make_logit_data(binary, good)), blend::invalid_argument);
    CHECK_THROWS_AS(apply_calibration(make_logit_data(z, good), 0.0), blend::invalid_argument);
}
