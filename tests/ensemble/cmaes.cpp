// Tests for blend/ensemble/cmaes.hpp and its optimiser blend/ensemble/detail/cmaes_core.hpp.
#include <blend/ensemble/cmaes.hpp>
#include <blend/io/npy.hpp>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "selection_fixture.hpp"

#include <vector>

namespace {
using selection_fixture::load;
}  // namespace

TEST_CASE("cma-es minimises a rotated ellipsoid", "[ensemble][cmaes]") {
    // f(x) = sum_i 10^(2i/(n-1)) (x_i - 1)^2 after mixing coordinates pairwise; minimum 0 at x = 1.
    auto f = [](std::span<const double> x) {
        double total = 0.0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double u = (x[i] - 1.0) + 0.5 * (x[(i + 1) % x.size()] - 1.0);
            total += std::pow(10.0, 2.0 * static_cast<double>(i) / static_cast<double>(x.size() - 1)) * u * u;
        }
        return total;
    };
    const auto r = blend::ensemble::detail::cmaes_minimize(f, std::vector<double>(6, 0.0),
                                                           {.sigma = 0.5, .budget = 6000, .seed = 1});
    CHECK(r.value < 1e-10);
    for (double v : r.x) CHECK(v == Approx(1.0).margin(1e-4));
    CHECK(std::is_sorted(r.history.rbegin(), r.history.rend()));  // best-so-far never increases
}

TEST_CASE("jacobi eigen-decomposition reconstructs a symmetric matrix", "[ensemble][cmaes]") {
    const std::vector<double> a{4, 1, 2, 1, 3, 0.5, 2, 0.5, 5};
    std::vector<double> v;
    const auto values = blend::ensemble::detail::symmetric_eigen(a, 3, v);
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j) {
            double rebuilt = 0.0;
            for (std::size_t k = 0; k < 3; ++k) rebuilt += v[i * 3 + k] * values[k] * v[j * 3 + k];
            CHECK(rebuilt == Approx(a[i * 3 + j]).margin(1e-12));
        }
    CHECK(values[0] + values[1] + values[2] == Approx(12.0));  // trace
}

TEST_CASE("cma-es weights are never worse than the single best member", "[ensemble][cmaes]") {
    for (const std::string name : {"synthetic_log_loss", "cancer_log_loss", "diabetes_rmse"}) {
        INFO(name);
        const auto f = load(name);
        const auto r = blend::ensemble::select_cmaes(f.block, f.classes, f.targets);
        double total = 0.0;
        for (double w : r.weights) {
            total += w;
            CHECK(w >= 0.0);
        }
        CHECK(total == Approx(1.0).epsilon(1e-12));
        CHECK(r.order.empty());
        CHECK(r.kept == 0);
        // Independent check of the losses: the mix's metric through blend::metrics against every single
        // member.
        const bool regression = !f.targets.empty();
        const auto metric = regression ? blend::ensemble::selection_metric::rmse
                                       : blend::ensemble::selection_metric::log_loss;
        const auto loss = blend::ensemble::detail::metric_loss(metric, f.block, f.classes, f.targets);
        const std::size_t size = f.block.rows * f.block.columns;
        std::vector<double> mix(size, 0.0);
        double single_best = 1e300;
        for (std::size_t m = 0; m < f.block.size(); ++m) {
            const auto* p = static_cast<const double*>(f.block.members[m].data);
            for (std::size_t i = 0; i < size; ++i) mix[i] += r.weights[m] * p[i];
            single_best = std::min(single_best, loss(std::span<const double>(p, size), f.block.columns));
        }
        const double ensemble = loss(mix, f.block.columns);
        CHECK(ensemble <= single_best + 1e-12);
        CHECK(r.trajectory.back() == Approx(ensemble).epsilon(1e-10));
        if (name == "synthetic_log_loss")
            CHECK(ensemble < 0.93 * single_best);  // independent members average well (greedy reaches 0.918x)
    }
}

TEST_CASE("cma-es is deterministic for a seed and any thread count", "[ensemble][cmaes]") {
    const auto f = load("synthetic_log_loss");
    blend::set_num_threads(1);
    const auto a = blend::ensemble::select_cmaes(f.block, f.classes, {}, {.seed = 7});
    blend::set_num_threads(2);
    const auto b = blend::ensemble::select_cmaes(f.block, f.classes, {}, {.seed = 7});
    blend::set_num_threads(0);
    CHECK(a.weights == b.weights);
    CHECK(a.trajectory == b.trajectory);
    const auto c = blend::ensemble::select_cmaes(f.block, f.classes, {}, {.seed = 8});
    CHECK(c.weights != a.weights);
    CHECK_THROWS_AS(blend::ensemble::select_cmaes(f.block, f.classes, {}, {.sigma = 0.0}),
                    blend::invalid_argument);
}
