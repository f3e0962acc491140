#pragma once
/// @file examples/demo/members.hpp
/// The demo's experiment set-up: the data splits, the members to train (a model-soup family from one
/// shared initialisation plus a few diverse models), training them with progress on stderr, and their
/// predictions on the validation and test splits.

#include "dataset.hpp"
#include "network.hpp"

#include <blend/core/random.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace demo {

/// Sizes and seeds of one run (`--quick` shrinks every size).
struct experiment_config {
    std::filesystem::path data_dir = "/usr/share/datasets/fashion-mnist";
    std::uint64_t seed = 0;
    std::size_t train_rows = 20000;  ///< drawn from the 60000 training images
    std::size_t val_rows = 5000;     ///< disjoint from them: every choice (soups, λ, selection, T, stacking)
    std::size_t test_rows = 10000;   ///< from t10k, only ever scored
    std::size_t ingredients = 6;     ///< MLPs from the shared initialisation
    std::size_t hidden = 128;
    std::size_t epochs = 5;
};

/// The three splits. Training and validation rows come from one seeded permutation of the training
/// file; the test rows are the first `test_rows` of t10k.
struct splits {
    dataset train, val, test;
};

/// Loads Fashion-MNIST from `config.data_dir` and cuts the splits (see `splits`). Throws
/// `blend::io_error` for missing or corrupt files, `blend::invalid_argument` for sizes beyond the data.
[[nodiscard]] inline splits load_splits(const experiment_config& config) {
    const dataset all = load_fashion_mnist(config.data_dir, "train");
    const dataset t10k = load_fashion_mnist(config.data_dir, "t10k");
    if (config.train_rows + config.val_rows > all.rows() || config.test_rows > t10k.rows()) {
        throw blend::invalid_argument{fmt::format("demo: {} + {} training/validation rows of {}, {} test rows of {}", config.train_rows,
                                                  config.val_rows, all.rows(), config.test_rows, t10k.rows())};
    }
    const auto order = permutation(all.rows(), config.seed, blend::stream_key("split", 0));
    const std::span<const std::size_t> rows(order);
    std::vector<std::size_t> first(config.test_rows);
    for (std::size_t i = 0; i < first.size(); ++i) first[i] = i;
    return {take_rows(all, rows.first(config.train_rows)), take_rows(all, rows.subspan(config.train_rows, config.val_rows)),
            take_rows(t10k, first)};
}

/// One member to train.
struct member_spec {
    std::string name;
    std::string description;
    std::vector<std::size_t> sizes;  ///< layer widths, input first
    std::uint64_t init_seed = 0;
    train_options train;
    bool ingredient = false;  ///< shares the soup's initialisation (so its weights may be merged)
};

/// The soup ingredients mlp-0 .. mlp-(K-1): one shared initialisation (seed `config.seed`), learning
/// rates cycling through 0.02, 0.03, 0.05 and a data order of their own; then two diverse members that
/// only the prediction ensembles can use: an MLP from another initialisation and softmax regression.
[[nodiscard]] inline std::vector<member_spec> member_specs(const experiment_config& config) {
    const std::vector<std::size_t> mlp{pixels, config.hidden, classes};
    const double rates[] = {0.02, 0.03, 0.05};
    std::vector<member_spec> out;
    for (std::size_t i = 0; i < config.ingredients; ++i) {
        const double lr = rates[i % 3];
        out.push_back({fmt::format("mlp-{}", i), fmt::format("784-{}-10 MLP, shared init, lr {}, data order {}", config.hidden, lr, i), mlp,
                       config.seed, {.epochs = config.epochs, .learning_rate = lr, .order_seed = blend::stream_key("order", config.seed + i)},
                       true});
    }
    out.push_back({"mlp-other-init", fmt::format("784-{}-10 MLP, its own init, lr 0.03", config.hidden), mlp,
                   blend::stream_key("other-init", config.seed),
                   {.epochs = config.epochs, .learning_rate = 0.03, .order_seed = blend::stream_key("order-other", config.seed)}, false});
    out.push_back({"softmax-regression", "784-10 softmax regression, lr 0.05", {pixels, classes}, config.seed,
                   {.epochs = config.epochs, .learning_rate = 0.05, .order_seed = blend::stream_key("order-linear", config.seed)}, false});
    return out;
}

/// A trained member and its predicted probabilities (float64) on the validation and test rows.
struct member {
    member_spec spec;
    network net;
    xt::xtensor<double, 2> val, test;
    double seconds = 0.0;
};

/// Seconds since `start`.
[[nodiscard]] inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Trains every spec in order, printing one progress line per epoch on stderr.
[[nodiscard]] inline std::vector<member> train_members(const std::vector<member_spec>& specs, const splits& data,
                                                       std::chrono::steady_clock::time_point start) {
    std::vector<member> out;
    for (std::size_t m = 0; m < specs.size(); ++m) {
        const auto& spec = specs[m];
        const auto began = std::chrono::steady_clock::now();
        network net = make_network(spec.sizes, spec.init_seed);
        train(net, data.train, spec.train, [&](std::size_t epoch, double loss) {
            fmt::print(stderr, "[{:6.1f}s] train {}/{} {:<18} epoch {}/{}  loss {:.4f}\n", seconds_since(start), m + 1, specs.size(),
                       spec.name, epoch + 1, spec.train.epochs, loss);
        });
        auto val = probabilities(net, data.val.x);
        auto test = probabilities(net, data.test.x);
        out.push_back({spec, std::move(net), std::move(val), std::move(test), seconds_since(began)});
    }
    return out;
}

}  // namespace demo
