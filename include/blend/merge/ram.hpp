#pragma once
/// @file blend/merge/ram.hpp
/// RAM (Reinforced Agent Merging) and RAM+ tensor-local — METHODS.md §1 "ram, ramplus_tl",
/// mergekit 0.1.5 `ram.py`.
///
///   d_i = X_i - B;  model i changes entry j when |d_ij| > epsilon (default 1e-5);
///   c_j = number of models that change entry j
///   ram:        result_j = B_j                         (c_j = 0, even if some 0 < |d_ij| <= epsilon)
///                        = B_j + d_ij                  (c_j = 1, i the one model)
///                        = B_j + mean of the c_j changed d_ij   (c_j > 1)
///   ramplus_tl: as ram, but an entry changed by one model i only takes lambda_i * d_ij with
///     shared_i = #entries i changes with c > 1, unique_i = #entries i changes with c = 1 (this tensor),
///     rho_i = shared_i / max(unique_i, epsilon),  lambda_i = 1 + r * clamp(rho_i, 0, alpha)
///     (r default 0.1, the rescaling strength; alpha default 0.2, the cap on rho; lambda <= 1.02).
///
/// Reference: "Reinforced Agent Merging" (arXiv:2601.13572) as implemented by mergekit 0.1.5's `ram`
/// and `ramplus_tl`. Math: d and the result in float64 from the float32 (float64) inputs, lambda in
/// float64, one rounding to the output dtype. Deliberate differences from mergekit: mergekit computes d
/// (and compares it with epsilon) in the storage dtype and lambda in float32 (a ~6e-8 relative
/// difference for float64 models).

#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/elementwise.hpp>
#include <blend/merge/detail/reduce.hpp>
#include <blend/merge/detail/typed.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

