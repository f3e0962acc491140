#pragma once
/// @file blend/config/yaml.hpp
/// mergekit YAML → `merge_config` (blend/config/merge_config.hpp), parsed with yaml-cpp.
///
/// Schema (CLI.md; mergekit's `MergeConfiguration`): top level `merge_method` (required), `models` |
/// `slices` (exactly one), `base_model`, `parameters`, `dtype`, `out_dtype`; a model entry `model`,
/// `parameters`; a slice `sources`, `base_model`, `parameters`; a source `model`, `layer_range`
/// ([start, end), start < end), `parameters`. A parameter value is a scalar, a list of scalars (a
/// gradient), a `{filter, value}` map or a list of them. Parameter names are mergekit's (CLI.md's list,
/// plus multislerp's `normalize_weights` and `eps`).
///
/// Every problem is a `config_error` whose one-line message starts with the source name and names the
/// key path (`slices[1].sources[0].layer_range`) and the offending value: YAML syntax errors (with
/// line and column), unknown keys, unknown parameter names, wrong types, a `dtype` outside
/// float32/float16/bfloat16/float64, and the features not supported yet (`tokenizer`,
/// `tokenizer_source`, `chat_template`, `modules`, LoRA references `model+lora`: "not supported yet").
/// The method name is checked by the planner (blend/config/plan.hpp), not here.
/// Scalars: quoted YAML scalars are strings; plain ones are booleans (true/false/yes/no/on/off in any
/// of YAML's cases, as PyYAML), numbers (anything yaml-cpp reads as a double: 1, 0.5, 1e-5, .inf) or
/// else strings; `null`/`~` is an absent value (lookup falls through).

#include <blend/config/merge_config.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace blend::config {

/// Parameter names blend accepts (mergekit's; CLI.md).
inline constexpr std::array<std::string_view, 21> known_parameters{
    "weight",           "density",   "gamma",       "epsilon",  "lambda",     "normalize", "rescale",
    "int8_mask",        "t",         "nuslerp_flatten", "nuslerp_row_wise", "filter_wise", "select_topk",
    "max_iter",         "tol",       "scale",       "r",        "alpha",      "consensus", "normalize_weights",
    "eps"};

namespace detail {

struct yaml_reader {
    std::string source;  // names the file in messages

    [[noreturn]] void fail(const std::string& path, const std::string& what) const {
        throw config_error{fmt::format("{}: {}: {}", source, path.empty() ? std::string{"(top level)"} : path, what)};
    }

    static std::string show(const YAML::Node& node) {
        if (node.IsScalar()) return fmt::format("'{}'", node.Scalar());
        if (node.IsSequence()) return "a list";
        if (node.IsMap()) return "a mapping";
        return "null";
    }

    static std::string join(const std::string& path, std::string_view key) {
        return path.empty() ? std::string{key} : fmt::format("{}.{}", path, key);
    }

    void check_keys(const YAML::Node& map, const std::string& path, std::initializer_list<std::string_view> allowed,
                    std::initializer_list<std::string_view> unsupported = {}) const {
        if (!map.IsMap()) fail(path, fmt::format("expected a mapping, got {}", show(map)));
        for (const auto& kv : map) {
            if (!kv.first.IsScalar()) fail(path, "a key is not a string");
            const std::string key = kv.first.Scalar();
            if (std::find(unsupported.begin(), unsupported.end(), key) != unsupported.end()) {
                fail(join(path, key), "not supported yet");
            }
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) fail(join(path, key), "unknown key");
        }
    }

    [[nodiscard]] std::string string_of(const YAML::Node& node, const std::string& path) const {
        if (!node.IsScalar()) fail(path, fmt::format("expected a string, got {}", show(node)));
        return node.Scalar();
    }

    [[nodiscard]] std::string model_of(const YAML::Node& node, const std::string& path) const {
        if (node.IsMap()) fail(path, "model references with LoRA or overrides are not supported yet");
        std::string ref = string_of(node, path);
        if (ref.empty()) fail(path, "empty model reference");
        if (ref.find('+') != std::string::npos) fail(path, fmt::format("LoRA reference '{}' is not supported yet", ref));
        return ref;
    }

