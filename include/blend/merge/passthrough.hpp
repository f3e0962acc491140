#pragma once
/// @file blend/merge/passthrough.hpp
/// passthrough — METHODS.md §1 "passthrough", mergekit 0.1.5 `passthrough.py`.
///
///   result = scale * X      (exactly one input; scale default 1, i.e. X unchanged)
///
/// Used to copy layers (frankenmerges, layer stacking) and to scale them. Reference: mergekit's
/// `passthrough` with its per-input `scale`. Math: float64 product of the float32 (float64) input, one
/// rounding to the output dtype (scale 1 and the same dtype copy the values exactly). Deliberate
/// difference from mergekit: mergekit multiplies in the storage dtype (X * scale in bf16 for bf16
/// models, the same single rounding).

#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/typed.hpp>
#include <blend/merge/detail/weighted_sum.hpp>

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <span>

namespace blend::merge {

/// Options of `passthrough`.
struct passthrough_options {
    /// Factor applied to the input (mergekit's `scale`; default 1, mergekit's "none").
    double scale = 1.0;
};

/// passthrough on runtime-typed tensors (the per-tensor function): `inputs` holds exactly one tensor;
/// writes scale * X to `out` (any dtype). Throws `invalid_argument` unless there is exactly one input
/// or for a non-finite scale, `shape_error` when the shapes differ.
inline void passthrough_into(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                             const passthrough_options& options = {}) {
    if (inputs.size() != 1) {
        throw invalid_argument{fmt::format("passthrough: needs exactly 1 input tensor, got {}", inputs.size())};
    }
    if (!std::isfinite(options.scale)) {
        throw invalid_argument{fmt::format("passthrough: scale must be finite, got {}", options.scale)};
    }
    const std::array<double, 1> weight{options.scale};
    detail::weighted_sum("passthrough", inputs, weight, 1.0, out);
}

/// passthrough of one typed tensor: returns scale * `x` as an `xt::xarray` of its element type and
/// shape. See `passthrough_into`.
template <tensor T>
[[nodiscard]] auto passthrough(const T& x, const passthrough_options& options = {}) {
    return detail::run_typed("passthrough", std::span<const T>(&x, 1),
                             [&](std::span<const any_tensor_view> views, const any_mutable_tensor_view& out) {
                                 passthrough_into(views, out, options);
                             });
}

}  // namespace blend::merge
