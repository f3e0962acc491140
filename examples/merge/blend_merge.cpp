// blend-merge CONFIG.yml OUT_DIR [--threads N] [--seed S] [--out-shard-size SIZE] [--dry-run] [--force] [--quiet]
// Runs a mergekit YAML config on safetensors checkpoints (CLI.md). Thin: parses arguments, calls
// blend::config (parse → resolve models → plan → write), prints the plan or a progress bar, and maps
// exceptions to CLI.md's exit codes (2 usage/config, 3 inputs, 1 write/internal).
#include <blend/config.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

constexpr std::string_view usage =
    "usage: blend-merge CONFIG.yml OUT_DIR [--threads N] [--seed S] [--out-shard-size SIZE] [--dry-run] [--force] [--quiet]\n"
    "  Runs a mergekit YAML config on safetensors models and writes the merged model to OUT_DIR.\n"
    "  --threads N            worker threads (default: all cores)\n"
    "  --seed S               seed of every random mask (default 0)\n"
    "  --out-shard-size SIZE  bytes per shard, optional K/M/B suffix (10^3/10^6/10^9; default 5B)\n"
    "  --dry-run              print the plan (each tensor: method, inputs, parameters, bytes), write nothing\n"
    "  --force                replace the model files of a non-empty OUT_DIR\n"
    "  --quiet                no progress bar\n";

struct exit_error {
    int code;
    std::string message;
};

struct arguments {
    std::string config;
    std::filesystem::path out_dir;
    std::optional<std::size_t> threads;
    std::uint64_t seed = 0;
    std::uint64_t shard_size = 5'000'000'000;
    bool dry_run = false, force = false, quiet = false;
};

std::uint64_t parse_unsigned(std::string_view option, std::string_view text, bool suffix) {
    std::uint64_t value = 0, scale = 1;
    std::size_t digits = text.size();
    if (suffix && !text.empty()) {
        switch (text.back()) {
            case 'K': case 'k': scale = 1'000; --digits; break;
            case 'M': case 'm': scale = 1'000'000; --digits; break;
            case 'B': case 'b': case 'G': case 'g': scale = 1'000'000'000; --digits; break;
            default: break;
        }
    }
    bool ok = digits > 0;
    for (std::size_t i = 0; ok && i < digits; ++i) {
        ok = text[i] >= '0' && text[i] <= '9' && value <= (UINT64_MAX - 9) / 10;
        if (ok) value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    if (!ok || (value != 0 && value > UINT64_MAX / scale)) throw exit_error{2, fmt::format("{}: invalid value '{}'", option, text)};
    return value * scale;
}

arguments parse_arguments(int argc, char** argv) {
    arguments args;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) throw exit_error{2, fmt::format("{}: missing value", arg)};
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") throw exit_error{0, ""};
        if (arg == "--threads") {
            args.threads = parse_unsigned(arg, value(), false);
            if (*args.threads == 0) throw exit_error{2, "--threads: must be at least 1"};
        } else if (arg == "--seed") {
            args.seed = parse_unsigned(arg, value(), false);
        } else if (arg == "--out-shard-size") {
            args.shard_size = parse_unsigned(arg, value(), true);
            if (args.shard_size == 0) throw exit_error{2, "--out-shard-size: must be positive"};
        } else if (arg == "--dry-run") {
            args.dry_run = true;
        } else if (arg == "--force") {
            args.force = true;
        } else if (arg == "--quiet") {
            args.quiet = true;
        } else if (arg.size() > 1 && arg.front() == '-') {
            throw exit_error{2, fmt::format("unknown option '{}'", arg)};
        } else {
            positional.emplace_back(arg);
        }
    }
    if (positional.size() != 2) throw exit_error{2, fmt::format("expected CONFIG.yml and OUT_DIR, got {} arguments (see --help)", positional.size())};
    args.config = positional[0];
    args.out_dir = positional[1];
    return args;
}

