// blend-bench-merge OUT_DIR MODEL... [--method linear|ties] [--density D] [--threads N] [--budget BYTES]
// A merge of safetensors models through the streaming engine, timed by benchmarks/merge_io.sh (against
// the I/O floor, with peak RSS) and benchmarks/peers/mergekit_bench.sh (against mergekit-yaml):
//   linear (default): uniform soup of all MODELs;
//   ties: the first MODEL is the base, the others are merged with weight 1, density D (0.5), normalize.
// Prints the elapsed time.
#include <blend/blend.hpp>
#include <blend/merge/task_arithmetic.hpp>

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    std::vector<std::string> positional;
    std::uint64_t budget = 0;
    std::string method = "linear";
    double density = 0.5;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--threads" && i + 1 < argc) {
            blend::set_num_threads(std::stoul(argv[++i]));
        } else if (arg == "--budget" && i + 1 < argc) {
            budget = std::stoull(argv[++i]);
        } else if (arg == "--method" && i + 1 < argc) {
            method = argv[++i];
        } else if (arg == "--density" && i + 1 < argc) {
            density = std::stod(argv[++i]);
        } else {
            positional.emplace_back(arg);
        }
    }
    if (positional.size() < 3 || (method != "linear" && method != "ties")) {
        fmt::print(stderr, "usage: blend-bench-merge OUT_DIR MODEL... [--method linear|ties] [--density D] "
                           "[--threads N] [--budget BYTES]\n");
        return 2;
    }
    try {
        const auto start = std::chrono::steady_clock::now();
        std::vector<blend::io::model_reader> readers;
        readers.reserve(positional.size() - 1);
        for (std::size_t i = 1; i < positional.size(); ++i) readers.emplace_back(positional[i]);
        std::vector<const blend::io::model_reader*> models;
        for (const auto& reader : readers) models.push_back(&reader);
        const std::array densities{density};
        auto plan = blend::merge::plan_per_tensor(models, nullptr);
        for (auto& task : plan.tasks) {
            if (method == "linear") {
                task.produce = [](std::span<const blend::any_tensor_view> inputs, const blend::any_mutable_tensor_view& out) {
                    blend::merge::linear_into(inputs, out);
                };
            } else {  // the random-free TIES still takes the tensor name, as every task-vector method does
                task.produce = [name = task.name, &densities](std::span<const blend::any_tensor_view> inputs,
                                                              const blend::any_mutable_tensor_view& out) {
                    blend::merge::task_arithmetic_into(inputs.front(), inputs.subspan(1), out,
                                                       {.method = blend::merge::task_method::ties,
                                                        .densities = densities,
                                                        .tensor_name = name});
                };
            }
        }
        blend::merge::merge_to_directory(models, plan, positional[0], {}, {.memory_budget = budget});
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        fmt::print("blend {} merge of {} models: {:.3f} s ({} threads)\n", method, models.size(), seconds,
                   blend::num_threads());
    } catch (const std::exception& e) {
        fmt::print(stderr, "blend-bench-merge: error: {}\n", e.what());
        return 1;
    }
    return 0;
}
