#pragma once
/// @file blend/merge/task_arithmetic.hpp
/// Generalized task arithmetic — METHODS.md §1: task_arithmetic, ties, dare_linear, dare_ties,
/// breadcrumbs, breadcrumbs_ties, della, della_linear, all on one engine (detail/gta.hpp).
///
/// With base B, models X_i, weights w_i and task vectors d_i = X_i - B:
///  1. sparsify d_i by the method's rule with the model's density (1 = keep all, untouched):
///     ties: magnitude top-k, k = floor(density n), ties → lowest flat index kept first; dare_*: keep
///     each entry with probability density (seeded mask, detail/masks.hpp); breadcrumbs*: drop the
///     n_top = floor(gamma n) largest |d| and keep floor(density n) in total (n_top = 0 drops no large
///     ones); della*: per row (last axis), keep probability linear in the rank of |d| from
///     density - epsilon to density + epsilon; then rescale: l1 (× sum|d| / sum|kept d|, skipped when
///     either sum < 1e-7), inverse_density (each kept entry / its keep probability) or none;
///  2. wd_i = w_i d_i;
///  3. consensus (ties, dare_ties, breadcrumbs_ties, della): s = sign of sum_i wd_i (>= 0 → +1;
///     `count`: of sum_i sign(wd_i)); mixed = sum of the wd_i whose sign is s (zeros never match),
///     divisor = sum of their w_i (0 → 1); without consensus mixed = sum_i wd_i, divisor = sum_i w_i
///     (|.| < 1e-8 → 1);
///  4. normalize (default true for ties and della only): mixed /= divisor;
///  5. result = B + lambda mixed.
/// Math: task vectors in float32 (float64 for float64 storage), weighted sums in float64, one rounding
/// to the output dtype. References: Ilharco et al. 2023 (task arithmetic), Yadav et al. 2023 (TIES),
/// Yu et al. 2024 (DARE), Davari & Belilovsky 2024 (breadcrumbs), Deep et al. 2024 (DELLA); mergekit's
/// generalized_task_arithmetic. Deliberate differences from mergekit: docs/methods.md#task-vector-family.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/gta.hpp>
#include <blend/merge/detail/typed.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <ranges>
#include <span>
#include <string_view>
#include <vector>

