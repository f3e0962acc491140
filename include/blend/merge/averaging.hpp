#pragma once
/// @file blend/merge/averaging.hpp
/// Training-time weight averaging — METHODS.md §1 "Training-time averaging": small stateful
/// accumulators a training loop calls once per step with the model's current parameters θ.
///
///   SWA  (`swa_average`):  avg ← avg + (θ - avg) / (n + 1), n = updates so far; the first update copies.
///   EMA  (`ema_average`):  avg ← decay_t · avg + (1 - decay_t) · θ, decay 0.9999 by default, with
///        timm ModelEmaV3's optional warm-up decay_t = max(min(decay, 1 - (1 + s/gamma)^-power), min_decay),
///        s = step - update_after_step - 1, and decay_t = 0 (copy) while s <= 0.
///
/// Both are the same elementwise lerp avg ← (1 - w) · avg + w · θ (SWA: w = 1/(n+1); EMA: w = 1 - decay_t),
/// run by `detail::lerp_into` on the shared weighted-sum kernel (blend/merge/detail/weighted_sum.hpp).
///
/// Storage and math: the accumulator owns its average — float32 for float16/bfloat16/float8/float32
/// parameters, float64 for float64 parameters (METHODS.md §1) — so a bf16 model's average does not lose
/// the small increments (1 - decay) · (θ - avg) to bf16 rounding. Each step reads avg and θ as float32
/// (float64 for float64 storage), evaluates the lerp in float64 and rounds once to the average's type.
/// Non-floating tensors (integer step counters, bool masks) are not averaged: the average holds a copy
/// of the latest value, as timm does for non-floating state. NaN/Inf in θ are not checked (this runs
/// every training step) and propagate into the average.
///
/// References: Izmailov et al. 2018, "Averaging Weights Leads to Wider Optima and Better Generalization"
/// (PyTorch `torch.optim.swa_utils.AveragedModel`); timm `ModelEmaV3` (timm/utils/model_ema.py).
/// Deliberate differences: timm deep-copies the model when the EMA is constructed; blend's average
/// starts at the first `update` (which copies θ), so construct it and call `update` on the initial
/// weights to match timm exactly. Updates with w = 0 (decay 1) leave the average untouched, bit for bit.

#include <blend/core/concepts.hpp>
#include <blend/core/convert.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/weighted_sum.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace blend::merge {

/// One named runtime-typed parameter: what a host holding file-backed or type-erased tensors passes
/// to the accumulators (typed hosts pass their state dict or tensor directly).
struct named_tensor_view {
    std::string_view name;
    any_tensor_view tensor;
};

namespace detail {

/// avg ← (1 - w) · avg + w · θ, in place, on the weighted-sum kernel (float64 math, one rounding to
/// avg's dtype; bitwise identical for any thread count). w = 1 copies θ (exactly, also over a
/// non-finite avg); w = 0 leaves avg untouched. `avg` and `theta` must have the same shape.
inline void lerp_into(std::string_view method, const any_mutable_tensor_view& avg, const any_tensor_view& theta,
                      double w) {
    if (w == 0.0) return;
    if (w == 1.0) {
        require_same_shapes(method, std::span<const any_tensor_view>(&theta, 1), avg.shape);
        convert_bytes(theta.type, theta.bytes.data(), avg.type, avg.bytes.data(), theta.size());
        return;
    }
    const std::array<any_tensor_view, 2> inputs{avg.as_const(), theta};
    const std::array<double, 2> weights{1.0 - w, w};
    weighted_sum(method, inputs, weights, 1.0, avg);
}

/// The dtype an average of `t` is kept in: float64 for float64, float32 for the other floating types,
/// `t` itself for non-floating types (copied, not averaged).
[[nodiscard]] constexpr dtype average_dtype(dtype t) noexcept {
    if (t == dtype::f64) return dtype::f64;
    return is_floating(t) ? dtype::f32 : t;
}

/// The named views of a state dict's tensors (no data copied).
template <state_dict D>
[[nodiscard]] std::vector<named_tensor_view> named_views(const D& params) {
    std::vector<named_tensor_view> out;
    out.reserve(params.size());
    for (const auto& [name, tensor] : params) {
        out.push_back({std::string_view(name), any_tensor_view::of(tensor)});
    }
    return out;
}

/// The state shared by `swa_average` and `ema_average`: one owned average per parameter name, the
/// update count, reading and writing back. The first update fixes the names and shapes.
class running_average {
public:
    /// Number of updates so far (the SWA n).
    [[nodiscard]] std::size_t count() const noexcept { return count_; }

    /// True before the first update.
    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }

    /// Forgets the average; the next update copies.
    void reset() noexcept {
        entries_.clear();
        count_ = 0;
    }

