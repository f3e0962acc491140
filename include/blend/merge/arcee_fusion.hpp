#pragma once
/// @file blend/merge/arcee_fusion.hpp
/// Arcee Fusion — METHODS.md §1 "arcee_fusion", mergekit 0.1.5 `arcee_fusion.py`.
///
///   a = B (the base), b = X (the other model); rows along the last axis (1-D: one row; 0-D: one entry)
///   p = softmax_row(b) + 1e-8,  q = softmax_row(a) + 1e-8
///   KL_row = sum_row p log(p / q)                          (one value per row)
///   importance = |b - a| * KL_row
///   threshold = Q(0.5) + 1.5 (Q(0.75) - Q(0.25)),  Q(q) = s[floor(q (n - 1))], s = the n importance
///               scores sorted ascending (all of them when numel <= 1,000,000, else a sample of 1,000,000)
///   result = b where importance >= threshold, else a
///
/// The sample (tensors above 10^6 elements only) is drawn with replacement, as mergekit 0.1.5, but from
/// blend's seeded generator: sample k is entry floor(u_k * numel), u_k = `random_stream{seed,
/// stream_key(tensor_name, 1)}.uniform(k)` (1 = the other model's input index). mergekit draws it with
/// `torch.randint` from torch's global generator (0.1.4: `torch.randperm`, without replacement), so on
/// tensors above 10^6 elements the two thresholds differ by sampling noise; below, they agree.
///
/// Reference: Arcee AI's "Arcee Fusion" as implemented by mergekit 0.1.5 (`arcee_fusion.py`).
/// Math: softmax, KL and importance in float64 from the float32 (float64) inputs; the result is one of
/// the two inputs, converted to the output dtype. Deliberate differences from mergekit: mergekit
/// computes softmax and KL in the storage dtype (bf16 on bf16 models: ~10 % of the mask differs from
/// an exact computation) and returns float32 for 16-bit inputs; blend writes the output dtype.

#include <blend/core/error.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/elementwise.hpp>
#include <blend/merge/detail/rows.hpp>
#include <blend/merge/detail/typed.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

