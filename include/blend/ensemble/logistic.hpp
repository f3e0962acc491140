#pragma once
/// @file blend/ensemble/logistic.hpp
/// L2-regularised logistic regression, the stacking meta-learner (METHODS.md §2 "Stacking"), with
/// scikit-learn's objective:
///   F(W, b) = C * sum_i NLL_i + 0.5 * ||W||^2        (intercepts b unpenalised, C = 1 by default)
/// Two classes: binomial, one weight vector, p(1 | x) = sigmoid(w·x + b) (sklearn's binary case);
/// more: multinomial, one row of W per class, p = softmax(W x + b) (sklearn's `multinomial`, lbfgs).
/// Solved by damped Newton (detail/newton.hpp) to max|grad F| <= `gradient_tolerance`, so the solution
/// matches sklearn `LogisticRegression(tol=1e-10)` to ~1e-8. The multinomial intercepts are determined
/// only up to a common shift; blend adds 0.5 (sum_k b_k)^2 to F, which picks the representative with
/// sum_k b_k = 0 (the one lbfgs reaches from zero) and changes no probability.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/ensemble/detail/newton.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

namespace blend::ensemble {

/// Options of `fit_logistic`.
struct logistic_options {
    /// Inverse regularisation strength (sklearn's C).
    double c = 1.0;
    /// Number of classes; 0 means max(label) + 1 (at least 2).
    std::size_t classes = 0;
    double gradient_tolerance = 1e-9;
    int max_iterations = 100;
};

/// A fitted logistic regression: `coef` is K x d row-major (K = 1 for two classes, else C), `intercept` K.
struct logistic_model {
    std::size_t features = 0;
    std::size_t classes = 2;
    std::vector<double> coef;
    std::vector<double> intercept;
    /// Newton's final max-norm gradient and whether it met the tolerance.
    double gradient_norm = 0;
    bool converged = false;

