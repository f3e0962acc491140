#pragma once
/// @file blend/merge/nearswap.hpp
/// NearSwap — METHODS.md §1 "nearswap", mergekit 0.1.5 `nearswap.py`.
///
///   a = B (the base), b = X (the other model)
///   w = clamp(t / max(|a - b|, 1e-6), 0, 1)
///   result = w * b + (1 - w) * a
///
/// Entries where the models are within t of each other take b; entries far apart stay near a, moved by
/// t toward b. t = 0 (or t < 0) gives the base; |a - b| <= t gives b. `t` is required.
///
/// Reference: mergekit's `nearswap` (after alchemonaut's QuartetAnemoi-70B-t0.0001 recipe).
/// Math: float64 from the float32 (float64) inputs, one rounding to the output dtype. Deliberate
/// difference from mergekit: mergekit computes in the storage dtype (bf16 on bf16 models).

#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/elementwise.hpp>
#include <blend/merge/detail/typed.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>

namespace blend::merge {

/// Options of `nearswap`.
struct nearswap_options {
    /// The distance below which the other model's value is taken (mergekit's `t`; required).
    std::optional<double> t{};
};

/// NearSwap on runtime-typed tensors (the per-tensor function): `inputs` = {base, other}; writes `out`
/// (any dtype). See the file comment for the formula. Throws `invalid_argument` without `t`, for a
/// non-finite `t` or unless there are exactly 2 inputs; `shape_error` when shapes differ.
inline void nearswap_into(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                          const nearswap_options& options) {
    detail::require_input_count("nearswap", inputs.size(), 2, 2);
    if (!options.t) throw invalid_argument{"nearswap: parameter 't' is required"};
    const double t = *options.t;
    if (!std::isfinite(t)) throw invalid_argument{fmt::format("nearswap: t must be finite, got {}", t)};
    detail::elementwise("nearswap", inputs, out, [&]<class M>(const detail::chunk<M>& c) {
        const std::span<const M> base = c.inputs[0];
        const std::span<const M> other = c.inputs[1];
        for (std::size_t e = 0; e < c.out.size(); ++e) {
            const double a = static_cast<double>(base[e]);
            const double b = static_cast<double>(other[e]);
            const double w = std::clamp(t / std::max(std::abs(a - b), 1e-6), 0.0, 1.0);
            c.out[e] = w * b + (1.0 - w) * a;
        }
    });
}

/// NearSwap of two typed tensors of one element type and shape; returns an `xt::xarray` of that type
/// and shape. See `nearswap_into`.
template <tensor T>
[[nodiscard]] auto nearswap(const T& base, const T& other, const nearswap_options& options) {
    return detail::run_typed(base, std::span<const T>(&other, 1),
                             [&](std::span<const any_tensor_view> views, const any_mutable_tensor_view& out) {
                                 nearswap_into(views, out, options);
                             });
}

}  // namespace blend::merge
