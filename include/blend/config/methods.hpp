#pragma once
/// @file blend/config/methods.hpp
/// mergekit's merge methods by name: which take a base model, which parameters they read (shared or
/// per input model, with mergekit's defaults and required ones), and the per-tensor function of the
/// streaming engine that runs a method with resolved parameters (blend/merge/*.hpp).
///
/// Input convention of the functions built here (the engine's `tensor_task::inputs`): methods with a
/// base (`base_use::required`, or `optional` when the config has one) get the base first, then the
/// other models in config order; the others (linear, karcher, passthrough) get every model in config
/// order, the base included when it is listed (karcher: always, as mergekit).

#include <blend/config/merge_config.hpp>
#include <blend/core/error.hpp>
#include <blend/merge/arcee_fusion.hpp>
#include <blend/merge/engine.hpp>
#include <blend/merge/karcher.hpp>
#include <blend/merge/linear.hpp>
#include <blend/merge/model_stock.hpp>
#include <blend/merge/multislerp.hpp>
#include <blend/merge/nearswap.hpp>
#include <blend/merge/passthrough.hpp>
#include <blend/merge/ram.hpp>
#include <blend/merge/sce.hpp>
#include <blend/merge/slerp.hpp>
#include <blend/merge/task_arithmetic.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace blend::config {

/// How a method uses the base model.
enum class base_use {
    none,      ///< no base: a listed base model is an ordinary input (linear, passthrough)
    required,  ///< base first, then the others (task-vector family, slerp, …)
    optional,  ///< base first when configured (nuslerp, multislerp)
    input,     ///< every model including a configured base is an ordinary input (karcher)
};

/// A parameter a method reads: its name, default (empty: required or absent) and whether it is
/// required (mergekit's `required`; a base model never needs its per-input ones).
struct parameter_spec {
    std::string_view name;
    std::optional<scalar> fallback{};
    bool required = false;
};

/// A method by its mergekit name.
struct method_spec {
    std::string_view name;
    base_use base = base_use::none;
    std::vector<parameter_spec> shared{};
    std::vector<parameter_spec> per_model{};
    /// Embeddings of different vocabulary sizes are cropped to the base's rows (the task-vector
    /// family), else to the fewest rows (METHODS.md).
    bool crops_to_base = false;
};

/// Resolved parameter values of one tensor: shared ones, and per non-base input in input order.
struct resolved_parameters {
    std::map<std::string, scalar, std::less<>> shared;
    std::vector<std::map<std::string, scalar, std::less<>>> per_model;
};

/// The method named `name` (mergekit's spelling); `config_error` naming it when unknown.
[[nodiscard]] inline method_spec find_method(std::string_view name) {
    const parameter_spec weight{"weight", {}, true};
    const std::vector<parameter_spec> gta_shared{{"normalize"}, {"rescale"}, {"lambda", 1.0}, {"int8_mask", false}, {"consensus"}};
    for (const auto m : {merge::task_method::task_arithmetic, merge::task_method::ties, merge::task_method::dare_linear,
                         merge::task_method::dare_ties, merge::task_method::breadcrumbs, merge::task_method::breadcrumbs_ties,
                         merge::task_method::della, merge::task_method::della_linear}) {
        if (merge::method_name(m) == name) {
            return {merge::method_name(m), base_use::required, gta_shared,
                    {weight, {"density", 1.0}, {"gamma", 0.01}, {"epsilon", 0.15}}, true};
        }
    }
    if (name == "linear") return {"linear", base_use::none, {{"normalize", true}}, {weight}};
    if (name == "slerp") return {"slerp", base_use::required, {{"t", {}, true}}, {}};
    if (name == "nuslerp") return {"nuslerp", base_use::optional, {{"nuslerp_flatten", true}, {"nuslerp_row_wise", false}}, {weight}};
    if (name == "multislerp") return {"multislerp", base_use::optional, {{"normalize_weights", true}, {"eps", 1e-8}}, {{"weight", 1.0}}};
    if (name == "karcher") return {"karcher", base_use::input, {{"max_iter", 10.0}, {"tol", 1e-5}}, {}};
    if (name == "model_stock") return {"model_stock", base_use::required, {{"filter_wise", false}}, {}};
    if (name == "sce") return {"sce", base_use::required, {{"select_topk", 1.0}, {"int8_mask", false}}, {}};
    if (name == "nearswap") return {"nearswap", base_use::required, {{"t", {}, true}}, {}};
    if (name == "ram") return {"ram", base_use::required, {{"epsilon", 1e-5}}, {}};
    if (name == "ramplus_tl") return {"ramplus_tl", base_use::required, {{"epsilon", 1e-5}, {"r", 0.1}, {"alpha", 0.2}}, {}};
    if (name == "arcee_fusion") return {"arcee_fusion", base_use::required, {}, {}};
    if (name == "passthrough") return {"passthrough", base_use::none, {}, {{"scale", 1.0}}};
    throw config_error{fmt::format("merge_method: unknown method '{}'", name)};
}