    /// Class probabilities (N x C row-major, C >= 2) of `rows` feature rows (N x d row-major).
    [[nodiscard]] std::vector<double> predict_proba(std::span<const double> x) const {
        if (features == 0 || x.size() % features != 0)
            throw shape_error{fmt::format("logistic_model: {} feature values are not rows of {} features",
                                          x.size(), features)};
        const std::size_t n = x.size() / features;
        std::vector<double> out(n * classes);
        std::vector<double> z(classes);
        for (std::size_t i = 0; i < n; ++i) {
            const double* row = x.data() + i * features;
            if (classes == 2) {
                double t = intercept[0];
                for (std::size_t a = 0; a < features; ++a) t += coef[a] * row[a];
                const double p = 1.0 / (1.0 + std::exp(-t));
                out[i * 2] = 1.0 - p;
                out[i * 2 + 1] = p;
                continue;
            }
            double top = -1e308;
            for (std::size_t k = 0; k < classes; ++k) {
                double t = intercept[k];
                for (std::size_t a = 0; a < features; ++a) t += coef[k * features + a] * row[a];
                top = std::max(top, z[k] = t);
            }
            double total = 0.0;
            for (std::size_t k = 0; k < classes; ++k) total += (z[k] = std::exp(z[k] - top));
            for (std::size_t k = 0; k < classes; ++k) out[i * classes + k] = z[k] / total;
        }
        return out;
    }
};

/// Fits `logistic_model` on N rows of d features (`x`, row-major) and labels 0..C-1. Throws
/// `shape_error` when the sizes disagree, `invalid_argument` for a label out of range or C <= 0.
[[nodiscard]] inline logistic_model fit_logistic(std::span<const double> x,
                                                 std::span<const std::int64_t> labels,
                                                 const logistic_options& options = {}) {
    const std::size_t n = labels.size();
    if (n == 0 || x.size() % n != 0)
        throw shape_error{fmt::format("fit_logistic: {} feature values for {} labels", x.size(), n)};
    if (!(options.c > 0.0))
        throw invalid_argument{fmt::format("fit_logistic: C must be positive, got {}", options.c)};
    const std::size_t d = x.size() / n;
    std::int64_t top = 1;
    for (auto y : labels) top = std::max(top, y);
    const std::size_t classes = options.classes != 0 ? options.classes : static_cast<std::size_t>(top) + 1;
    for (std::size_t i = 0; i < n; ++i)
        if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= classes)
            throw invalid_argument{
                fmt::format("fit_logistic: label {} at row {} is outside [0, {})", labels[i], i, classes)};
    const std::size_t k_rows = classes == 2 ? 1 : classes, width = d + 1, p = k_rows * width;
    // Parameter layout: row k = [W_k (d), b_k].
    auto objective = [&](std::span<const double> theta, std::span<double> grad, std::span<double> hess) {
        std::fill(grad.begin(), grad.end(), 0.0);
        std::fill(hess.begin(), hess.end(), 0.0);
        double value = 0.0;
        std::vector<double> z(k_rows), prob(k_rows);
        for (std::size_t i = 0; i < n; ++i) {
            const double* row = x.data() + i * d;
            auto feature = [&](std::size_t a) { return a < d ? row[a] : 1.0; };
            for (std::size_t k = 0; k < k_rows; ++k) {
                double t = theta[k * width + d];
                for (std::size_t a = 0; a < d; ++a) t += theta[k * width + a] * row[a];
                z[k] = t;
            }
            const auto y = static_cast<std::size_t>(labels[i]);
            if (k_rows == 1) {
                const double t = z[0];
                // log(1 + e^t) - y t, computed stably
                value += options.c * ((t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t))) -
                                      (y == 1 ? t : 0.0));
                prob[0] = 1.0 / (1.0 + std::exp(-t));
                const double r = prob[0] - (y == 1 ? 1.0 : 0.0), h = prob[0] * (1.0 - prob[0]);
                for (std::size_t a = 0; a < width; ++a) {
                    grad[a] += options.c * r * feature(a);
                    for (std::size_t b = 0; b <= a; ++b)
                        hess[a * p + b] += options.c * h * feature(a) * feature(b);
                }
                continue;
            }
            double zmax = z[0];
            for (double t : z) zmax = std::max(zmax, t);
            double total = 0.0;
            for (std::size_t k = 0; k < k_rows; ++k) total += (prob[k] = std::exp(z[k] - zmax));
            for (double& q : prob) q /= total;
            value += options.c * (zmax + std::log(total) - z[y]);
            for (std::size_t k = 0; k < k_rows; ++k) {
                const double r = prob[k] - (k == y ? 1.0 : 0.0);
                for (std::size_t a = 0; a < width; ++a) grad[k * width + a] += options.c * r * feature(a);
                for (std::size_t l = 0; l <= k; ++l) {
                    const double h = options.c * prob[k] * ((k == l ? 1.0 : 0.0) - prob[l]);
                    for (std::size_t a = 0; a < width; ++a) {
                        const double ha = h * feature(a);
                        const std::size_t row_index = (k * width + a) * p + l * width;
                        for (std::size_t b = 0; b < width; ++b) hess[row_index + b] += ha * feature(b);
                    }
                }
            }
        }
        for (std::size_t k = 0; k < k_rows; ++k) {
            for (std::size_t a = 0; a < d; ++a) {
                const double w = theta[k * width + a];
                value += 0.5 * w * w;
                grad[k * width + a] += w;
                hess[(k * width + a) * p + k * width + a] += 1.0;
            }
        }
        if (k_rows > 1) {  // 0.5 (sum_k b_k)^2 fixes the common intercept shift
            double shift = 0.0;
            for (std::size_t k = 0; k < k_rows; ++k) shift += theta[k * width + d];
            value += 0.5 * shift * shift;
            for (std::size_t k = 0; k < k_rows; ++k) {
                grad[k * width + d] += shift;
                for (std::size_t l = 0; l <= k; ++l) hess[(k * width + d) * p + l * width + d] += 1.0;
            }
        }
        for (std::size_t a = 0; a < p; ++a)  // mirror the lower triangle
            for (std::size_t b = 0; b < a; ++b) hess[b * p + a] = hess[a * p + b];
        return value;
    };
    const auto solved = detail::minimize_newton(
        objective, std::vector<double>(p, 0.0),
        {.gradient_tolerance = options.gradient_tolerance, .max_iterations = options.max_iterations});
    logistic_model model{.features = d,
                         .classes = classes,
                         .coef = {},
                         .intercept = {},
                         .gradient_norm = solved.gradient_norm,
                         .converged = solved.converged};
    for (std::size_t k = 0; k < k_rows; ++k) {
        for (std::size_t a = 0; a < d; ++a) model.coef.push_back(solved.x[k * width + a]);
        model.intercept.push_back(solved.x[k * width + d]);
    }
    return model;
}

}  // namespace blend::ensemble
