#pragma once
/// @file blend/ensemble/detail/cmaes_core.hpp
/// A seeded, deterministic (mu/mu_w, lambda)-CMA-ES minimiser — N. Hansen, "The CMA Evolution Strategy: A
/// Tutorial" (arXiv:1604.00772), Table 1 defaults: mu = lambda/2, log-rank recombination weights,
/// c_sigma = (mu_eff+2)/(n+mu_eff+5), d_sigma = 1 + 2 max(0, sqrt((mu_eff-1)/(n+1)) - 1) + c_sigma,
/// c_c = (4 + mu_eff/n)/(n + 4 + 2 mu_eff/n), c_1 = 2/((n+1.3)^2 + mu_eff),
/// c_mu = min(1 - c_1, 2 (mu_eff - 2 + 1/mu_eff)/((n+2)^2 + mu_eff)), with the h_sigma stall of p_c.
/// The covariance is decomposed (cyclic Jacobi, own code) every max(1, floor(1/(10 n (c_1+c_mu))))
/// generations. Normal draws come from blend's Philox stream (Box-Muller on `uniform`), indexed by generation
/// and sample, and a generation's lambda evaluations may run in parallel: results are identical for any
/// thread count.

#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

namespace blend::ensemble::detail {

/// Settings of `cmaes_minimize`.
struct cmaes_settings {
    double sigma = 0.2;
    /// Population size; 0 means 4 + floor(3 ln n).
    std::size_t population = 0;
    /// Total function evaluations (whole generations are run while they fit).
    std::size_t budget = 1000;
    std::uint64_t seed = 0;
};

/// Best point found, its value, and the best value after each generation.
struct cmaes_outcome {
    std::vector<double> x;
    double value = 0;
    std::vector<double> history;
};

/// Eigen-decomposition of the symmetric n x n row-major `a` by cyclic Jacobi rotations: returns the
/// eigenvalues, writes the eigenvectors as the columns of `vectors` (row-major n x n).
[[nodiscard]] inline std::vector<double> symmetric_eigen(std::vector<double> a, std::size_t n,
                                                         std::vector<double>& vectors) {
    vectors.assign(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) vectors[i * n + i] = 1.0;
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0.0, total = 0.0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) (i == j ? total : off) += a[i * n + j] * a[i * n + j];
        if (off <= 1e-30 * (total + off)) break;
        for (std::size_t p = 0; p + 1 < n; ++p) {
            for (std::size_t q = p + 1; q < n; ++q) {
                const double apq = a[p * n + q];
                if (std::abs(apq) < 1e-300) continue;
                const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                const double t =
                    (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
                for (std::size_t k = 0; k < n; ++k) {  // A <- A J (columns p, q)
                    const double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (std::size_t k = 0; k < n; ++k) {  // A <- J^T A (rows p, q)
                    const double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (std::size_t k = 0; k < n; ++k) {
                    const double vkp = vectors[k * n + p], vkq = vectors[k * n + q];
                    vectors[k * n + p] = c * vkp - s * vkq;
                    vectors[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    std::vector<double> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = a[i * n + i];
    return values;
}

/// Minimises f(std::span<const double>) -> double from mean x0 (see the file comment). f is called
/// concurrently for the samples of one generation and must be thread-safe.
template <class F>
[[nodiscard]] cmaes_outcome cmaes_minimize(F&& f, std::vector<double> x0, const cmaes_settings& settings) {
    const std::size_t n = x0.size();
    const double nd = static_cast<double>(n);
    const std::size_t lambda = settings.population != 0
                                   ? settings.population
                                   : 4 + static_cast<std::size_t>(std::floor(3.0 * std::log(nd)));
    const std::size_t mu = lambda / 2;
    std::vector<double> w(mu);
    for (std::size_t i = 0; i < mu; ++i)
        w[i] = std::log((static_cast<double>(lambda) + 1.0) / 2.0) - std::log(static_cast<double>(i + 1));
    const double wsum = std::accumulate(w.begin(), w.end(), 0.0);
    double w2 = 0.0;
    for (double& v : w) v /= wsum, w2 += v * v;
    const double mu_eff = 1.0 / w2;
    const double cs = (mu_eff + 2.0) / (nd + mu_eff + 5.0);
    const double ds = 1.0 + 2.0 * std::max(0.0, std::sqrt((mu_eff - 1.0) / (nd + 1.0)) - 1.0) + cs;
    const double cc = (4.0 + mu_eff / nd) / (nd + 4.0 + 2.0 * mu_eff / nd);
    const double c1 = 2.0 / ((nd + 1.3) * (nd + 1.3) + mu_eff);
    const double cmu =
        std::min(1.0 - c1, 2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((nd + 2.0) * (nd + 2.0) + mu_eff));
    const double chi_n = std::sqrt(nd) * (1.0 - 1.0 / (4.0 * nd) + 1.0 / (21.0 * nd * nd));
    const auto eigen_every =
        std::max<std::size_t>(1, static_cast<std::size_t>(1.0 / (10.0 * nd * (c1 + cmu))));

    std::vector<double> mean = std::move(x0), ps(n, 0.0), pc(n, 0.0), cov(n * n, 0.0), basis(n * n, 0.0),
                        scale(n, 1.0);
    for (std::size_t i = 0; i < n; ++i) cov[i * n + i] = basis[i * n + i] = 1.0;
    double sigma = settings.sigma;
    const random_stream stream{settings.seed, stream_key("ensemble.cmaes", 0)};
    std::vector<double> z(lambda * n), y(lambda * n), x(lambda * n), values(lambda);
    std::vector<std::size_t> rank(lambda);
    cmaes_outcome out{mean, f(std::span<const double>(mean)), {}};
    const std::size_t generations = std::max<std::size_t>(1, settings.budget / lambda);
    for (std::size_t g = 0; g < generations; ++g) {
        for (std::size_t k = 0; k < lambda; ++k) {
            for (std::size_t i = 0; i < n; ++i) {  // Box-Muller on two uniforms per draw
                const std::uint64_t index = 2 * ((g * lambda + k) * n + i);
                const double u1 = 1.0 - stream.uniform(index), u2 = stream.uniform(index + 1);
                z[k * n + i] = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
            }
            for (std::size_t i = 0; i < n; ++i) {
                double v = 0.0;
                for (std::size_t j = 0; j < n; ++j) v += basis[i * n + j] * scale[j] * z[k * n + j];
                y[k * n + i] = v;
                x[k * n + i] = mean[i] + sigma * v;
            }
        }
        parallel_for(lambda, 1, [&](std::size_t begin, std::size_t end) {
            for (std::size_t k = begin; k < end; ++k)
                values[k] = f(std::span<const double>(x.data() + k * n, n));
        });
        std::iota(rank.begin(), rank.end(), std::size_t{0});
        std::stable_sort(rank.begin(), rank.end(),
                         [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
        if (values[rank[0]] < out.value) {
            out.value = values[rank[0]];
            out.x.assign(x.begin() + static_cast<std::ptrdiff_t>(rank[0] * n),
                         x.begin() + static_cast<std::ptrdiff_t>((rank[0] + 1) * n));
        }
        out.history.push_back(out.value);

        std::vector<double> yw(n, 0.0), zw(n, 0.0);
        for (std::size_t i = 0; i < mu; ++i)
            for (std::size_t j = 0; j < n; ++j)
                yw[j] += w[i] * y[rank[i] * n + j], zw[j] += w[i] * z[rank[i] * n + j];
        for (std::size_t j = 0; j < n; ++j) mean[j] += sigma * yw[j];
        // C^{-1/2} y_w = B z_w (B orthonormal, y = B D z).
        double ps_norm2 = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            double v = 0.0;
            for (std::size_t j = 0; j < n; ++j) v += basis[i * n + j] * zw[j];
            ps[i] = (1.0 - cs) * ps[i] + std::sqrt(cs * (2.0 - cs) * mu_eff) * v;
            ps_norm2 += ps[i] * ps[i];
        }
        const double ps_norm = std::sqrt(ps_norm2);
        const bool hs = ps_norm / std::sqrt(1.0 - std::pow(1.0 - cs, 2.0 * static_cast<double>(g + 1))) <
                        (1.4 + 2.0 / (nd + 1.0)) * chi_n;
        for (std::size_t i = 0; i < n; ++i)
            pc[i] = (1.0 - cc) * pc[i] + (hs ? std::sqrt(cc * (2.0 - cc) * mu_eff) : 0.0) * yw[i];
        const double stall = hs ? 0.0 : cc * (2.0 - cc);
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j <= i; ++j) {
                double rank_mu = 0.0;
                for (std::size_t k = 0; k < mu; ++k)
                    rank_mu += w[k] * y[rank[k] * n + i] * y[rank[k] * n + j];
                const double v = (1.0 - c1 - cmu) * cov[i * n + j] +
                                 c1 * (pc[i] * pc[j] + stall * cov[i * n + j]) + cmu * rank_mu;
                cov[i * n + j] = cov[j * n + i] = v;
            }
        }
        sigma *= std::exp((cs / ds) * (ps_norm / chi_n - 1.0));
        if ((g + 1) % eigen_every == 0) {
            const auto eigenvalues = symmetric_eigen(cov, n, basis);
            for (std::size_t i = 0; i < n; ++i) scale[i] = std::sqrt(std::max(eigenvalues[i], 1e-20));
        }
    }
    return out;
}

}  // namespace blend::ensemble::detail
