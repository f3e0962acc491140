#pragma once
/// @file examples/ensemble/cli.hpp
/// What the `blend-ensemble` subcommands share: option parsing, the exception → exit-code mapping of
/// CLI.md, `.npy`/JSON output (atomic files; JSON numbers as %.17g), and the weights argument.
///
/// Exit codes: 0 success; 2 `usage_error`, `blend::invalid_argument`, `blend::config_error`; 3
/// `blend::io_error`, `blend::shape_error` (inputs: missing, malformed, mismatched); 1 `write_error`
/// (an output could not be written) and anything else.
#include <blend/core/error.hpp>
#include <blend/io/npy.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace blend::cli {

/// Bad command line: unknown option, missing or invalid value (exit 2).
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// An output could not be written (exit 1).
struct write_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Thrown by option parsing for `--help`: print `usage` and exit 0.
struct help_requested {};

/// Parsed options: `--name value...` (values run until the next `--option`) or `--name=value`.
class options {
public:
    /// Parses `args` against `known` option names (without `--`), flags (options without a value)
    /// listed in `flags`. Throws `usage_error` for unknown options, positional arguments and
    /// repeated options; `help_requested` for `--help`/`-h`.
    options(std::span<const std::string_view> args, std::span<const std::string_view> known,
            std::span<const std::string_view> flags = {}) {
        const auto listed = [](std::span<const std::string_view> names, std::string_view n) {
            for (auto k : names)
                if (k == n) return true;
            return false;
        };
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string_view arg = args[i];
            if (arg == "--help" || arg == "-h") throw help_requested{};
            if (!arg.starts_with("--") || arg.size() == 2)
                throw usage_error{fmt::format("unexpected argument '{}' (see --help)", arg)};
            std::string_view name = arg.substr(2);
            std::optional<std::string_view> inline_value;
            if (const auto eq = name.find('='); eq != std::string_view::npos) {
                inline_value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            if (values_.contains(std::string(name))) throw usage_error{fmt::format("option --{} given twice", name)};
            if (listed(flags, name)) {
                if (inline_value) throw usage_error{fmt::format("option --{} takes no value", name)};
                values_[std::string(name)] = {};
                continue;
            }
            if (!listed(known, name)) throw usage_error{fmt::format("unknown option '--{}'", name)};
            auto& values = values_[std::string(name)];
            if (inline_value) {
                values.emplace_back(*inline_value);
            } else {
                while (i + 1 < args.size() && !(args[i + 1].starts_with("--") && args[i + 1].size() > 2)) values.emplace_back(args[++i]);
            }
            if (values.empty()) throw usage_error{fmt::format("option --{} needs a value", name)};
        }
    }

    [[nodiscard]] bool has(std::string_view name) const { return values_.contains(std::string(name)); }

    /// All values of a required option; `usage_error` when absent.
    [[nodiscard]] const std::vector<std::string>& all(std::string_view name) const {
        const auto it = values_.find(std::string(name));
        if (it == values_.end()) throw usage_error{fmt::format("missing required option --{}", name)};
        return it->second;
    }

    /// The single value of a required option.
    [[nodiscard]] const std::string& one(std::string_view name) const {
        const auto& v = all(name);
        if (v.size() != 1) throw usage_error{fmt::format("option --{} takes one value, got {}", name, v.size())};
        return v[0];
    }

    /// The single value of an optional option, or `fallback`.
    [[nodiscard]] std::string one_or(std::string_view name, std::string fallback) const {
        return has(name) ? one(name) : std::move(fallback);
    }

private:
    std::map<std::string, std::vector<std::string>> values_;
};

/// Paths of a multi-valued option.
[[nodiscard]] inline std::vector<std::filesystem::path> paths(const std::vector<std::string>& values) {
    return {values.begin(), values.end()};
}

