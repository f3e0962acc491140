// blend-bench-crps OBS.npy MEMBERS.npy [REPEAT]: mean CRPS of ensemble forecasts (metrics/crps.hpp) of
// N observations (N,) against members (N, M), float64, timed including loading the files, best of
// REPEAT runs (default 5). Prints {"seconds": ..., "mean": ...}; benchmarks/ensemble_vs_peers.sh compares
// it with scoringrules and properscoring on the same files.
#include <blend/core/tensor_view.hpp>
#include <blend/io/npy.hpp>
#include <blend/metrics/crps.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <limits>
#include <span>

int main(int argc, char** argv) try {
    if (argc < 3) {
        fmt::print(stderr, "usage: blend-bench-crps OBS.npy MEMBERS.npy [REPEAT]\n");
        return 2;
    }
    const int repeat = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
    double best = std::numeric_limits<double>::infinity();
    double mean = 0.0;
    for (int r = 0; r < repeat; ++r) {
        const auto start = std::chrono::steady_clock::now();
        const auto obs = blend::io::read_npy(argv[1]);
        const auto members = blend::io::read_npy(argv[2]);
        if (obs.type != blend::dtype::f64 || members.type != blend::dtype::f64) {
            fmt::print(stderr, "blend-bench-crps: float64 inputs expected\n");
            return 2;
        }
        const std::span<const double> o(reinterpret_cast<const double*>(obs.data.data()), blend::shape_size(obs.shape));
        const std::span<const double> x(reinterpret_cast<const double*>(members.data.data()), blend::shape_size(members.shape));
        const auto result = blend::metrics::crps_ensemble_rows(blend::tensor_view<const double>(o, obs.shape),
                                                               blend::tensor_view<const double>(x, members.shape));
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, seconds);
        mean = result.mean;
    }
    fmt::print("{{\"seconds\": {:.6g}, \"mean\": {:.17g}}}\n", best, mean);
    return 0;
} catch (const std::exception& e) {
    fmt::print(stderr, "blend-bench-crps: error: {}\n", e.what());
    return 1;
}
