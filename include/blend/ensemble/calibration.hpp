#pragma once
/// @file blend/ensemble/calibration.hpp
/// Post-hoc calibration of logits on validation data — METHODS.md §2, CLI.md `calibrate`:
///
///   temperature scaling  p = softmax(z / T), T > 0 minimising NLL(T) = (1/N) sum_i [LSE(z_i / T) - z_iy / T];
///                        solved for s = log T: the root of dNLL/ds (unique, as NLL is convex in 1/T) by
///                        Newton's method safeguarded with bisection inside a bracket found by doubling steps
///                        from s = 0, to |dNLL/ds| < 1e-8 (Guo et al. 2017, "On Calibration of Modern Neural
///                        Networks"). Binary (N,) logits z are the two-class logits [0, z] (sigmoid(z / T)).
///   vector scaling       p = softmax(a ∘ z + b), per-class scale a and bias b minimising the same NLL, by
///                        damped Newton with a backtracking line search (detail/newton.hpp) from a = 1,
///                        b = 0 to a gradient max-norm of 1e-10. Softmax ignores a common shift of b, so b_0
///                        is held at 0 while fitting and b is shifted to mean 0 afterwards. (N, C) only.
///
/// The NLL here is computed exactly from the logits (log-softmax); unlike `metrics::log_loss` nothing is
/// clipped. Temperature scaling never changes the predicted labels (T > 0 keeps each row's order);
/// vector scaling may.

#include <blend/core/error.hpp>
#include <blend/ensemble/detail/newton.hpp>
#include <blend/ensemble/member_block.hpp>

#include <blend/core/detail/xtensor.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