namespace blend::merge {

/// The methods of the task-vector family.
enum class task_method { task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs, breadcrumbs_ties, della, della_linear };

/// mergekit's name of a method ("dare_ties", ...).
[[nodiscard]] constexpr std::string_view method_name(task_method method) noexcept {
    constexpr std::string_view names[] = {"task_arithmetic", "ties",        "dare_linear", "dare_ties",
                                          "breadcrumbs",     "breadcrumbs_ties", "della",  "della_linear"};
    return names[static_cast<int>(method)];
}

/// Rescale of the kept entries of a sparsified task vector (`rescale`; mergekit's true = l1).
enum class rescale_mode { none, l1, inverse_density };
/// Sign election (`consensus`): sum of weighted deltas (mergekit's only mode) or sum of their signs.
enum class consensus_mode { sum, count };

/// Options of the task-vector family. Per-model values are spans: empty = the default for every
/// model, one value = that value for every model, else exactly one value per model.
struct task_arithmetic_options {
    task_method method = task_method::task_arithmetic;  ///< ignored by the named wrappers (ties(), ...)
    std::span<const double> weights{};    ///< w_i (mergekit: required); empty = 1
    std::span<const double> densities{};  ///< fraction kept; empty = 1 (keep all)
    std::span<const double> gammas{};     ///< breadcrumbs: fraction of largest dropped; empty = 0.01
    std::span<const double> epsilons{};   ///< della: half-width of the keep probabilities; empty = 0.15
    double lambda = 1.0;                  ///< result = B + lambda mixed
    std::optional<bool> normalize{};      ///< default: true for ties and della only
    std::optional<rescale_mode> rescale{};  ///< default: l1 for dare_* and della*, none otherwise
    std::optional<consensus_mode> consensus{};  ///< used by ties, dare_ties, breadcrumbs_ties, della (default sum)
    std::uint64_t seed = 0;               ///< DARE/DELLA mask seed
    std::string_view tensor_name{};       ///< names the mask streams and errors
};

namespace detail {

[[nodiscard]] inline std::vector<double> per_model(std::string_view method, const char* what, std::span<const double> values,
                                                   std::size_t count, double fallback) {
    if (values.empty()) return std::vector<double>(count, fallback);
    if (values.size() == 1) return std::vector<double>(count, values[0]);
    if (values.size() != count) {
        throw invalid_argument{fmt::format("{}: {} {} values for {} models", method, values.size(), what, count)};
    }
    return {values.begin(), values.end()};
}

/// Validates `options` for `count` models and resolves every default.
[[nodiscard]] inline gta_config resolve_gta(std::size_t count, const task_arithmetic_options& options) {
    const task_method method = options.method;
    const std::string_view name = method_name(method);
    gta_config config;
    config.method = name;
    config.tensor_name = options.tensor_name;
    config.seed = options.seed;
    config.lambda = options.lambda;
    if (!std::isfinite(options.lambda)) throw invalid_argument{fmt::format("{}: lambda must be finite, got {}", name, options.lambda)};
    const bool ties_like = method == task_method::ties || method == task_method::dare_ties ||
                           method == task_method::breadcrumbs_ties || method == task_method::della;
    const bool random_rule = method == task_method::dare_linear || method == task_method::dare_ties ||
                             method == task_method::della || method == task_method::della_linear;
    config.normalize = options.normalize.value_or(method == task_method::ties || method == task_method::della);
    const rescale_mode rescale = options.rescale.value_or(random_rule ? rescale_mode::l1 : rescale_mode::none);
    config.rescale = rescale == rescale_mode::l1 ? gta_rescale::l1
                     : rescale == rescale_mode::inverse_density ? gta_rescale::inverse_density : gta_rescale::none;
    config.consensus = !ties_like ? gta_consensus::none
                       : options.consensus.value_or(consensus_mode::sum) == consensus_mode::sum ? gta_consensus::sum
                                                                                                 : gta_consensus::count;
    sparsifier rule = sparsifier::none;
    switch (method) {
    case task_method::task_arithmetic: rule = sparsifier::none; break;
    case task_method::ties: rule = sparsifier::magnitude; break;
    case task_method::dare_linear:
    case task_method::dare_ties: rule = sparsifier::bernoulli; break;
    case task_method::breadcrumbs:
    case task_method::breadcrumbs_ties: rule = sparsifier::breadcrumbs; break;
    case task_method::della:
    case task_method::della_linear: rule = sparsifier::della; break;
    }
    const auto weights = per_model(name, "weight", options.weights, count, 1.0);
    const auto densities = per_model(name, "density", options.densities, count, 1.0);
    const auto gammas = per_model(name, "gamma", options.gammas, count, 0.01);
    const auto epsilons = per_model(name, "epsilon", options.epsilons, count, 0.15);
    for (std::size_t i = 0; i < count; ++i) {
        if (!std::isfinite(weights[i])) throw invalid_argument{fmt::format("{}: weight of model {} is {}", name, i, weights[i])};
        if (!(densities[i] >= 0) || std::isinf(densities[i])) {
            throw invalid_argument{fmt::format("{}: density of model {} must be >= 0, got {}", name, i, densities[i])};
        }
        if (!(gammas[i] >= 0 && gammas[i] <= 1)) {
            throw invalid_argument{fmt::format("{}: gamma of model {} must lie in [0, 1], got {}", name, i, gammas[i])};
        }
        if (rule == sparsifier::della) check_della_parameters(name, densities[i], epsilons[i]);
        config.models.push_back({rule, weights[i], densities[i], gammas[i], epsilons[i]});
    }
    return config;
}

}  // namespace detail

/// The task-vector family on runtime-typed tensors (the streaming engine's per-tensor function):
/// writes `out` (any dtype, the base's shape). `models` are the non-base inputs in config order (their
/// position is the model index of the mask streams). Throws `invalid_argument` for bad parameters
/// (naming the method and value), `non_finite_input` for NaN/Inf inputs (input 0 is the base, 1 + i model
/// i; the streaming engine names the file and tensor), `shape_error` when a
/// model or `out` differs in shape from the base.
inline void task_arithmetic_into(const any_tensor_view& base, std::span<const any_tensor_view> models,
                                 const any_mutable_tensor_view& out, const task_arithmetic_options& options = {}) {
    const detail::gta_config config = detail::resolve_gta(models.size(), options);
    for (std::size_t i = 0; i < models.size(); ++i) {
        if (models[i].shape != base.shape) {
            throw shape_error{fmt::format("{}: tensor '{}': model {} has shape [{}], the base [{}]", config.method,
                                          options.tensor_name, i, fmt::join(models[i].shape, ", "), fmt::join(base.shape, ", "))};
        }
    }
    if (out.shape != base.shape) {
        throw shape_error{fmt::format("{}: tensor '{}': output shape [{}] differs from the base's [{}]", config.method,
                                      options.tensor_name, fmt::join(out.shape, ", "), fmt::join(base.shape, ", "))};
    }
    std::vector<any_tensor_view> inputs;
    inputs.reserve(models.size() + 1);
    inputs.push_back(base);
    inputs.insert(inputs.end(), models.begin(), models.end());
    detail::gta_into(config, inputs, out);
}

/// The task-vector family on in-memory tensors: `base` a tensor, `models` a random-access range of
/// tensors of the base's element type; returns an `xt::xarray` of that type and the base's shape.
template <tensor Base, std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto task_arithmetic(const Base& base, const R& models, const task_arithmetic_options& options = {}) {
    return detail::run_typed(base, models, [&](std::span<const any_tensor_view> views, const any_mutable_tensor_view& out) {
        task_arithmetic_into(views.front(), views.subspan(1), out, options);
    });
}

#define BLEND_DETAIL_TASK_METHOD(fn)                                                                            \
    /** `task_arithmetic` with method = fn (options.method is ignored). */                                   \
    template <tensor Base, std::ranges::random_access_range R>                                                \
        requires tensor<std::ranges::range_value_t<R>>                                                         \
    [[nodiscard]] auto fn(const Base& base, const R& models, task_arithmetic_options options = {}) {           \
        options.method = task_method::fn;                                                                      \
        return task_arithmetic(base, models, options);                                                         \
    }
BLEND_DETAIL_TASK_METHOD(ties)
BLEND_DETAIL_TASK_METHOD(dare_linear)
BLEND_DETAIL_TASK_METHOD(dare_ties)
BLEND_DETAIL_TASK_METHOD(breadcrumbs)
BLEND_DETAIL_TASK_METHOD(breadcrumbs_ties)
BLEND_DETAIL_TASK_METHOD(della)
BLEND_DETAIL_TASK_METHOD(della_linear)
#undef BLEND_DETAIL_TASK_METHOD

}  // namespace blend::merge