/// Runs a subcommand body, printing `usage` for --help and mapping exceptions to CLI.md's exit codes
/// with one line `blend-ensemble: error: <message>` on stderr.
template <class Body>
int guarded(std::string_view usage, Body&& body) {
    const auto fail = [](int code, std::string_view what) {
        std::fprintf(stderr, "blend-ensemble: error: %.*s\n", static_cast<int>(what.size()), what.data());
        return code;
    };
    try {
        return body();
    } catch (const help_requested&) {
        std::fwrite(usage.data(), 1, usage.size(), stdout);
        return 0;
    } catch (const usage_error& e) {
        return fail(2, e.what());
    } catch (const blend::invalid_argument& e) {
        return fail(2, e.what());
    } catch (const blend::config_error& e) {
        return fail(2, e.what());
    } catch (const blend::io_error& e) {
        return fail(3, e.what());
    } catch (const blend::shape_error& e) {
        return fail(3, e.what());
    } catch (const write_error& e) {
        return fail(1, e.what());
    } catch (const std::exception& e) {
        return fail(1, e.what());
    } catch (...) {
        return fail(1, "unknown internal error");
    }
}

/// Writes a tensor as `.npy` atomically; any failure is a `write_error` (exit 1).
template <class T>
void write_output(const std::filesystem::path& path, const T& tensor) {
    try {
        blend::io::write_npy(path, tensor);
    } catch (const std::exception& e) {
        throw write_error{e.what()};
    }
}

/// A flat JSON object written in insertion order, numbers as %.17g (round-trip), integers as such.
class json_object {
public:
    void add(std::string_view key, double value) { fields_.emplace_back(std::string(key), number(value)); }
    void add_integer(std::string_view key, long long value) { fields_.emplace_back(std::string(key), std::to_string(value)); }
    void add(std::string_view key, std::span<const double> values) {
        std::string text = "[";
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i) text += ", ";
            text += number(values[i]);
        }
        fields_.emplace_back(std::string(key), text + "]");
    }
    void add(std::string_view key, std::span<const std::int64_t> values) {
        std::string text = "[";
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i) text += ", ";
            text += std::to_string(values[i]);
        }
        fields_.emplace_back(std::string(key), text + "]");
    }
    [[nodiscard]] std::string str() const {
        std::string out = "{";
        for (std::size_t i = 0; i < fields_.size(); ++i)
            out += fmt::format("{}\"{}\": {}", i ? ", " : "", fields_[i].first, fields_[i].second);
        return out + "}\n";
    }

private:
    static std::string number(double v) {
        if (!std::isfinite(v)) return "null";  // JSON has no NaN/Inf
        return fmt::format("{:.17g}", v);
    }
    std::vector<std::pair<std::string, std::string>> fields_;
};

/// Writes `text` to `path` atomically (e.g. select's W.json); any failure is a `write_error` (exit 1).
inline void write_text(const std::filesystem::path& path, const std::string& text) {
    try {
        blend::io::write_file_atomically(path, std::as_bytes(std::span(text)));
    } catch (const std::exception& e) {
        throw write_error{e.what()};
    }
}

/// Prints to stdout; a failed write (closed pipe, full disk) is a `write_error`.
inline void print(const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
        throw write_error{"cannot write to standard output"};
}

/// The `--weights` argument: a JSON file (a bare array, or an object with a "weights" array as
/// `select` writes) when `value` names an existing file or ends in `.json`, else a comma-separated
/// list of numbers. A missing or malformed file is `io_error` (exit 3), a bad list `usage_error`.
[[nodiscard]] inline std::vector<double> parse_weights(const std::string& value) {
    std::vector<double> weights;
    if (std::filesystem::is_regular_file(value) || value.ends_with(".json")) {
        std::ifstream in(value);
        if (!in) throw blend::io_error{fmt::format("{}: cannot open weights file", value)};
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(in);
        } catch (const std::exception& e) {
            throw blend::io_error{fmt::format("{}: malformed JSON: {}", value, e.what())};
        }
        const nlohmann::json& array = j.is_object() && j.contains("weights") ? j["weights"] : j;
        if (!array.is_array()) throw blend::io_error{fmt::format("{}: expected a JSON array of weights or {{\"weights\": [...]}}", value)};
        for (const auto& w : array) {
            if (!w.is_number()) throw blend::io_error{fmt::format("{}: weight is not a number: {}", value, w.dump())};
            weights.push_back(w.get<double>());
        }
        return weights;
    }
    std::string_view rest = value;
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        double w = 0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), w);
        if (ec != std::errc{} || end != item.data() + item.size() || item.empty())
            throw usage_error{fmt::format("--weights: not a number: '{}'", item)};
        weights.push_back(w);
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
    }
    return weights;
}

}  // namespace blend::cli