namespace blend::ensemble {

/// One member's logits: N rows of C columns (C = 1: binary logits, read as [0, z]) and their labels.
struct logit_data {
    member_ref logits;
    std::size_t rows = 0;
    std::size_t columns = 1;
    std::span<const std::int64_t> labels;
};

namespace detail {

/// Checks rows, label count and label range; returns the number of classes (2 for binary).
[[nodiscard]] inline std::size_t checked_classes(const logit_data& d, std::string_view what) {
    if (d.rows == 0) throw invalid_argument{fmt::format("{}: no rows", what)};
    if (d.labels.size() != d.rows)
        throw shape_error{fmt::format("{}: {} labels for {} rows of logits", what, d.labels.size(), d.rows)};
    const std::size_t classes = std::max<std::size_t>(d.columns, 2);
    for (std::size_t i = 0; i < d.rows; ++i)
        if (d.labels[i] < 0 || static_cast<std::size_t>(d.labels[i]) >= classes)
            throw invalid_argument{fmt::format("{}: label {} at row {} is not one of {} classes", what, d.labels[i], i, classes)};
    return classes;
}

/// Row i of the logits as `classes` float64 values (binary: [0, z]).
inline void logit_row(const logit_data& d, std::size_t i, std::span<double> row) {
    with_member_data(d.logits, [&](const auto* p) {
        if (d.columns == 1) {
            row[0] = 0.0;
            row[1] = static_cast<double>(p[i]);
        } else {
            for (std::size_t c = 0; c < d.columns; ++c) row[c] = static_cast<double>(p[i * d.columns + c]);
        }
    });
}

/// Softmax of `row` in place; returns log-sum-exp of the input.
inline double softmax_in_place(std::span<double> row) {
    const double top = *std::max_element(row.begin(), row.end());
    double sum = 0.0;
    for (double& v : row) sum += (v = std::exp(v - top));
    for (double& v : row) v /= sum;
    return top + std::log(sum);
}

/// NLL(a) with a = 1/T and its first two derivatives in a: mean [E_p z - z_y] and mean Var_p z.
struct scaled_nll {
    double value = 0, d1 = 0, d2 = 0;
};
[[nodiscard]] inline scaled_nll nll_at_inverse_temperature(const logit_data& d, std::size_t classes, double a) {
    std::vector<double> z(classes), p(classes);
    scaled_nll out;
    for (std::size_t i = 0; i < d.rows; ++i) {
        logit_row(d, i, z);
        for (std::size_t c = 0; c < classes; ++c) p[c] = a * z[c];
        const auto y = static_cast<std::size_t>(d.labels[i]);
        out.value += softmax_in_place(p) - a * z[y];
        double mean = 0.0, square = 0.0;
        for (std::size_t c = 0; c < classes; ++c) {
            mean += p[c] * z[c];
            square += p[c] * z[c] * z[c];
        }
        out.d1 += mean - z[y];
        out.d2 += std::max(0.0, square - mean * mean);
    }
    const auto n = static_cast<double>(d.rows);
    return {out.value / n, out.d1 / n, out.d2 / n};
}

}  // namespace detail

/// Views (N, C) or binary (N,) float32/float64 logits and int64 labels as `logit_data` (no copy).
template <tensor T>
    requires(std::same_as<tensor_value_t<T>, float> || std::same_as<tensor_value_t<T>, double>)
[[nodiscard]] logit_data make_logit_data(const T& logits, std::span<const std::int64_t> labels) {
    const shape_type s = tensor_shape(logits);
    if (s.empty() || s.size() > 2)
        throw shape_error{fmt::format("calibration: logits must be (N,) or (N, C), not [{}]", fmt::join(s, ", "))};
    return {.logits = {dtype_of<tensor_value_t<T>>, tensor_data(logits)}, .rows = s[0],
            .columns = s.size() == 2 ? s[1] : 1, .labels = labels};
}

/// Options of `fit_temperature`.
struct temperature_options {
    /// Converged when |dNLL/dlog T| is below this.
    double gradient_tolerance = 1e-8;
    int max_iterations = 200;
};

/// The fitted temperature, NLL(T) and dNLL/dlog T there.
struct temperature_result {
    double temperature = 1;
    double nll = 0;
    double gradient = 0;
    int iterations = 0;
};

/// Fits T (see the file comment). Throws `invalid_argument` when the labels are out of range or when
/// no finite optimum exists (|log T| beyond 30: logits that separate the labels perfectly drive
/// T to 0), `shape_error` when the label count differs from N, `error` when it does not converge.
[[nodiscard]] inline temperature_result fit_temperature(const logit_data& d, const temperature_options& options = {}) {
    const std::size_t classes = detail::checked_classes(d, "temperature scaling");
    // g(s) = dNLL/ds = -a f'(a), h(s) = a f'(a) + a^2 f''(a), with a = exp(-s).
    const auto eval = [&](double s, double& g, double& h) {
        const double a = std::exp(-s);
        const auto f = detail::nll_at_inverse_temperature(d, classes, a);
        g = -a * f.d1;
        h = a * f.d1 + a * a * f.d2;
        return f.value;
    };
    double g = 0, h = 0, s = 0;
    double value = eval(s, g, h);
    temperature_result result;
    if (std::abs(g) >= options.gradient_tolerance) {
        // bracket the root: g increases through its unique root, so step from s = 0 towards it by
        // 1, 2, 4, ... until g changes sign; then g(lo) < 0 < g(hi)
        const double direction = g > 0 ? -1.0 : 1.0;
        double inner = 0, outer = direction, gs = 0, hs = 0;
        (void)eval(outer, gs, hs);
        while (!(gs * direction > 0)) {  // a zero gradient out here is underflow, not a root
            if (std::abs(outer) >= 50)
                throw invalid_argument{fmt::format(
                    "temperature scaling: no finite optimum (dNLL/dlogT = {} at log T = {})", gs, outer)};
            inner = outer;
            outer *= 2;
            (void)eval(outer, gs, hs);
        }
        double lo = std::min(inner, outer), hi = std::max(inner, outer);
        s = 0.5 * (lo + hi);
        value = eval(s, g, h);
        for (; result.iterations < options.max_iterations && std::abs(g) >= options.gradient_tolerance; ++result.iterations) {
            if (g < 0) lo = s; else hi = s;
            double next = h > 0 ? s - g / h : 0.5 * (lo + hi);
            if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
            if (next == s) break;
            s = next;
            value = eval(s, g, h);
        }
        if (std::abs(s) > 30)  // the gradient vanished only by underflow, far out: T -> 0 or infinity
            throw invalid_argument{fmt::format("temperature scaling: no finite optimum (T = {})", std::exp(s))};
        if (std::abs(g) >= options.gradient_tolerance)
            throw error{fmt::format("temperature scaling did not converge: dNLL/dlogT = {} at T = {}", g, std::exp(s))};
    }
    result.temperature = std::exp(s);
    result.nll = value;
    result.gradient = g;
    return result;
}

/// Per-class scale and bias (bias with mean 0), the NLL there, and whether Newton converged.
struct vector_scaling_result {
    std::vector<double> scale;
    std::vector<double> bias;
    double nll = 0;
    double gradient_norm = 0;
    int iterations = 0;
    bool converged = false;
};

/// Options of `fit_vector_scaling`.
struct vector_scaling_options {
    double gradient_tolerance = 1e-10;
    int max_iterations = 200;
};

/// Fits vector scaling (see the file comment) on (N, C) logits, C >= 2. Throws `invalid_argument`
/// for single-column logits or labels out of range, `shape_error` for a label count different from N.
/// A fit that does not reach the tolerance (logits separating the labels) returns `converged = false`.
[[nodiscard]] inline vector_scaling_result fit_vector_scaling(const logit_data& d, const vector_scaling_options& options = {}) {
    if (d.columns < 2)
        throw invalid_argument{fmt::format("vector scaling needs (N, C) logits with C >= 2, not {} column", d.columns)};
    const std::size_t c = detail::checked_classes(d, "vector scaling");
    const std::size_t n = 2 * c - 1;  // a_0..a_{C-1}, b_1..b_{C-1}
    const auto objective = [&](std::span<const double> x, std::span<double> grad, std::span<double> hess) {
        std::fill(grad.begin(), grad.end(), 0.0);
        std::fill(hess.begin(), hess.end(), 0.0);
        std::vector<double> z(c), p(c);
        // index of the derivative of z'_k with respect to a_k (k) and b_k (c - 1 + k, k >= 1)
        const auto bias_index = [c](std::size_t k) { return c - 1 + k; };
        double total = 0.0;
        for (std::size_t i = 0; i < d.rows; ++i) {
            detail::logit_row(d, i, z);
            for (std::size_t k = 0; k < c; ++k) p[k] = x[k] * z[k] + (k > 0 ? x[bias_index(k)] : 0.0);
            const auto y = static_cast<std::size_t>(d.labels[i]);
            const double zy = p[y];
            total += detail::softmax_in_place(p) - zy;
            for (std::size_t k = 0; k < c; ++k) {
                const double r = p[k] - (k == y ? 1.0 : 0.0);
                grad[k] += r * z[k];
                if (k > 0) grad[bias_index(k)] += r;
                for (std::size_t l = 0; l < c; ++l) {
                    const double s = p[k] * ((k == l ? 1.0 : 0.0) - p[l]);
                    hess[k * n + l] += s * z[k] * z[l];
                    if (l > 0) {
                        hess[k * n + bias_index(l)] += s * z[k];
                        hess[bias_index(l) * n + k] += s * z[k];
                    }
                    if (k > 0 && l > 0) hess[bias_index(k) * n + bias_index(l)] += s;
                }
            }
        }
        const auto rows = static_cast<double>(d.rows);
        for (double& v : grad) v /= rows;
        for (double& v : hess) v /= rows;
        return total / rows;
    };
    std::vector<double> x0(n, 0.0);
    std::fill(x0.begin(), x0.begin() + static_cast<std::ptrdiff_t>(c), 1.0);
    const auto fit = detail::minimize_newton(objective, std::move(x0),
                                             {.gradient_tolerance = options.gradient_tolerance,
                                              .max_iterations = options.max_iterations});
    vector_scaling_result out;
    out.scale.assign(fit.x.begin(), fit.x.begin() + static_cast<std::ptrdiff_t>(c));
    out.bias.assign(c, 0.0);
    for (std::size_t k = 1; k < c; ++k) out.bias[k] = fit.x[c - 1 + k];
    double mean = 0.0;
    for (double b : out.bias) mean += b / static_cast<double>(c);
    for (double& b : out.bias) b -= mean;
    out.nll = fit.value;
    out.gradient_norm = fit.gradient_norm;
    out.iterations = fit.iterations;
    out.converged = fit.converged;
    return out;
}

/// Calibrated probabilities softmax(scale ∘ z / T + bias) of (N, C) logits (binary (N,): sigmoid,
/// with scale and bias of one entry, or empty for the identity), as float64 of the logits' shape.
/// `scale`/`bias` empty mean 1/0. `temperature` must be > 0 (`invalid_argument` otherwise).
[[nodiscard]] inline xt::xarray<double> apply_calibration(const logit_data& d, double temperature,
                                                          std::span<const double> scale = {},
                                                          std::span<const double> bias = {}) {
    if (!(temperature > 0) || !std::isfinite(temperature))
        throw invalid_argument{fmt::format("calibration: temperature must be positive and finite, not {}", temperature)};
    if ((!scale.empty() && scale.size() != d.columns) || (!bias.empty() && bias.size() != d.columns))
        throw invalid_argument{fmt::format("calibration: {} scales and {} biases for {} columns", scale.size(), bias.size(), d.columns)};
    auto out = d.columns == 1 ? xt::xarray<double>::from_shape({d.rows}) : xt::xarray<double>::from_shape({d.rows, d.columns});
    std::vector<double> row(d.columns);
    for (std::size_t i = 0; i < d.rows; ++i) {
        with_member_data(d.logits, [&](const auto* p) {
            for (std::size_t k = 0; k < d.columns; ++k)
                row[k] = (scale.empty() ? 1.0 : scale[k]) * static_cast<double>(p[i * d.columns + k]) / temperature +
                         (bias.empty() ? 0.0 : bias[k]);
        });
        if (d.columns == 1) {
            out(i) = row[0] >= 0 ? 1.0 / (1.0 + std::exp(-row[0])) : std::exp(row[0]) / (1.0 + std::exp(row[0]));
        } else {
            detail::softmax_in_place(row);
            std::copy(row.begin(), row.end(), out.data() + i * d.columns);
        }
    }
    return out;
}

}  // namespace blend::ensemble
