// Tests for blend/ensemble/logistic.hpp against scikit-learn 1.2.1 (tests/reference/stacking_reference.py).
#include <blend/ensemble/logistic.hpp>

#include "stacking_fixture.hpp"
#include "support/catch.hpp"

#include <cmath>

TEST_CASE("logistic regression matches sklearn's converged LogisticRegression, binary and multinomial",
          "[ensemble][logistic]") {
    // exact_*: sklearn's newton-cg at tol 1e-14 (the optimum); coef/test_proba: the StackingClassifier's own
    // final estimator, LogisticRegression(tol=1e-10) by lbfgs, which stops ~1e-5 short of the optimum in the
    // multinomial case (its ftol rule; see stacking_reference.py).
    for (const std::string name : {"binary", "multiclass"}) {
        INFO(name);
        const auto x = stacking_fixture::load<double>(name, "train_meta");
        const auto y = stacking_fixture::load<std::int64_t>(name, "y_train");
        const auto model = blend::ensemble::fit_logistic(x.values, y.values);
        CHECK(model.converged);
        const auto test = stacking_fixture::load<double>(name, "test_meta");
        const auto proba = model.predict_proba(test.values);
        const double lbfgs_margin = name == "binary" ? 1e-6 : 1e-4;
        for (const auto& [prefix, margin] :
             {std::pair{std::string("exact_"), 1e-6}, std::pair{std::string(), lbfgs_margin}}) {
            INFO(prefix);
            const auto coef = stacking_fixture::load<double>(name, prefix + "coef");
            const auto intercept = stacking_fixture::load<double>(name, prefix + "intercept");
            REQUIRE(model.coef.size() == coef.values.size());
            for (std::size_t i = 0; i < coef.values.size(); ++i)
                CHECK(model.coef[i] == Approx(coef.values[i]).margin(margin));
            // sklearn's multinomial intercepts sum to zero, as blend's do by construction.
            for (std::size_t k = 0; k < intercept.values.size(); ++k)
                CHECK(model.intercept[k] == Approx(intercept.values[k]).margin(margin));
            const auto expected =
                stacking_fixture::load<double>(name, prefix.empty() ? "test_proba" : "exact_proba");
            REQUIRE(proba.size() == expected.values.size());
            for (std::size_t i = 0; i < proba.size(); ++i)
                CHECK(proba[i] == Approx(expected.values[i]).margin(margin));
        }
    }
}

TEST_CASE("logistic regression's gradient vanishes at the solution", "[ensemble][logistic]") {
    // Independent check of the objective C sum NLL + 0.5 ||W||^2 on a tiny separable-ish problem.
    const std::vector<double> x{0.0, 1.0, 2.0, 3.0, 1.5, 0.5};
    const std::vector<std::int64_t> y{0, 0, 1, 1, 1, 0};
    const double c = 2.0;
    const auto m = blend::ensemble::fit_logistic(x, y, {.c = c});
    double gw = m.coef[0], gb = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        const double p = 1.0 / (1.0 + std::exp(-(m.coef[0] * x[i] + m.intercept[0])));
        gw += c * (p - static_cast<double>(y[i])) * x[i];
        gb += c * (p - static_cast<double>(y[i]));
    }
    CHECK(std::abs(gw) < 1e-9);
    CHECK(std::abs(gb) < 1e-9);
    const auto proba = m.predict_proba(x);
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(proba[2 * i] + proba[2 * i + 1] == Approx(1.0));
}

TEST_CASE("logistic regression rejects bad inputs", "[ensemble][logistic]") {
    const std::vector<double> x{0.0, 1.0, 2.0};
    const std::vector<std::int64_t> y{0, 1}, bad{0, -1, 1};
    CHECK_THROWS_AS(blend::ensemble::fit_logistic(x, y), blend::shape_error);
    CHECK_THROWS_AS(blend::ensemble::fit_logistic(x, bad), blend::invalid_argument);
    const std::vector<std::int64_t> ok{0, 1, 1};
    CHECK_THROWS_AS(blend::ensemble::fit_logistic(x, ok, {.c = 0.0}), blend::invalid_argument);
}
