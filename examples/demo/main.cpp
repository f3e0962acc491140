// blend-demo: what blend does on real data, in one command (README command 1, scripts/demo.sh).
//
// Trains a model-soup family of MLPs and a few diverse members on Fashion-MNIST, saves them as
// safetensors, then compares on a held-out test split every member, the weight merges (uniform and
// greedy soup, task arithmetic, TIES) and the prediction ensembles (soft vote, greedy ensemble
// selection, stacking, temperature scaling): a table on stdout, OUT/results.json, OUT/*.svg figures
// and OUT/models/*.safetensors. Progress goes to stderr. See docs/demo.md.
#include "dataset.hpp"
#include "ensembles.hpp"
#include "figures.hpp"
#include "members.hpp"
#include "methods.hpp"
#include "network.hpp"
#include "report.hpp"

#include <blend/core/error.hpp>
#include <blend/io/safetensors_writer.hpp>

#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view usage = R"(usage: blend-demo [--out DIR] [--quick] [--seed N] [--data DIR]

Trains small models on Fashion-MNIST and compares blend's weight merges and prediction ensembles.
  --out DIR    where results.json, the SVG figures and models/ go (default ./blend-demo-out)
  --quick      a small, fast run (what the tests run): fewer rows, members and epochs
  --seed N     seed of the splits, initialisations and data orders (default 0)
  --data DIR   the Fashion-MNIST IDX .gz files (default /usr/share/datasets/fashion-mnist,
               Debian package dataset-fashion-mnist)
)";

struct arguments {
    demo::experiment_config config;
    std::filesystem::path out = "blend-demo-out";
    bool quick = false;
};

/// Parses the command line; throws `blend::invalid_argument` for anything it does not know.
arguments parse_arguments(int argc, char** argv) {
    arguments args;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw blend::invalid_argument{fmt::format("{} needs a value", arg)};
            return argv[++i];
        };
        if (arg == "--out") {
            args.out = value();
        } else if (arg == "--data") {
            args.config.data_dir = value();
        } else if (arg == "--quick") {
            args.quick = true;
        } else if (arg == "--seed") {
            const std::string text = value();
            char* end = nullptr;
            args.config.seed = std::strtoull(text.c_str(), &end, 10);
            if (text.empty() || *end != '\0' || text[0] == '-') throw blend::invalid_argument{fmt::format("--seed: not a number: '{}'", text)};
        } else {
            throw blend::invalid_argument{fmt::format("unknown argument '{}'", arg)};
        }
    }
    if (args.quick) {
        args.config.train_rows = 4000;
        args.config.val_rows = 1000;
        args.config.test_rows = 2000;
        args.config.ingredients = 3;
        args.config.epochs = 2;
    }
    return args;
}

/// File name of a row: lower case, spaces and '+' as '-'.
std::string file_name(std::string_view name) {
    std::string out;
    for (const char c : name) {
        if (c == ' ' || c == '+') {
            if (!out.empty() && out.back() != '-') out += '-';
        } else {
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
    return out;
}

int run(const arguments& args) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    demo::use_one_blas_thread();  // the same numbers on every machine (network.hpp)
    demo::run_record record{args.config, args.quick, {}, {}, {}, {}};
    const auto phase = [&](const char* what) { fmt::print(stderr, "[{:6.1f}s] {}\n", demo::seconds_since(start), what); };

    phase(args.quick ? "loading Fashion-MNIST (--quick)" : "loading Fashion-MNIST");
    auto t = clock::now();
    const demo::splits data = demo::load_splits(args.config);
    record.seconds["load"] = demo::seconds_since(t);

    t = clock::now();
    const auto specs = demo::member_specs(args.config);
    const auto members = demo::train_members(specs, data, start);
    record.seconds["train"] = demo::seconds_since(t);

    std::filesystem::create_directories(args.out / "models");
    const auto save = [&](const std::string& name, const demo::state_dict& model, const std::string& description) {
        const std::string file = "models/" + file_name(name) + ".safetensors";
        blend::io::write_safetensors(args.out / file, model, {{"format", "pt"}, {"blend-demo", description}});
        record.models.push_back(file);
    };
    const demo::state_dict base = demo::to_state_dict(demo::make_network(specs.front().sizes, specs.front().init_seed));
    save("shared-init", base, "the soup ingredients' shared initialisation (base of task arithmetic and TIES)");
    std::vector<demo::result_row> rows;
    for (const auto& m : members) {
        save(m.spec.name, demo::to_state_dict(m.net), m.spec.description);
        rows.push_back({m.spec.name, "member", m.spec.description, demo::score(m.test, data.test.y), m.test, m.spec.ingredient});
    }

    phase("merging weights: uniform soup, greedy soup, task arithmetic, TIES");
    t = clock::now();
    auto merges = demo::run_merges(members, base, data);
    record.seconds["merge"] = demo::seconds_since(t);
    for (std::size_t i = 0; i < merges.rows.size(); ++i) {
        save(merges.models[i].first, merges.models[i].second, merges.rows[i].detail);
        rows.push_back(std::move(merges.rows[i]));
    }

    phase("ensembling predictions: soft vote, greedy selection, stacking, temperature scaling");
    t = clock::now();
    for (auto& r : demo::run_ensembles(members, data)) rows.push_back(std::move(r));
    record.seconds["ensemble"] = demo::seconds_since(t);

    phase("writing figures and results.json");
    const auto* best = demo::best_row(rows, demo::of_kind("ensemble"), demo::rank_by::nll);
    const auto* vote = demo::find_row(rows, "soft vote");
    record.reliability_of = best->name;
    demo::plot_accuracy_vs_nll(rows, args.out / "accuracy_vs_nll.svg");
    demo::plot_reliability(*best, best == vote ? nullptr : vote, data.test.y, args.out / "reliability.svg");
    record.figures = {"accuracy_vs_nll.svg", "reliability.svg"};
    record.seconds["total"] = demo::seconds_since(start);
    demo::write_results(args.out / "results.json", rows, data, record);

    demo::print_table(rows, data);
    fmt::print("\nWrote {} (table above), {} and {} in {}; {} models in {}. Total {:.1f} s.\n", "results.json", record.figures[0],
               record.figures[1], args.out.string(), record.models.size(), (args.out / "models").string(), record.seconds["total"]);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    arguments args;
    try {
        for (int i = 1; i < argc; ++i) {
            if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
                fmt::print("{}", usage);
                return 0;
            }
        }
        args = parse_arguments(argc, argv);
    } catch (const blend::error& e) {
        fmt::print(stderr, "blend-demo: {}\n{}", e.what(), usage);
        return 2;
    }
    try {
        return run(args);
    } catch (const std::exception& e) {
        fmt::print(stderr, "blend-demo: error: {}\n", e.what());
        return 1;
    }
}