namespace detail {

[[nodiscard]] inline const scalar* lookup(const std::map<std::string, scalar, std::less<>>& values, std::string_view name) {
    const auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
}

/// The parameter as a number; `config_error` naming the tensor, parameter and value otherwise.
[[nodiscard]] inline double as_number(const scalar& value, std::string_view parameter, std::string_view tensor) {
    if (const double* d = std::get_if<double>(&value)) return *d;
    if (const std::string* s = std::get_if<std::string>(&value)) {
        std::size_t used = 0;
        try {
            const double d = std::stod(*s, &used);
            if (used == s->size()) return d;
        } catch (const std::exception&) {
        }
    }
    throw config_error{fmt::format("tensor '{}': parameter '{}' must be a number, got '{}'", tensor, parameter, to_string(value))};
}

/// The parameter as a boolean (mergekit's pydantic: true/false, 0/1).
[[nodiscard]] inline bool as_bool(const scalar& value, std::string_view parameter, std::string_view tensor) {
    if (const bool* b = std::get_if<bool>(&value)) return *b;
    if (const double* d = std::get_if<double>(&value); d != nullptr && (*d == 0.0 || *d == 1.0)) return *d == 1.0;
    if (const std::string* s = std::get_if<std::string>(&value); s != nullptr && (*s == "true" || *s == "false")) return *s == "true";
    throw config_error{fmt::format("tensor '{}': parameter '{}' must be true or false, got '{}'", tensor, parameter, to_string(value))};
}

[[nodiscard]] inline std::optional<merge::rescale_mode> rescale_of(const scalar* value, std::string_view tensor) {
    if (value == nullptr) return std::nullopt;
    if (const std::string* s = std::get_if<std::string>(value)) {
        if (*s == "l1") return merge::rescale_mode::l1;
        if (*s == "inverse_density") return merge::rescale_mode::inverse_density;
        if (*s == "none") return merge::rescale_mode::none;
    }
    try {
        return as_bool(*value, "rescale", tensor) ? merge::rescale_mode::l1 : merge::rescale_mode::none;
    } catch (const config_error&) {
        throw config_error{fmt::format("tensor '{}': parameter 'rescale' must be true, false, l1, inverse_density or none, got '{}'",
                                       tensor, to_string(*value))};
    }
}

[[nodiscard]] inline std::optional<merge::consensus_mode> consensus_of(const scalar* value, std::string_view tensor) {
    if (value == nullptr) return std::nullopt;
    if (const std::string* s = std::get_if<std::string>(value); s != nullptr && (*s == "sum" || *s == "count")) {
        return *s == "sum" ? merge::consensus_mode::sum : merge::consensus_mode::count;
    }
    throw config_error{fmt::format("tensor '{}': parameter 'consensus' must be sum or count, got '{}'", tensor, to_string(*value))};
}

}  // namespace detail

/// Options of `make_tensor_function`.
struct function_options {
    /// Seeds DARE/DELLA masks and arcee_fusion's sample (`--seed`, default 0).
    std::uint64_t seed = 0;
    /// inputs[0] is the base model (see the file comment).
    bool has_base = false;
};

