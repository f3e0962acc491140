// blend-bench-merge OUT_DIR MODEL... [--threads N] [--budget BYTES]
// A uniform linear merge (model soup) of safetensors models through the streaming engine: the program
// benchmarks/merge_io.sh times against the I/O floor and measures peak RSS. Prints the elapsed time.
#include <blend/blend.hpp>
#include <blend/io/safetensors_reader.hpp>
#include <blend/merge/engine.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    std::vector<std::string> positional;
    std::uint64_t budget = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--threads" && i + 1 < argc) {
            blend::set_num_threads(std::stoul(argv[++i]));
        } else if (arg == "--budget" && i + 1 < argc) {
            budget = std::stoull(argv[++i]);
        } else {
            positional.emplace_back(arg);
        }
    }
    if (positional.size() < 2) {
        fmt::print(stderr, "usage: blend-bench-merge OUT_DIR MODEL... [--threads N] [--budget BYTES]\n");
        return 2;
    }
    try {
        const auto start = std::chrono::steady_clock::now();
        std::vector<blend::io::model_reader> readers;
        readers.reserve(positional.size() - 1);
        for (std::size_t i = 1; i < positional.size(); ++i) readers.emplace_back(positional[i]);
        std::vector<const blend::io::model_reader*> models;
        for (const auto& reader : readers) models.push_back(&reader);
        const auto plan = blend::merge::plan_per_tensor(models, [](auto inputs, const auto& out) {
            blend::merge::linear_into(inputs, out);
        });
        blend::merge::merge_to_directory(models, plan, positional[0], {}, {.memory_budget = budget});
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        fmt::print("blend linear merge of {} models: {:.3f} s ({} threads)\n", models.size(), seconds, blend::num_threads());
    } catch (const std::exception& e) {
        fmt::print(stderr, "blend-bench-merge: error: {}\n", e.what());
        return 1;
    }
    return 0;
}