    /// The parameter names, in lexicographic order (the single-tensor form uses the name "").
    [[nodiscard]] std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& [name, entry] : entries_) out.push_back(name);
        return out;
    }

    /// The average of parameter `name` (float32, or float64 for float64 parameters), read-only.
    /// Throws `invalid_argument` when there is no such parameter.
    [[nodiscard]] any_tensor_view average(std::string_view name = {}) const { return find(name).view(); }

    /// Writes the average of `name` into `out` (converted to out's dtype, rounded once, RNE).
    /// Throws `invalid_argument` for an unknown name, `shape_error` when the shapes differ.
    void write_to(std::string_view name, const any_mutable_tensor_view& out) const {
        const entry& e = find(name);
        check_shape(name, e.shape, out.shape, "write_to");
        convert_bytes(e.type, e.view().bytes.data(), out.type, out.bytes.data(), out.size());
    }

    /// Writes the averages into every tensor of a host state dict of mutable tensors, in the host's own
    /// storage (no host-side copy). Every name must have an average of the same shape; all are checked
    /// before anything is written.
    template <state_dict D>
        requires mutable_tensor<typename D::mapped_type>
    void write_to(D& host) const {
        for (const auto& [name, tensor] : host) {
            check_shape(std::string_view(name), find(std::string_view(name)).shape, tensor_shape(tensor), "write_to");
        }
        for (auto& [name, tensor] : host) write_to(std::string_view(name), any_mutable_tensor_view::of(tensor));
    }

    /// Writes the average of the single-tensor form (name "") into a host tensor.
    template <mutable_tensor T>
        requires(!state_dict<T>)
    void write_to(T& host) const {
        write_to(std::string_view{}, any_mutable_tensor_view::of(host));
    }

protected:
    /// Applies avg ← (1 - w) · avg + w · θ to every parameter (the first update copies instead), after
    /// checking that the names and shapes are those of the first update.
    void apply(std::string_view method, std::span<const named_tensor_view> params, double w) {
        if (count_ == 0) {
            initialize(method, params);
        } else {
            if (params.size() != entries_.size()) {
                throw invalid_argument{fmt::format("{}: {} parameters given, the average has {}", method,
                                                   params.size(), entries_.size())};
            }
            std::vector<entry*> targets;
            targets.reserve(params.size());
            for (const auto& p : params) {
                entry& e = find(p.name);
                check_shape(p.name, e.shape, p.tensor.shape, method);
                if (std::ranges::find(targets, &e) != targets.end()) {
                    throw invalid_argument{fmt::format("{}: parameter '{}' given twice", method, p.name)};
                }
                targets.push_back(&e);
            }
            for (std::size_t i = 0; i < params.size(); ++i) {
                const bool floating = is_floating(targets[i]->type) && is_floating(params[i].tensor.type);
                lerp_into(method, targets[i]->mutable_view(), params[i].tensor, floating ? w : 1.0);
            }
        }
        ++count_;
    }

private:
    struct entry {
        dtype type = dtype::f32;
        shape_type shape;
        std::vector<std::uint64_t> storage;  // 8-byte aligned backing for any dtype

        [[nodiscard]] std::size_t bytes() const { return shape_size(shape) * size_of(type); }
        [[nodiscard]] any_tensor_view view() const {
            return {type, shape, {reinterpret_cast<const std::byte*>(storage.data()), bytes()}};
        }
        [[nodiscard]] any_mutable_tensor_view mutable_view() {
            return {type, shape, {reinterpret_cast<std::byte*>(storage.data()), bytes()}};
        }
    };

    void initialize(std::string_view method, std::span<const named_tensor_view> params) {
        std::map<std::string, entry, std::less<>> fresh;
        for (const auto& p : params) {
            entry e{average_dtype(p.tensor.type), p.tensor.shape, {}};
            e.storage.resize((e.bytes() + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
            lerp_into(method, e.mutable_view(), p.tensor, 1.0);
            if (!fresh.emplace(std::string(p.name), std::move(e)).second) {
                throw invalid_argument{fmt::format("{}: parameter '{}' given twice", method, p.name)};
            }
        }
        entries_ = std::move(fresh);
    }

    [[nodiscard]] const entry& find(std::string_view name) const {
        const auto it = entries_.find(name);
        if (it == entries_.end()) {
            throw invalid_argument{fmt::format("running average: no parameter named '{}'", name)};
        }
        return it->second;
    }
    [[nodiscard]] entry& find(std::string_view name) {
        return const_cast<entry&>(static_cast<const running_average&>(*this).find(name));
    }

    static void check_shape(std::string_view name, const shape_type& expected, const shape_type& got,
                            std::string_view what) {
        if (expected != got) {
            throw shape_error{fmt::format("{}: parameter '{}' has shape [{}], the average has [{}]", what, name,
                                          fmt::join(got, ", "), fmt::join(expected, ", "))};
        }
    }

    std::map<std::string, entry, std::less<>> entries_;
    std::size_t count_ = 0;
};

}  // namespace detail

/// Stochastic weight averaging: the running mean of every θ passed to `update`.
///
///   n = 0: avg ← θ;   n ≥ 1: avg ← avg + (θ - avg) / (n + 1)   (n = `count()` before the update)
///
/// so after k updates avg = (θ_1 + … + θ_k) / k up to float32 rounding (one rounding per step).
/// Reference: Izmailov et al. 2018; PyTorch `AveragedModel` (default `avg_fn`), which it matches.
/// Usage: `blend::merge::swa_average swa; … swa.update(model); … swa.write_to(model);`
class swa_average : public detail::running_average {
public:
    /// Adds a state dict of tensors (names and shapes fixed by the first update).
    template <state_dict D>
    void update(const D& params) {
        const auto views = detail::named_views(params);
        update(std::span<const named_tensor_view>(views));
    }

