#pragma once
/// @file blend/config/merge_config.hpp
/// A mergekit merge configuration as plain C++ data (no YAML): method, models or slices, base model,
/// parameters at every level (scalars, gradients, `{filter, value}` lists) and dtypes — what
/// `parse_merge_config` (blend/config/yaml.hpp) builds from a mergekit YAML file and what a C++ host
/// fills in directly to merge without YAML (`plan_from_config`, blend/config/plan.hpp).
///
/// Parameter values (CLI.md, mergekit's `evaluate_setting`): a value is a list of entries, each with
/// an optional `filter` and one or more scalars. Lookup for a tensor name and a layer position t:
///  - the first entry whose filter is absent, "*", or a substring of the tensor name wins;
///  - its scalars: one scalar is the value; a list of numbers is a gradient, interpolated
///    piecewise-linearly: s = t (n - 1), i0 = floor(s), i1 = min(i0 + 1, n - 1),
///    value = (1 - (s - i0)) v[i0] + (s - i0) v[i1]; a list holding booleans or strings picks
///    v[floor(t (n - 1))] (as mergekit);
///  - no matching entry (or an empty list): the value is absent at this level and lookup falls
///    through to the next level. Precedence: source > slice > top level.
/// t is i / (n - 1) for the i-th layer of an output slice of n layers (1 for a one-layer slice) and 0
/// for tensors outside the layers.

#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace blend::config {

/// One scalar of a parameter: a number, a boolean or a string (`rescale: l1`, `consensus: count`).
using scalar = std::variant<double, bool, std::string>;

/// The text of a scalar as the config would spell it (numbers with full round-trip precision).
[[nodiscard]] inline std::string to_string(const scalar& value) {
    if (const double* d = std::get_if<double>(&value)) return fmt::format("{}", *d);
    if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
    return std::get<std::string>(value);
}

/// One entry of a parameter value: applies to tensors matching `filter` (absent or "*": every tensor).
struct value_entry {
    std::optional<std::string> filter{};
    /// One scalar, or a list (a gradient when all numbers).
    std::vector<scalar> values{};
    /// Written as a list (`[0.5]` is a one-point gradient, not a scalar).
    bool is_list = false;

    /// Whether this entry applies to the tensor named `tensor`.
    [[nodiscard]] bool matches(std::string_view tensor) const noexcept {
        return !filter || *filter == "*" || tensor.find(*filter) != std::string_view::npos;
    }
};

/// A parameter's value at one level: a scalar, a gradient, or a `{filter, value}` list (see the file
/// comment for the lookup rule).
struct parameter_value {
    std::vector<value_entry> entries{};

    /// A plain scalar.
    [[nodiscard]] static parameter_value of(scalar value) { return {{value_entry{{}, {std::move(value)}, false}}}; }
    /// A gradient (list of numbers) applying to every tensor.
    [[nodiscard]] static parameter_value gradient(std::vector<double> points) {
        value_entry entry{{}, {}, true};
        for (double p : points) entry.values.emplace_back(p);
        return {{std::move(entry)}};
    }
};

/// Parameters by name at one level (top, slice, source / model).
using parameter_map = std::map<std::string, parameter_value, std::less<>>;

/// The value of `value` for the tensor `tensor` at layer position `t` in [0, 1], or empty when no
/// entry matches (see the file comment).
[[nodiscard]] inline std::optional<scalar> evaluate(const parameter_value& value, std::string_view tensor, double t) {
    for (const value_entry& entry : value.entries) {
        if (!entry.matches(tensor)) continue;
        const auto& v = entry.values;
        if (v.empty()) return std::nullopt;
        if (!entry.is_list || v.size() == 1) return v.front();
        const double scaled = t * static_cast<double>(v.size() - 1);
        const bool numeric = std::all_of(v.begin(), v.end(), [](const scalar& s) { return std::holds_alternative<double>(s); });
        const auto i0 = std::min(static_cast<std::size_t>(std::floor(scaled)), v.size() - 1);
        if (!numeric) return v[i0];
        const std::size_t i1 = std::min(v.size() - 1, i0 + 1);
        const double frac = scaled - static_cast<double>(i0);
        return (1.0 - frac) * std::get<double>(v[i0]) + frac * std::get<double>(v[i1]);
    }
    return std::nullopt;
}