    [[nodiscard]] std::optional<scalar> scalar_of(const YAML::Node& node, const std::string& path) const {
        if (node.IsNull()) return std::nullopt;
        if (!node.IsScalar()) fail(path, fmt::format("expected a number, boolean or string, got {}", show(node)));
        const std::string& text = node.Scalar();
        if (node.Tag() == "!") return scalar{text};  // quoted
        static constexpr std::array<std::string_view, 9> yes{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
        static constexpr std::array<std::string_view, 9> no{"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
        if (std::find(yes.begin(), yes.end(), text) != yes.end()) return scalar{true};
        if (std::find(no.begin(), no.end(), text) != no.end()) return scalar{false};
        double number = 0;
        if (YAML::convert<double>::decode(node, number)) return scalar{number};
        return scalar{text};
    }

    // A scalar or a list of scalars (a gradient), as one entry.
    [[nodiscard]] value_entry entry_of(const YAML::Node& node, const std::string& path) const {
        value_entry entry;
        if (node.IsSequence()) {
            entry.is_list = true;
            for (std::size_t i = 0; i < node.size(); ++i) {
                const std::string item = fmt::format("{}[{}]", path, i);
                if (node[i].IsMap() || node[i].IsSequence()) fail(item, fmt::format("expected a number, got {}", show(node[i])));
                auto value = scalar_of(node[i], item);
                if (!value) fail(item, "null inside a list");
                entry.values.push_back(std::move(*value));
            }
        } else if (auto value = scalar_of(node, path)) {
            entry.values.push_back(std::move(*value));
        }
        return entry;
    }

    [[nodiscard]] value_entry conditional_of(const YAML::Node& node, const std::string& path) const {
        check_keys(node, path, {"filter", "value"});
        if (!node["value"]) fail(path, "a {filter, value} entry needs 'value'");
        value_entry entry = entry_of(node["value"], join(path, "value"));
        if (const YAML::Node filter = node["filter"]; filter && !filter.IsNull()) entry.filter = string_of(filter, join(path, "filter"));
        return entry;
    }

    [[nodiscard]] parameter_value value_of(const YAML::Node& node, const std::string& path) const {
        parameter_value value;
        if (node.IsMap()) {
            value.entries.push_back(conditional_of(node, path));
        } else if (node.IsSequence() && node.size() > 0 && node[0].IsMap()) {
            for (std::size_t i = 0; i < node.size(); ++i) {
                const std::string item = fmt::format("{}[{}]", path, i);
                if (!node[i].IsMap()) fail(item, fmt::format("expected a {{filter, value}} mapping, got {}", show(node[i])));
                value.entries.push_back(conditional_of(node[i], item));
            }
        } else {
            value.entries.push_back(entry_of(node, path));
        }
        return value;
    }

    [[nodiscard]] parameter_map parameters_of(const YAML::Node& node, const std::string& path) const {
        parameter_map out;
        if (!node || node.IsNull()) return out;
        if (!node.IsMap()) fail(path, fmt::format("expected a mapping, got {}", show(node)));
        for (const auto& kv : node) {
            const std::string name = string_of(kv.first, path);
            const std::string at = join(path, name);
            if (std::find(known_parameters.begin(), known_parameters.end(), name) == known_parameters.end()) {
                fail(at, "unknown parameter");
            }
            out.insert_or_assign(name, value_of(kv.second, at));
        }
        return out;
    }

    [[nodiscard]] blend::dtype dtype_of(const YAML::Node& node, const std::string& path) const {
        const std::string text = string_of(node, path);
        if (text == "float32") return blend::dtype::f32;
        if (text == "float16") return blend::dtype::f16;
        if (text == "bfloat16") return blend::dtype::bf16;
        if (text == "float64") return blend::dtype::f64;
        fail(path, fmt::format("unknown dtype '{}' (float32, float16, bfloat16 or float64)", text));
    }

    [[nodiscard]] layer_range range_of(const YAML::Node& node, const std::string& path) const {
        if (!node.IsSequence() || node.size() != 2) fail(path, fmt::format("expected [start, end], got {}", show(node)));
        long long bounds[2] = {0, 0};
        for (std::size_t i = 0; i < 2; ++i) {
            if (!node[i].IsScalar() || !YAML::convert<long long>::decode(node[i], bounds[i]) || bounds[i] < 0) {
                fail(path, fmt::format("expected non-negative integer layer indices, got {}", show(node[i])));
            }
        }
        if (bounds[0] >= bounds[1]) fail(path, fmt::format("empty layer range [{}, {})", bounds[0], bounds[1]));
        return {static_cast<std::size_t>(bounds[0]), static_cast<std::size_t>(bounds[1])};
    }

    [[nodiscard]] merge_config config_of(const YAML::Node& root) const {
        if (!root.IsMap()) fail("", fmt::format("expected a mapping at the top level, got {}", show(root)));
        check_keys(root, "", {"merge_method", "models", "slices", "base_model", "parameters", "dtype", "out_dtype"},
                   {"tokenizer", "tokenizer_source", "chat_template", "modules"});
        merge_config config;
        if (!root["merge_method"]) fail("merge_method", "missing (required)");
        config.merge_method = string_of(root["merge_method"], "merge_method");
        if (const auto base = root["base_model"]; base && !base.IsNull()) config.base_model = model_of(base, "base_model");
        config.parameters = parameters_of(root["parameters"], "parameters");
        if (const auto d = root["dtype"]; d && !d.IsNull()) config.dtype = dtype_of(d, "dtype");
        if (const auto d = root["out_dtype"]; d && !d.IsNull()) config.out_dtype = dtype_of(d, "out_dtype");
        const YAML::Node models = root["models"];
        const YAML::Node slices = root["slices"];
        const bool has_models = models && !models.IsNull();
        const bool has_slices = slices && !slices.IsNull();
        if (has_models == has_slices) fail("", "exactly one of 'models' and 'slices' is required");
        if (has_models) {
            if (!models.IsSequence() || models.size() == 0) fail("models", fmt::format("expected a non-empty list, got {}", show(models)));
            for (std::size_t i = 0; i < models.size(); ++i) {
                const std::string path = fmt::format("models[{}]", i);
                check_keys(models[i], path, {"model", "parameters"});
                if (!models[i]["model"]) fail(path, "missing 'model'");
                config.models.push_back({model_of(models[i]["model"], path + ".model"),
                                         parameters_of(models[i]["parameters"], path + ".parameters")});
            }
        } else {
            if (!slices.IsSequence() || slices.size() == 0) fail("slices", fmt::format("expected a non-empty list, got {}", show(slices)));
            for (std::size_t i = 0; i < slices.size(); ++i) {
                const std::string path = fmt::format("slices[{}]", i);
                check_keys(slices[i], path, {"sources", "base_model", "parameters"});
                output_slice slice;
                if (const auto base = slices[i]["base_model"]; base && !base.IsNull()) slice.base_model = model_of(base, path + ".base_model");
                slice.parameters = parameters_of(slices[i]["parameters"], path + ".parameters");
                const YAML::Node sources = slices[i]["sources"];
                if (!sources || !sources.IsSequence() || sources.size() == 0) fail(path + ".sources", "expected a non-empty list");
                for (std::size_t j = 0; j < sources.size(); ++j) {
                    const std::string at = fmt::format("{}.sources[{}]", path, j);
                    check_keys(sources[j], at, {"model", "layer_range", "parameters"});
                    if (!sources[j]["model"]) fail(at, "missing 'model'");
                    input_slice source{model_of(sources[j]["model"], at + ".model"), std::nullopt,
                                       parameters_of(sources[j]["parameters"], at + ".parameters")};
                    if (const auto range = sources[j]["layer_range"]; range && !range.IsNull()) {
                        source.layers = range_of(range, at + ".layer_range");
                    }
                    slice.sources.push_back(std::move(source));
                }
                config.slices.push_back(std::move(slice));
            }
        }
        return config;
    }
};

}  // namespace detail

/// Parses mergekit YAML `text` into a `merge_config`. `source` names the text in messages (the file
/// path). Throws `config_error` (see the file comment); never anything else for any input text.
[[nodiscard]] inline merge_config parse_merge_config(std::string_view text, std::string_view source = "config") {
    const detail::yaml_reader reader{std::string{source}};
    YAML::Node root;
    try {
        root = YAML::Load(std::string{text});
    } catch (const YAML::Exception& e) {
        throw config_error{fmt::format("{}:{}:{}: YAML syntax error: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg)};
    }
    try {
        return reader.config_of(root);
    } catch (const YAML::Exception& e) {  // e.g. an alias cycle or a bad conversion inside yaml-cpp
        throw config_error{fmt::format("{}:{}:{}: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg)};
    }
}

}  // namespace blend::config
