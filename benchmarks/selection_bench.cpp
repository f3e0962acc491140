// Greedy ensemble selection benchmark (benchmarks/selection.sh): AutoGluon semantics, log loss.
//   blend-bench-selection PREDS.npy LABELS.npy [--steps S] [--repeat R] [--threads T]
// PREDS is (M, N, C) float32/float64, LABELS (N,) integers. File loading is excluded from the timing;
// the gather of true-class probabilities is included (it is part of every selection). Prints one JSON
// object: {"seconds_per_step": best of R, whole selection / steps, "marginal_seconds_per_step": the same
// without the one-time gather, "steps": S, "weights": [...], "order": [...]}.
#include <blend/ensemble/selection.hpp>
#include <blend/io/npy.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        fmt::print(
            stderr,
            "usage: blend-bench-selection PREDS.npy LABELS.npy [--steps S] [--repeat R] [--threads T]\n");
        return 2;
    }
    std::size_t steps = 25, repeat = 3;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--steps") steps = std::stoul(argv[i + 1]);
        if (std::string(argv[i]) == "--repeat") repeat = std::stoul(argv[i + 1]);
        if (std::string(argv[i]) == "--threads") blend::set_num_threads(std::stoul(argv[i + 1]));
    }
    const auto preds = blend::io::read_npy(argv[1]);
    const auto labels_npy = blend::io::read_npy(argv[2]);
    if (preds.shape.size() != 3 || (preds.type != blend::dtype::f32 && preds.type != blend::dtype::f64)) {
        fmt::print(stderr, "blend-bench-selection: {} must be (M, N, C) float32/float64\n", argv[1]);
        return 3;
    }
    const std::size_t m = preds.shape[0], n = preds.shape[1], c = preds.shape[2];
    const std::size_t element = preds.type == blend::dtype::f32 ? 4 : 8;
    blend::ensemble::member_block block{.rows = n, .columns = c, .vector_input = false, .members = {}};
    for (std::size_t k = 0; k < m; ++k)
        block.members.push_back({preds.type, preds.data.data() + k * n * c * element});
    std::vector<std::int64_t> labels(n);
    for (std::size_t r = 0; r < n; ++r) {
        if (labels_npy.type == blend::dtype::i64)
            std::memcpy(&labels[r], labels_npy.data.data() + r * 8, 8);
        else if (labels_npy.type == blend::dtype::i32) {
            std::int32_t v;
            std::memcpy(&v, labels_npy.data.data() + r * 4, 4);
            labels[r] = v;
        } else {
            fmt::print(stderr, "blend-bench-selection: labels must be int32/int64\n");
            return 3;
        }
    }
    // Best of R: the whole selection (one-time gather included) per step, and the marginal cost of a step,
    // (T(steps) - T(1)) / (steps - 1), which leaves the gather out.
    double best = 1e300, best_one = 1e300;
    blend::ensemble::selection_result result;
    for (std::size_t rep = 0; rep < repeat; ++rep) {
        auto start = std::chrono::steady_clock::now();
        result = blend::ensemble::select_greedy(block, labels, {}, {.size = steps});
        best =
            std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        start = std::chrono::steady_clock::now();
        const auto one = blend::ensemble::select_greedy(block, labels, {}, {.size = 1});
        best_one = std::min(best_one,
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    const double taken = static_cast<double>(result.order.size());
    fmt::print(
        "{{\"seconds_per_step\": {:.9g}, \"marginal_seconds_per_step\": {:.9g}, \"steps\": {}, \"threads\": {}, "
        "\"weights\": [{:.17g}], \"order\": [{}]}}\n",
        best / taken, taken > 1 ? (best - best_one) / (taken - 1) : best, result.order.size(),
        blend::num_threads(), fmt::join(result.weights, ", "), fmt::join(result.order, ", "));
    return 0;
}