/// The value of parameter `name` for `tensor` at `t`: the first level (in precedence order, highest
/// first) holding `name` with a matching entry; empty when none does.
[[nodiscard]] inline std::optional<scalar> resolve_parameter(std::span<const parameter_map* const> levels, std::string_view name,
                                                             std::string_view tensor, double t) {
    for (const parameter_map* level : levels) {
        if (level == nullptr) continue;
        const auto it = level->find(name);
        if (it == level->end()) continue;
        if (auto value = evaluate(it->second, tensor, t)) return value;
    }
    return std::nullopt;
}

/// [begin, end) layers of a model (mergekit's `layer_range`).
struct layer_range {
    std::size_t begin = 0;
    std::size_t end = 0;
    [[nodiscard]] std::size_t size() const noexcept { return end > begin ? end - begin : 0; }
};

/// A source of an output slice: `layers` of `model` (empty: all its layers) with source-level parameters.
struct input_slice {
    std::string model;
    std::optional<layer_range> layers{};
    parameter_map parameters{};
};

/// An output slice: its sources (all of the same layer count) merged layer by layer.
struct output_slice {
    std::vector<input_slice> sources{};
    std::optional<std::string> base_model{};  ///< overrides the top-level base model for this slice
    parameter_map parameters{};
};

/// A model of the `models:` form, with its (source-level) parameters.
struct input_model {
    std::string model;
    parameter_map parameters{};
};

/// A whole merge configuration (mergekit's schema, CLI.md). Exactly one of `models` and `slices` is set.
struct merge_config {
    std::string merge_method;
    std::vector<input_model> models{};
    std::vector<output_slice> slices{};
    std::optional<std::string> base_model{};
    parameter_map parameters{};
    std::optional<blend::dtype> dtype{};  ///< mergekit's compute dtype; blend: the output dtype fallback
    std::optional<blend::dtype> out_dtype{};
};

/// Options of `normalized_slices`.
struct normalize_options {
    /// Append the base model to the `models:` form's slice when it is not listed (methods using a base).
    bool append_base = false;
};

/// The slices of `config`: its `slices`, or for the `models:` form one slice whose sources are the
/// models (all layers, their parameters as source level), plus the base model when
/// `options.append_base` and it is not listed (as mergekit adds it).
[[nodiscard]] inline std::vector<output_slice> normalized_slices(const merge_config& config, const normalize_options& options = {}) {
    if (!config.slices.empty()) return config.slices;
    output_slice slice;
    bool base_listed = false;
    for (const input_model& m : config.models) {
        slice.sources.push_back({m.model, std::nullopt, m.parameters});
        base_listed = base_listed || (config.base_model && m.model == *config.base_model);
    }
    if (options.append_base && config.base_model && !base_listed) slice.sources.push_back({*config.base_model, std::nullopt, {}});
    return {std::move(slice)};
}

/// Every distinct model reference of `config` in first-appearance order: the base model first when
/// set, then the models or the slices' sources (and slice base models). `plan_from_config` takes one
/// reader per entry, in this order.
[[nodiscard]] inline std::vector<std::string> referenced_models(const merge_config& config) {
    std::vector<std::string> refs;
    const auto add = [&](const std::string& ref) {
        if (std::find(refs.begin(), refs.end(), ref) == refs.end()) refs.push_back(ref);
    };
    if (config.base_model) add(*config.base_model);
    for (const auto& m : config.models) add(m.model);
    for (const auto& s : config.slices) {
        if (s.base_model) add(*s.base_model);
        for (const auto& src : s.sources) add(src.model);
    }
    return refs;
}

}  // namespace blend::config
