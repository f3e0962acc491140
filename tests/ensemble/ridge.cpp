// Tests for blend/ensemble/ridge.hpp against scikit-learn 1.2.1's Ridge(alpha=1) (stacking_reference.py).
#include <blend/ensemble/ridge.hpp>

#include "stacking_fixture.hpp"
#include "support/catch.hpp"

TEST_CASE("ridge regression matches sklearn's Ridge(alpha=1.0)", "[ensemble][ridge]") {
    const auto x = stacking_fixture::load<double>("ridge", "x");
    const auto y = stacking_fixture::load<double>("ridge", "y");
    const auto coef = stacking_fixture::load<double>("ridge", "coef");
    const auto intercept = stacking_fixture::load<double>("ridge", "intercept");
    const auto model = blend::ensemble::fit_ridge(x.values, y.values);
    REQUIRE(model.coef.size() == 4);
    for (std::size_t a = 0; a < 4; ++a) CHECK(model.coef[a] == Approx(coef.values[a]).margin(1e-12));
    CHECK(model.intercept == Approx(intercept.values[0]).margin(1e-12));
}

TEST_CASE("ridge with alpha 0 is least squares; by hand on a line", "[ensemble][ridge]") {
    // y = 2x + 1 exactly: least squares recovers it. With alpha = 1 the slope is
    // sum(xc yc) / (sum(xc^2) + 1) = 20 / 11 for x = 0..4 (sum xc^2 = 10, sum xc yc = 20).
    const std::vector<double> x{0, 1, 2, 3, 4}, y{1, 3, 5, 7, 9};
    const auto exact = blend::ensemble::fit_ridge(x, y, {.alpha = 0.0});
    CHECK(exact.coef[0] == Approx(2.0).epsilon(1e-14));
    CHECK(exact.intercept == Approx(1.0).epsilon(1e-14));
    const auto shrunk = blend::ensemble::fit_ridge(x, y);
    CHECK(shrunk.coef[0] == Approx(2.0 * 10.0 / 11.0).epsilon(1e-14));  // sum xc^2 = 10, sum xc yc = 20
    CHECK(shrunk.intercept == Approx(5.0 - 2.0 * 2.0 * 10.0 / 11.0).epsilon(1e-14));
    CHECK(shrunk.predict(std::vector<double>{2.0})[0] == Approx(5.0));
    const std::vector<double> constant{1, 1, 1, 1, 1};
    CHECK_THROWS_AS(blend::ensemble::fit_ridge(constant, y, {.alpha = 0.0}), blend::invalid_argument);
    CHECK_THROWS_AS(blend::ensemble::fit_ridge(x, std::vector<double>{1.0, 2.0}), blend::shape_error);
}