    /// Adds a single tensor (stored under the name "").
    template <tensor T>
        requires(!state_dict<T>)
    void update(const T& param) {
        const named_tensor_view view{{}, any_tensor_view::of(param)};
        update(std::span<const named_tensor_view>(&view, 1));
    }

    /// Adds runtime-typed named tensors.
    void update(std::span<const named_tensor_view> params) {
        apply("swa_average", params, 1.0 / (static_cast<double>(count()) + 1.0));
    }
};

/// Options of `ema_average` (names and defaults of timm's `ModelEmaV3`).
struct ema_options {
    /// Target decay (timm `decay`), in [0, 1].
    double decay = 0.9999;
    /// Lower bound of the warmed-up decay (timm `min_decay`, applies only with `warmup`), in [0, 1].
    double min_decay = 0.0;
    /// Steps before the EMA starts: while step <= update_after_step + 1, an update copies.
    std::int64_t update_after_step = 0;
    /// timm `use_warmup`: ramp the decay up as 1 - (1 + s/gamma)^-power.
    bool warmup = false;
    /// timm `warmup_gamma` (> 0).
    double warmup_gamma = 1.0;
    /// timm `warmup_power` (> 0); 2/3 reaches 0.999 at ~31.6k steps, 0.9999 at ~1M steps.
    double warmup_power = 2.0 / 3.0;
};

/// The decay an EMA update uses (timm `ModelEmaV3.get_decay`):
///   no step:            decay;
///   s = max(0, step - update_after_step - 1); s == 0: 0 (the update copies);
///   without warmup:     decay;
///   with warmup:        max(min(decay, 1 - (1 + s/warmup_gamma)^(-warmup_power)), min_decay).
/// Throws `invalid_argument` for options outside their domains (see `ema_options`).
[[nodiscard]] inline double ema_decay(const ema_options& options, std::optional<std::int64_t> step = std::nullopt) {
    const auto in_unit = [](double x) { return x >= 0.0 && x <= 1.0; };
    if (!in_unit(options.decay) || !in_unit(options.min_decay) || !(options.warmup_gamma > 0.0) ||
        !(options.warmup_power > 0.0) || options.update_after_step < 0) {
        throw invalid_argument{fmt::format(
            "ema_average: invalid options (decay {}, min_decay {}, update_after_step {}, warmup_gamma {}, "
            "warmup_power {}): decays must lie in [0, 1], gamma and power be > 0, update_after_step >= 0",
            options.decay, options.min_decay, options.update_after_step, options.warmup_gamma, options.warmup_power)};
    }
    if (!step) return options.decay;
    const std::int64_t s = std::max<std::int64_t>(0, *step - options.update_after_step - 1);
    if (s == 0) return 0.0;
    if (!options.warmup) return options.decay;
    const double warm = 1.0 - std::pow(1.0 + static_cast<double>(s) / options.warmup_gamma, -options.warmup_power);
    return std::max(std::min(warm, options.decay), options.min_decay);
}

/// Exponential moving average of every θ passed to `update`:
///
///   avg ← decay_t · avg + (1 - decay_t) · θ,   decay_t = `ema_decay(options, step)`;
///
/// the first update copies θ (there is no average yet), and so does any update whose decay_t is 0
/// (step <= update_after_step + 1 when a step is passed). decay 0 tracks θ; decay 1 keeps the first θ.
/// Reference: timm `ModelEmaV3` (same options, same decay schedule, same lerp).
/// Usage: `blend::merge::ema_average ema({.decay = 0.999, .warmup = true}); … ema.update(model, step);`
class ema_average : public detail::running_average {
public:
    /// Validates `options` (see `ema_decay`).
    explicit ema_average(const ema_options& options = {}) : options_{options} { (void)ema_decay(options_); }

    [[nodiscard]] const ema_options& options() const noexcept { return options_; }

    /// Updates with a state dict of tensors; `step` (timm's optional `step`) selects the decay schedule.
    template <state_dict D>
    void update(const D& params, std::optional<std::int64_t> step = std::nullopt) {
        const auto views = detail::named_views(params);
        update(std::span<const named_tensor_view>(views), step);
    }

    /// Updates with a single tensor (stored under the name "").
    template <tensor T>
        requires(!state_dict<T>)
    void update(const T& param, std::optional<std::int64_t> step = std::nullopt) {
        const named_tensor_view view{{}, any_tensor_view::of(param)};
        update(std::span<const named_tensor_view>(&view, 1), step);
    }

    /// Updates with runtime-typed named tensors.
    void update(std::span<const named_tensor_view> params, std::optional<std::int64_t> step = std::nullopt) {
        apply("ema_average", params, 1.0 - ema_decay(options_, step));
    }

private:
    ema_options options_;
};

}  // namespace blend::merge