namespace blend::merge {

/// Options of `ram`.
struct ram_options {
    /// |d| above which a model counts as having changed an entry (mergekit's `epsilon`, default 1e-5).
    double epsilon = 1e-5;
};

/// Options of `ramplus_tl`.
struct ramplus_tl_options {
    /// Rescaling strength of the unique contributions (mergekit's `r`, default 0.1).
    double r = 0.1;
    /// Cap on the shared/unique ratio rho (mergekit's `alpha`, default 0.2).
    double alpha = 0.2;
    /// |d| above which a model counts as having changed an entry (mergekit's `epsilon`, default 1e-5).
    double epsilon = 1e-5;
};

namespace detail {

inline void check_ram_epsilon(const char* method, double epsilon) {
    if (!(epsilon >= 0.0) || !std::isfinite(epsilon)) {
        throw invalid_argument{fmt::format("{}: epsilon must be finite and >= 0, got {}", method, epsilon)};
    }
}

/// The RAM merge given each model's factor for the entries only it changes (all 1 for plain ram).
inline void ram_apply(const char* method, std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                      double epsilon, std::span<const double> unique_scale) {
    elementwise(method, inputs, out, [&]<class M>(const chunk<M>& c) {
        const std::span<const M> base = c.inputs[0];
        for (std::size_t e = 0; e < c.out.size(); ++e) {
            const double b = static_cast<double>(base[e]);
            double sum = 0.0;
            double scaled = 0.0;
            std::size_t count = 0;
            for (std::size_t i = 1; i < c.inputs.size(); ++i) {
                const double d = static_cast<double>(c.inputs[i][e]) - b;
                if (std::abs(d) > epsilon) {
                    sum += d;
                    scaled = unique_scale[i - 1] * d;
                    ++count;
                }
            }
            c.out[e] = count == 0 ? b : count == 1 ? b + scaled : b + sum / static_cast<double>(count);
        }
    });
}

}  // namespace detail

/// RAM on runtime-typed tensors (the per-tensor function): `inputs[0]` is the base, `inputs[1..]` the
/// other models; writes `out` (any dtype). With no other model the result is the base. Throws
/// `invalid_argument` for no inputs or a negative epsilon, `shape_error` when shapes differ.
inline void ram_into(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                     const ram_options& options = {}) {
    detail::require_input_count("ram", inputs.size(), 1, std::numeric_limits<std::size_t>::max());
    detail::check_ram_epsilon("ram", options.epsilon);
    const std::vector<double> ones(inputs.size() - 1, 1.0);
    detail::ram_apply("ram", inputs, out, options.epsilon, ones);
}

/// The per-model factors lambda_i of ramplus_tl for these tensors (`inputs[0]` the base): one pass
/// counting, for every model, the entries it changes alone (unique) and with others (shared).
[[nodiscard]] inline std::vector<double> ramplus_tl_lambdas(std::span<const any_tensor_view> inputs,
                                                            const ramplus_tl_options& options = {}) {
    detail::require_input_count("ramplus_tl", inputs.size(), 1, std::numeric_limits<std::size_t>::max());
    detail::require_same_shapes("ramplus_tl", inputs, inputs.front().shape);
    const std::size_t models = inputs.size() - 1;
    std::vector<double> lambdas(models, 1.0);
    if (models == 0 || inputs.front().size() == 0) return lambdas;
    const double epsilon = options.epsilon;
    // counts[2i] = shared_i, counts[2i + 1] = unique_i (exact integers in float64).
    const std::vector<double> counts =
        detail::reduce(inputs, 2 * models, [&]<class M>(const detail::chunk<M>& c, std::span<double> k) {
            const std::span<const M> base = c.inputs[0];
            for (std::size_t e = 0; e < base.size(); ++e) {
                const double b = static_cast<double>(base[e]);
                std::size_t count = 0;
                for (std::size_t i = 0; i < models; ++i) {
                    count += std::abs(static_cast<double>(c.inputs[1 + i][e]) - b) > epsilon ? 1 : 0;
                }
                if (count == 0) continue;
                for (std::size_t i = 0; i < models; ++i) {
                    if (std::abs(static_cast<double>(c.inputs[1 + i][e]) - b) > epsilon) k[2 * i + (count == 1 ? 1 : 0)] += 1.0;
                }
            }
        });
    for (std::size_t i = 0; i < models; ++i) {
        const double rho = counts[2 * i] / std::max(counts[2 * i + 1], epsilon);
        lambdas[i] = 1.0 + options.r * std::min(std::max(rho, 0.0), options.alpha);  // torch's clamp(0, alpha)
    }
    return lambdas;
}

/// ramplus_tl on runtime-typed tensors (the per-tensor function): as `ram_into`, with each model's
/// unique contributions scaled by lambda_i (see the file comment). Throws as `ram_into`, and
/// `invalid_argument` for a non-finite r or alpha.
inline void ramplus_tl_into(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                            const ramplus_tl_options& options = {}) {
    detail::require_input_count("ramplus_tl", inputs.size(), 1, std::numeric_limits<std::size_t>::max());
    detail::check_ram_epsilon("ramplus_tl", options.epsilon);
    if (!std::isfinite(options.r) || !std::isfinite(options.alpha)) {
        throw invalid_argument{fmt::format("ramplus_tl: r and alpha must be finite, got {} and {}", options.r, options.alpha)};
    }
    detail::require_same_shapes("ramplus_tl", inputs, out.shape);
    const std::vector<double> lambdas = ramplus_tl_lambdas(inputs, options);
    detail::ram_apply("ramplus_tl", inputs, out, options.epsilon, lambdas);
}

/// RAM of typed tensors: `base` and a random-access range of other models of the same element type and
/// shape; returns an `xt::xarray` of that type and shape. See `ram_into`.
template <tensor T, std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto ram(const T& base, const R& models, const ram_options& options = {}) {
    return detail::run_typed(base, models, [&](std::span<const any_tensor_view> views, const any_mutable_tensor_view& out) {
        ram_into(views, out, options);
    });
}

/// ramplus_tl of typed tensors; see `ramplus_tl_into`.
template <tensor T, std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto ramplus_tl(const T& base, const R& models, const ramplus_tl_options& options = {}) {
    return detail::run_typed(base, models, [&](std::span<const any_tensor_view> views, const any_mutable_tensor_view& out) {
        ramplus_tl_into(views, out, options);
    });
}

}  // namespace blend::merge
