#pragma once
/// @file blend/ensemble/ridge.hpp
/// Ridge regression, the regression meta-learner of stacking (METHODS.md §2): minimises
///   ||y - X w - b||^2 + alpha ||w||^2            (alpha = 1, intercept b unpenalised)
/// in closed form, as scikit-learn's `Ridge(alpha=1.0)` does: centre X and y, solve
/// (Xc^T Xc + alpha I) w = Xc^T yc by Cholesky, b = mean(y) - mean(X) w. The d x d system is solved with
/// blend's own small Cholesky (detail/newton.hpp), not LAPACK: meta-feature counts are small (members x
/// classes), so the O(d^3) solve is negligible next to forming X^T X, and the build keeps no BLAS dependency.

#include <blend/core/error.hpp>
#include <blend/ensemble/detail/newton.hpp>

#include <fmt/format.h>

#include <span>
#include <vector>

namespace blend::ensemble {

/// Options of `fit_ridge`.
struct ridge_options {
    double alpha = 1.0;
};

/// A fitted ridge model: y = coef · x + intercept.
struct ridge_model {
    std::vector<double> coef;
    double intercept = 0.0;

    /// Predictions for N rows of d features (row-major).
    [[nodiscard]] std::vector<double> predict(std::span<const double> x) const {
        const std::size_t d = coef.size();
        if (d == 0 || x.size() % d != 0)
            throw shape_error{
                fmt::format("ridge_model: {} feature values are not rows of {} features", x.size(), d)};
        std::vector<double> out(x.size() / d);
        for (std::size_t i = 0; i < out.size(); ++i) {
            double t = intercept;
            for (std::size_t a = 0; a < d; ++a) t += coef[a] * x[i * d + a];
            out[i] = t;
        }
        return out;
    }
};

/// Fits ridge regression on N rows of d features and N targets (see the file comment). Throws
/// `shape_error` for mismatched sizes and `invalid_argument` for alpha < 0 or a singular system (alpha 0).
[[nodiscard]] inline ridge_model fit_ridge(std::span<const double> x, std::span<const double> y,
                                           const ridge_options& options = {}) {
    const std::size_t n = y.size();
    if (n == 0 || x.size() % n != 0 || x.size() == 0)
        throw shape_error{fmt::format("fit_ridge: {} feature values for {} targets", x.size(), n)};
    if (options.alpha < 0)
        throw invalid_argument{fmt::format("fit_ridge: alpha must be >= 0, got {}", options.alpha)};
    const std::size_t d = x.size() / n;
    std::vector<double> mean_x(d, 0.0);
    double mean_y = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        mean_y += y[i];
        for (std::size_t a = 0; a < d; ++a) mean_x[a] += x[i * d + a];
    }
    mean_y /= static_cast<double>(n);
    for (double& m : mean_x) m /= static_cast<double>(n);
    std::vector<double> gram(d * d, 0.0), rhs(d, 0.0), centred(d);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t a = 0; a < d; ++a) centred[a] = x[i * d + a] - mean_x[a];
        const double yc = y[i] - mean_y;
        for (std::size_t a = 0; a < d; ++a) {
            rhs[a] += centred[a] * yc;
            for (std::size_t b = 0; b <= a; ++b) gram[a * d + b] += centred[a] * centred[b];
        }
    }
    for (std::size_t a = 0; a < d; ++a) {
        gram[a * d + a] += options.alpha;
        for (std::size_t b = 0; b < a; ++b) gram[b * d + a] = gram[a * d + b];
    }
    if (!detail::cholesky_factor(gram, d))
        throw invalid_argument{
            fmt::format("fit_ridge: X^T X + {} I is singular; use alpha > 0", options.alpha)};
    detail::cholesky_solve(gram, d, rhs);
    ridge_model model{.coef = rhs, .intercept = mean_y};
    for (std::size_t a = 0; a < d; ++a) model.intercept -= mean_x[a] * rhs[a];
    return model;
}

}  // namespace blend::ensemble
