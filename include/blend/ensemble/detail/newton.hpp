#pragma once
/// @file blend/ensemble/detail/newton.hpp
/// A small damped Newton minimiser for smooth, low-dimensional problems (meta-learner fits, temperature
/// and vector scaling): the caller supplies value, gradient and the dense Hessian.
///
/// Each iteration solves (H + mu I) p = -g by Cholesky, starting with mu = 0 and growing the shift
/// (mu = max(2 mu, 1e-10 * max|H_ii|, 1e-12) ...) until the factorisation succeeds (H positive definite
/// after the shift; Nocedal & Wright, "Numerical Optimization", Alg. 3.3). The step length follows a
/// backtracking Armijo search: t = 1, 1/2, 1/4, ... until f(x + t p) <= f(x) + 1e-4 t g·p; near the optimum,
/// where f is flat to rounding, a step is also taken when f stays within 64 ulps and ||g||_inf shrinks (the
/// quadratic convergence shows in g, not in f). Converged when ||g||_inf <= gradient_tolerance. When no step
/// is accepted, the search stops and reports `converged = false` unless the gradient test holds.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <utility>
#include <vector>

namespace blend::ensemble::detail {

/// Stopping rules of `minimize_newton`.
struct newton_options {
    /// Stop once the largest absolute gradient component is at most this.
    double gradient_tolerance = 1e-10;
    /// Upper bound on Newton iterations (each may evaluate f several times in the line search).
    int max_iterations = 200;
};

/// Outcome of `minimize_newton`: the final point, its value and gradient norm (max-norm).
struct newton_result {
    std::vector<double> x;
    double value = 0;
    double gradient_norm = 0;
    int iterations = 0;
    bool converged = false;
};

/// In-place Cholesky factorisation of the symmetric n×n row-major matrix `a` (lower triangle used, L
/// written into it). Returns false when a pivot is not strictly positive (not positive definite).
[[nodiscard]] inline bool cholesky_factor(std::span<double> a, std::size_t n) {
    for (std::size_t j = 0; j < n; ++j) {
        double diagonal = a[j * n + j];
        for (std::size_t k = 0; k < j; ++k) diagonal -= a[j * n + k] * a[j * n + k];
        if (!(diagonal > 0.0) || !std::isfinite(diagonal)) return false;
        const double root = std::sqrt(diagonal);
        a[j * n + j] = root;
        for (std::size_t i = j + 1; i < n; ++i) {
            double value = a[i * n + j];
            for (std::size_t k = 0; k < j; ++k) value -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = value / root;
        }
    }
    return true;
}

/// Solves L L^T x = b in place (b becomes x) with the factor from `cholesky_factor`.
inline void cholesky_solve(std::span<const double> l, std::size_t n, std::span<double> b) {
    for (std::size_t i = 0; i < n; ++i) {
        double value = b[i];
        for (std::size_t k = 0; k < i; ++k) value -= l[i * n + k] * b[k];
        b[i] = value / l[i * n + i];
    }
    for (std::size_t i = n; i-- > 0;) {
        double value = b[i];
        for (std::size_t k = i + 1; k < n; ++k) value -= l[k * n + i] * b[k];
        b[i] = value / l[i * n + i];
    }
}

/// Solves (H + mu I) p = rhs for the smallest shift mu in the sequence 0, mu0, 2 mu0, 4 mu0, ... that makes
/// the shifted matrix positive definite (mu0 = max(1e-10 * max|H_ii|, 1e-12)). `rhs` becomes p.
inline void solve_shifted(std::span<const double> hessian, std::size_t n, std::span<double> rhs) {
    double scale = 0.0;
    for (std::size_t i = 0; i < n; ++i) scale = std::max(scale, std::abs(hessian[i * n + i]));
    double shift = 0.0;
    const double first_shift = std::max(1e-10 * scale, 1e-12);
    std::vector<double> work(n * n);
    for (int attempt = 0; attempt < 200; ++attempt) {
        std::copy(hessian.begin(), hessian.end(), work.begin());
        for (std::size_t i = 0; i < n; ++i) work[i * n + i] += shift;
        if (cholesky_factor(work, n)) {
            cholesky_solve(work, n, rhs);
            return;
        }
        shift = shift == 0.0 ? first_shift : 2.0 * shift;
    }
    // The Hessian is not finite: fall back to steepest descent (rhs is already -g).
}

/// Minimises f from x0 by damped Newton (see the file comment).
/// `f(std::span<const double> x, std::span<double> gradient, std::span<double> hessian)` returns f(x) and
/// writes the gradient (n) and the Hessian (n×n, row-major). Line-search trial points are evaluated with the
/// same callable (its derivatives are kept only for the accepted point).
template <class F>
[[nodiscard]] newton_result minimize_newton(F&& f, std::vector<double> x0,
                                            const newton_options& options = {}) {
    const std::size_t n = x0.size();
    newton_result result;
    result.x = std::move(x0);
    std::vector<double> gradient(n), hessian(n * n), step(n), trial(n), trial_gradient(n),
        trial_hessian(n * n);
    auto max_norm = [](std::span<const double> v) {
        double norm = 0.0;
        for (double value : v) norm = std::max(norm, std::abs(value));
        return norm;
    };
    result.value =
        f(std::span<const double>(result.x), std::span<double>(gradient), std::span<double>(hessian));
    result.gradient_norm = max_norm(gradient);
    while (result.gradient_norm > options.gradient_tolerance && result.iterations < options.max_iterations) {
        for (std::size_t i = 0; i < n; ++i) step[i] = -gradient[i];
        solve_shifted(hessian, n, step);
        double slope = 0.0;
        for (std::size_t i = 0; i < n; ++i) slope += gradient[i] * step[i];
        if (!(slope < 0.0)) {  // not a descent direction (numerical trouble): use steepest descent
            for (std::size_t i = 0; i < n; ++i) step[i] = -gradient[i];
            slope = 0.0;
            for (std::size_t i = 0; i < n; ++i) slope -= gradient[i] * gradient[i];
        }
        bool accepted = false;
        double t = 1.0;
        for (int halving = 0; halving < 60; ++halving, t *= 0.5) {
            for (std::size_t i = 0; i < n; ++i) trial[i] = result.x[i] + t * step[i];
            const double value = f(std::span<const double>(trial), std::span<double>(trial_gradient),
                                   std::span<double>(trial_hessian));
            // Armijo, or — near the optimum, where f is flat to rounding — a step that keeps f within a few
            // ulps and shrinks the gradient (the Newton step's quadratic convergence shows in g, not in f).
            const bool armijo = value <= result.value + 1e-4 * t * slope;
            const bool flat =
                std::abs(value - result.value) <=
                    64.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(result.value)) &&
                max_norm(trial_gradient) < result.gradient_norm;
            if (std::isfinite(value) && (armijo || flat)) {
                result.x.swap(trial);
                gradient.swap(trial_gradient);
                hessian.swap(trial_hessian);
                result.value = value;
                accepted = true;
                break;
            }
        }
        ++result.iterations;
        if (!accepted) break;
        result.gradient_norm = max_norm(gradient);
    }
    result.converged = result.gradient_norm <= options.gradient_tolerance;
    return result;
}

}  // namespace blend::ensemble::detail