/// The engine's per-tensor function running `method` with the parameters `p` on the tensor `tensor`
/// (names the mask streams and errors). Throws `config_error` naming the tensor and parameter for a
/// value of the wrong type, and for linear weights summing to zero.
[[nodiscard]] inline merge::tensor_function make_tensor_function(const method_spec& method, const resolved_parameters& p,
                                                                 const std::string& tensor, const function_options& options = {}) {
    const std::uint64_t seed = options.seed;
    const bool has_base = options.has_base;
    using views = std::span<const any_tensor_view>;
    using out_view = const any_mutable_tensor_view&;
    const auto num = [&](std::string_view name) { return detail::as_number(*detail::lookup(p.shared, name), name, tensor); };
    const auto flag = [&](std::string_view name) { return detail::as_bool(*detail::lookup(p.shared, name), name, tensor); };
    const auto each = [&](std::string_view name) {
        std::vector<double> values;
        for (const auto& m : p.per_model) values.push_back(detail::as_number(*detail::lookup(m, name), name, tensor));
        return values;
    };
    const std::string_view name = method.name;
    for (const auto tm : {merge::task_method::task_arithmetic, merge::task_method::ties, merge::task_method::dare_linear,
                          merge::task_method::dare_ties, merge::task_method::breadcrumbs, merge::task_method::breadcrumbs_ties,
                          merge::task_method::della, merge::task_method::della_linear}) {
        if (merge::method_name(tm) != name) continue;
        const scalar* normalize = detail::lookup(p.shared, "normalize");
        merge::task_arithmetic_options o{.method = tm,
                                         .lambda = num("lambda"),
                                         .normalize = normalize ? std::optional<bool>{detail::as_bool(*normalize, "normalize", tensor)}
                                                                : std::nullopt,
                                         .rescale = detail::rescale_of(detail::lookup(p.shared, "rescale"), tensor),
                                         .consensus = detail::consensus_of(detail::lookup(p.shared, "consensus"), tensor),
                                         .seed = seed};
        return [o, w = each("weight"), d = each("density"), g = each("gamma"), e = each("epsilon"), tensor](views in, out_view out) {
            merge::task_arithmetic_options options = o;
            options.weights = w;
            options.densities = d;
            options.gammas = g;
            options.epsilons = e;
            options.tensor_name = tensor;
            merge::task_arithmetic_into(in.front(), in.subspan(1), out, options);
        };
    }
    if (name == "linear") {
        const auto w = each("weight");
        const bool normalize = flag("normalize");
        try {
            (void)merge::resolve_linear_weights(w.size(), {.weights = w, .normalize = normalize});
        } catch (const invalid_argument& e) {
            throw config_error{fmt::format("tensor '{}': {}", tensor, e.what())};
        }
        return [w, normalize](views in, out_view out) { merge::linear_into(in, out, {.weights = w, .normalize = normalize}); };
    }
    if (name == "slerp") {
        const double t = num("t");
        return [t](views in, out_view out) { merge::slerp_into(in, out, {.t = t}); };
    }
    if (name == "nuslerp") {
        const auto w = each("weight");
        const bool flatten = flag("nuslerp_flatten"), row_wise = flag("nuslerp_row_wise");
        return [w, flatten, row_wise, has_base](views in, out_view out) {
            merge::nuslerp_into(has_base ? &in[0] : nullptr, in.subspan(has_base ? 1 : 0), out,
                                {.weights = w, .flatten = flatten, .row_wise = row_wise});
        };
    }
    if (name == "multislerp") {
        const auto w = each("weight");
        const bool normalize = flag("normalize_weights");
        const double eps = num("eps");
        return [w, normalize, eps, has_base](views in, out_view out) {
            merge::multislerp_into(has_base ? &in[0] : nullptr, in.subspan(has_base ? 1 : 0), out,
                                   {.weights = w, .normalize_weights = normalize, .eps = eps});
        };
    }
    if (name == "karcher") {
        const double iterations = num("max_iter");
        if (!(iterations >= 0 && iterations <= 1e6)) {
            throw config_error{fmt::format("tensor '{}': parameter 'max_iter' must be in [0, 1e6], got {}", tensor, iterations)};
        }
        const merge::karcher_options o{.max_iter = static_cast<std::size_t>(iterations), .tol = num("tol")};
        return [o](views in, out_view out) { merge::karcher_into(in, out, o); };
    }
    if (name == "model_stock") {
        const bool filter_wise = flag("filter_wise");
        return [filter_wise](views in, out_view out) { merge::model_stock_into(in, out, {.filter_wise = filter_wise}); };
    }
    if (name == "sce") {
        const double k = num("select_topk");
        return [k, tensor](views in, out_view out) {
            merge::sce_into(in.front(), in.subspan(1), out, {.select_topk = k, .tensor_name = tensor});
        };
    }
    if (name == "nearswap") {
        const double t = num("t");
        return [t](views in, out_view out) { merge::nearswap_into(in, out, {.t = t}); };
    }
    if (name == "ram") {
        const double eps = num("epsilon");
        return [eps](views in, out_view out) { merge::ram_into(in, out, {.epsilon = eps}); };
    }
    if (name == "ramplus_tl") {
        const merge::ramplus_tl_options o{.r = num("r"), .alpha = num("alpha"), .epsilon = num("epsilon")};
        return [o](views in, out_view out) { merge::ramplus_tl_into(in, out, o); };
    }
    if (name == "arcee_fusion") {
        return [seed, tensor](views in, out_view out) { merge::arcee_fusion_into(in, out, {.seed = seed, .tensor_name = tensor}); };
    }
    if (name == "passthrough") {
        const auto scale = each("scale");
        if (scale.size() != 1) throw config_error{fmt::format("tensor '{}': passthrough takes exactly one model, got {}", tensor, scale.size())};
        return [s = scale.front()](views in, out_view out) { merge::passthrough_into(in, out, {.scale = s}); };
    }
    throw config_error{fmt::format("merge_method: unknown method '{}'", name)};
}

}  // namespace blend::config
