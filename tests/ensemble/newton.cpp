// Tests for blend/ensemble/detail/newton.hpp (damped Newton with Cholesky and Armijo backtracking).
#include <blend/ensemble/detail/newton.hpp>

#include "support/catch.hpp"

#include <cmath>
#include <span>
#include <vector>

using blend::ensemble::detail::minimize_newton;

namespace {

/// Rosenbrock's function f = (1 - x)^2 + 100 (y - x^2)^2 with its gradient and Hessian.
double rosenbrock(std::span<const double> v, std::span<double> g, std::span<double> h) {
    const double x = v[0], y = v[1];
    g[0] = -2 * (1 - x) - 400 * x * (y - x * x);
    g[1] = 200 * (y - x * x);
    h[0] = 2 - 400 * (y - x * x) + 800 * x * x;
    h[1] = h[2] = -400 * x;
    h[3] = 200;
    return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
}

}  // namespace

TEST_CASE("newton solves a positive-definite quadratic in one step", "[ensemble][newton]") {
    // f = 0.5 x^T A x - b^T x with A = [[4, 1], [1, 3]], b = [1, 2]: minimiser A^-1 b = [1/11, 7/11].
    auto quadratic = [](std::span<const double> x, std::span<double> g, std::span<double> h) {
        g[0] = 4 * x[0] + x[1] - 1;
        g[1] = x[0] + 3 * x[1] - 2;
        h[0] = 4, h[1] = 1, h[2] = 1, h[3] = 3;
        return 0.5 * (4 * x[0] * x[0] + 2 * x[0] * x[1] + 3 * x[1] * x[1]) - x[0] - 2 * x[1];
    };
    const auto r = minimize_newton(quadratic, {5.0, -3.0});
    CHECK(r.converged);
    CHECK(r.iterations == 1);
    CHECK(r.x[0] == Approx(1.0 / 11).epsilon(1e-14));
    CHECK(r.x[1] == Approx(7.0 / 11).epsilon(1e-14));
}

TEST_CASE("newton minimises the Rosenbrock function from the classic start", "[ensemble][newton]") {
    // f = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1); the Hessian is indefinite near (-1.2, 1).
    const auto r =
        minimize_newton(rosenbrock, {-1.2, 1.0}, {.gradient_tolerance = 1e-10, .max_iterations = 100});
    CHECK(r.converged);
    CHECK(r.iterations < 40);
    CHECK(r.x[0] == Approx(1.0).epsilon(1e-9));
    CHECK(r.x[1] == Approx(1.0).epsilon(1e-9));
    CHECK(r.value < 1e-18);
    CHECK(r.gradient_norm <= 1e-10);
}

TEST_CASE("newton shifts an indefinite Hessian and still descends", "[ensemble][newton]") {
    // f = x^4 - x^2 + y^2 starts at the saddle-ish region x = 0.1 where f'' < 0; the minima are x =
    // ±1/sqrt(2).
    auto f = [](std::span<const double> v, std::span<double> g, std::span<double> h) {
        g[0] = 4 * v[0] * v[0] * v[0] - 2 * v[0];
        g[1] = 2 * v[1];
        h[0] = 12 * v[0] * v[0] - 2, h[1] = h[2] = 0, h[3] = 2;
        return v[0] * v[0] * v[0] * v[0] - v[0] * v[0] + v[1] * v[1];
    };
    const auto r = minimize_newton(f, {0.1, 1.0});
    CHECK(r.converged);
    CHECK(std::abs(r.x[0]) == Approx(1 / std::sqrt(2.0)).epsilon(1e-12));
    CHECK(r.x[1] == Approx(0.0).margin(1e-12));
    CHECK(r.value == Approx(-0.25).epsilon(1e-14));
}

TEST_CASE("newton stops at max_iterations and reports non-convergence", "[ensemble][newton]") {
    const auto r = minimize_newton(rosenbrock, {-1.2, 1.0}, {.max_iterations = 2});
    CHECK(r.iterations == 2);
    CHECK_FALSE(r.converged);
}