std::string read_text(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw blend::io_error{fmt::format("{}: cannot open the config", path)};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A one-line progress bar on stderr, redrawn at most ~10 times a second.
class progress_bar {
public:
    void operator()(const blend::merge::merge_progress& p) {
        const auto now = std::chrono::steady_clock::now();
        if (p.tensors_done != p.tensors_total && now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        const double fraction = p.bytes_total ? static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total) : 1.0;
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0.0;
        constexpr int width = 30;
        const int filled = static_cast<int>(fraction * width);
        fmt::print(stderr, "\r[{:=<{}}{:<{}}] {}/{} tensors  {:.1f}/{:.1f} MB  ETA {:.0f}s ", "", filled, "", width - filled,
                   p.tensors_done, p.tensors_total, static_cast<double>(p.bytes_done) / 1e6, static_cast<double>(p.bytes_total) / 1e6, eta);
        if (p.tensors_done == p.tensors_total) fmt::print(stderr, "\n");
    }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_{};
};

void print_plan(const blend::config::planned_merge& planned) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < planned.plan.tasks.size(); ++i) {
        const auto& task = planned.plan.tasks[i];
        const auto& info = planned.tensors[i];
        const std::uint64_t bytes = blend::io::tensor_spec{task.name, task.type, task.shape}.byte_size();
        total += bytes;
        std::string params;
        for (const auto& [name, value] : info.parameters) params += fmt::format("{}{}={}", params.empty() ? "" : " ", name, value);
        fmt::print("{} {} [{}] {} bytes: {}({}) {}\n", task.name, blend::safetensors_name(task.type), fmt::join(task.shape, ", "), bytes,
                   info.method, fmt::join(info.inputs, ", "), params);
    }
    fmt::print("{} tensors, {} bytes, {} layers\n", planned.plan.tasks.size(), total, planned.layer_count);
}

int run(const arguments& args) {
    const blend::config::merge_config config = blend::config::parse_merge_config(read_text(args.config), args.config);
    const auto in_config = [&](const blend::config_error& e) {  // name the config file in planning errors
        return blend::config_error{fmt::format("{}: {}", args.config, e.what())};
    };
    try {
        (void)blend::config::find_method(config.merge_method);  // an unknown method fails before any model is opened
    } catch (const blend::config_error& e) {
        throw in_config(e);
    }
    std::error_code ec;
    if (!args.dry_run && !args.force && std::filesystem::exists(args.out_dir, ec)) {
        if (!std::filesystem::is_directory(args.out_dir, ec)) throw exit_error{2, fmt::format("{}: not a directory", args.out_dir.string())};
        if (!std::filesystem::is_empty(args.out_dir, ec)) {
            throw exit_error{2, fmt::format("{}: output directory is not empty (use --force to replace its model)", args.out_dir.string())};
        }
    }
    std::vector<std::unique_ptr<blend::io::model_reader>> readers;
    std::vector<const blend::io::model_reader*> models;
    for (const std::string& ref : blend::config::referenced_models(config)) {
        readers.push_back(std::make_unique<blend::io::model_reader>(blend::config::resolve_model_reference(ref)));
        models.push_back(readers.back().get());
    }
    const auto planned = [&] {
        try {
            return blend::config::plan_from_config(config, models, {.seed = args.seed});
        } catch (const blend::config_error& e) {
            throw in_config(e);
        }
    }();
    if (args.dry_run) {
        print_plan(planned);
        return 0;
    }
    if (args.threads) blend::set_num_threads(*args.threads);
    blend::config::output_options options{.writer = {.shard_size = args.shard_size},
                                          .layer_count = planned.sliced ? std::optional{planned.layer_count} : std::nullopt,
                                          .replace_existing = args.force};
    if (!args.quiet && ::isatty(STDERR_FILENO)) options.engine.on_progress = progress_bar{};
    const auto& reference = *models[planned.reference_model];
    try {
        (void)blend::config::write_merged_model(models, planned.plan, reference.directory(), args.out_dir, options);
    } catch (const blend::io_error& e) {
        throw exit_error{1, e.what()};  // inputs were checked while planning: an I/O error now is a write failure
    }
    return 0;
}

std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    int code = 0;
    std::string message;
    try {
        return run(parse_arguments(argc, argv));
    } catch (const exit_error& e) {
        if (e.code == 0) {
            fmt::print("{}", usage);
            return 0;
        }
        code = e.code;
        message = e.message;
    } catch (const blend::config_error& e) {
        code = 2, message = e.what();
    } catch (const blend::invalid_argument& e) {
        code = 2, message = e.what();
    } catch (const blend::io_error& e) {
        code = 3, message = e.what();
    } catch (const blend::shape_error& e) {
        code = 3, message = e.what();
    } catch (const std::exception& e) {
        code = 1, message = e.what();
    } catch (...) {
        code = 1, message = "unknown internal error";
    }
    fmt::print(stderr, "blend-merge: error: {}\n", one_line(message));
    return code;
}