namespace blend::merge {

/// Options of `arcee_fusion`.
struct arcee_fusion_options {
    /// Seed of the quantile sample (tensors above 10^6 elements only; default 0).
    std::uint64_t seed = 0;
    /// The tensor's name: keys the quantile sample's random stream (see the file comment).
    std::string_view tensor_name{};
};

namespace detail {

/// Sample size of arcee_fusion's quantiles (mergekit's `_QUANTILE_SAMPLE_SIZE`).
inline constexpr std::size_t arcee_sample_size = 1'000'000;

/// Flat index of sample k of a tensor of `total` elements: floor(u_k * total), u_k uniform on [0, 1).
[[nodiscard]] inline std::size_t arcee_sample_index(const random_stream& rng, std::size_t k, std::size_t total) noexcept {
    const auto index = static_cast<std::size_t>(rng.uniform(k) * static_cast<double>(total));
    return std::min(index, total - 1);
}

/// threshold = Q(0.5) + 1.5 (Q(0.75) - Q(0.25)) with Q(q) = sorted[floor(q (n - 1))]; reorders `scores`.
[[nodiscard]] inline double arcee_threshold(std::vector<double>& scores) {
    const std::size_t n = scores.size();
    const std::size_t k1 = (n - 1) / 4;
    const std::size_t k2 = (n - 1) / 2;
    const std::size_t k3 = 3 * (n - 1) / 4;
    const auto begin = scores.begin();
    std::nth_element(begin, begin + static_cast<std::ptrdiff_t>(k2), scores.end());
    const double median = scores[k2];
    std::nth_element(begin, begin + static_cast<std::ptrdiff_t>(k1), begin + static_cast<std::ptrdiff_t>(k2));
    const double q1 = scores[k1];
    std::nth_element(begin + static_cast<std::ptrdiff_t>(k2), begin + static_cast<std::ptrdiff_t>(k3), scores.end());
    const double q3 = scores[k3];
    return median + 1.5 * (q3 - q1);
}

}  // namespace detail

/// KL_row of every row along the last axis, in float64 (`inputs` = {base, other}; the importance of an
/// entry is |b - a| * KL_row): exposed for tests and diagnostics. Throws as `arcee_fusion_into`.
[[nodiscard]] inline std::vector<double> arcee_fusion_row_kl(std::span<const any_tensor_view> inputs) {
    detail::require_input_count("arcee_fusion", inputs.size(), 2, 2);
    detail::require_same_shapes("arcee_fusion", inputs, inputs.front().shape);
    if (inputs.front().size() == 0) return {};
    const detail::vector_layout rows = detail::row_layout(inputs.front().shape);
    // Row maxima of b (output 0) and a (output 1).
    const std::vector<double> maxima = detail::reduce_vectors(
        inputs, rows, 2,
        [&]<class M>(const detail::vector_block<M>& c, std::span<double> m) {
            double mb = -std::numeric_limits<double>::infinity();
            double ma = mb;
            for (std::size_t e = 0; e < c.inputs[0].size(); ++e) {
                mb = std::max(mb, static_cast<double>(c.inputs[1][e]));
                ma = std::max(ma, static_cast<double>(c.inputs[0][e]));
            }
            m[0] = mb;
            m[1] = ma;
        },
        [](std::span<double> acc, std::span<const double> part) {
            acc[0] = std::max(acc[0], part[0]);
            acc[1] = std::max(acc[1], part[1]);
        });
    // Row sums of exp(b - max b) and exp(a - max a).
    const std::vector<double> sums =
        detail::reduce_vectors(inputs, rows, 2, [&]<class M>(const detail::vector_block<M>& c, std::span<double> s) {
            const std::size_t row = c.first;
            for (std::size_t e = 0; e < c.inputs[0].size(); ++e) {
                s[0] += std::exp(static_cast<double>(c.inputs[1][e]) - maxima[2 * row]);
                s[1] += std::exp(static_cast<double>(c.inputs[0][e]) - maxima[2 * row + 1]);
            }
        });
    // Row KL = sum p log(p / q).
    return detail::reduce_vectors(inputs, rows, 1, [&]<class M>(const detail::vector_block<M>& c, std::span<double> kl) {
        const std::size_t row = c.first;
        for (std::size_t e = 0; e < c.inputs[0].size(); ++e) {
            const double p = std::exp(static_cast<double>(c.inputs[1][e]) - maxima[2 * row]) / sums[2 * row] + 1e-8;
            const double q = std::exp(static_cast<double>(c.inputs[0][e]) - maxima[2 * row + 1]) / sums[2 * row + 1] + 1e-8;
            kl[0] += p * std::log(p / q);
        }
    });
}

/// Arcee Fusion on runtime-typed tensors (the per-tensor function): `inputs` = {base, other}; writes
/// `out` (any dtype). See the file comment for the formula. Throws `invalid_argument` unless there are
/// exactly 2 inputs, `shape_error` when shapes differ.
inline void arcee_fusion_into(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out,
                              const arcee_fusion_options& options = {}) {
    detail::require_input_count("arcee_fusion", inputs.size(), 2, 2);
    detail::require_same_shapes("arcee_fusion", inputs, out.shape);
    const std::size_t total = out.size();
    if (total == 0) return;
    const std::size_t length = detail::row_layout(out.shape).length;
    const std::vector<double> kl = arcee_fusion_row_kl(inputs);
    auto importance = [&](double a, double b, std::size_t index) { return std::abs(b - a) * kl[index / length]; };

    // The importance scores the quantiles are taken from: all of them, or a sample with replacement.
    std::vector<double> scores;
    if (total <= detail::arcee_sample_size) {
        scores.resize(total);
        const any_mutable_tensor_view all{dtype::f64, out.shape,
                                          std::as_writable_bytes(std::span(scores))};
        detail::elementwise("arcee_fusion", inputs, all, [&]<class M>(const detail::chunk<M>& c) {
            for (std::size_t e = 0; e < c.out.size(); ++e) {
                c.out[e] = importance(static_cast<double>(c.inputs[0][e]), static_cast<double>(c.inputs[1][e]), c.offset + e);
            }
        });
    } else {
        scores.resize(detail::arcee_sample_size);
        const random_stream rng{options.seed, stream_key(options.tensor_name, 1)};
        parallel_for(scores.size(), detail::chunk_elements, [&](std::size_t begin, std::size_t end) {
            for (std::size_t k = begin; k < end; ++k) {
                const std::size_t index = detail::arcee_sample_index(rng, k, total);
                double ab[2];
                for (std::size_t i = 0; i < 2; ++i) {
                    const std::size_t width = size_of(inputs[i].type);
                    convert_bytes(inputs[i].type, inputs[i].bytes.data() + index * width, dtype::f64,
                                  reinterpret_cast<std::byte*>(&ab[i]), 1);
                }
                scores[k] = importance(ab[0], ab[1], index);
            }
        });
    }
    const double threshold = detail::arcee_threshold(scores);

    detail::elementwise("arcee_fusion", inputs, out, [&]<class M>(const detail::chunk<M>& c) {
        for (std::size_t e = 0; e < c.out.size(); ++e) {
            const double a = static_cast<double>(c.inputs[0][e]);
            const double b = static_cast<double>(c.inputs[1][e]);
            c.out[e] = importance(a, b, c.offset + e) >= threshold ? b : a;
        }
    });
}

/// Arcee Fusion of two typed tensors of one element type and shape; returns an `xt::xarray` of that
/// type and shape. See `arcee_fusion_into`.
template <tensor T>
[[nodiscard]] auto arcee_fusion(const T& base, const T& other, const arcee_fusion_options& options = {}) {
    return detail::run_typed(base, std::span<const T>(&other, 1),
                             [&](std::span<const any_tensor_view> views, const any_mutable_tensor_view& out) {
                                 arcee_fusion_into(views, out, options);
                             });
}

}  // namespace blend::merge
