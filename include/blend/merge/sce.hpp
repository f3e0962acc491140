#pragma once
/// @file blend/merge/sce.hpp
/// SCE, Select-Calculate-Erase (FuseChat 2.0, Wan et al. 2024; mergekit's `sce`) — METHODS.md §1
/// "sce" and benchmarks/peers/MERGEKIT_NOTES.md §8. With base B, models X_i and tv_i = X_i - B:
///  1. select (only when select_topk < 1): var = population variance over the models per entry;
///     select_topk <= 0 → every entry zeroed; else k = floor(count_nonzero(var) select_topk), and only
///     the k entries of largest var are kept (ties: lowest flat index first; k = 0 keeps none);
///  2. calculate: w_i = mean(tv_i^2) over the tensor after selection; w_i = 1/N if |sum w| < 1e-6
///     (absolute, as mergekit), else w_i / sum w;
///  3. erase: TIES `sum` sign election on the unweighted tv_i: e_i = (sign(tv_i) == s);
///  4. result = B + sum_i w_i e_i tv_i / max(sum_i w_i e_i, 1e-6).
/// Math: task vectors in float32 (float64 for float64 storage), variance, mean squares and sums in
/// float64, one rounding. Differences from mergekit 0.1.5: it computes in the storage dtype and its
/// top-k tie order is unspecified (torch.topk); blend ranks exactly with the stable tie rule.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/gta.hpp>
#include <blend/merge/detail/select.hpp>
#include <blend/merge/detail/typed.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <ranges>
#include <span>
#include <vector>

namespace blend::merge {

/// Options of `sce`.
struct sce_options {
    /// Fraction of the entries with nonzero variance kept by the select step (the paper's tau; 1 = all).
    double select_topk = 1.0;
    /// Names the tensor in errors.
    std::string_view tensor_name{};
};

namespace detail {

/// Variance over the models of entry j of a chunk of task vectors tv[i * len + j].
[[nodiscard]] inline double variance_at(const double* tv, std::size_t models, std::size_t len, std::size_t j) noexcept {
    double mean = 0.0;
    for (std::size_t i = 0; i < models; ++i) mean += tv[i * len + j];
    mean /= static_cast<double>(models);
    double var = 0.0;
    for (std::size_t i = 0; i < models; ++i) {
        const double e = tv[i * len + j] - mean;
        var += e * e;
    }
    return var / static_cast<double>(models);
}

template <class M>
void run_sce(const sce_options& options, std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out) {
    const std::size_t n = out.size();
    const std::size_t models = inputs.size() - 1;
    // Task vectors of a range, tv[i * len + j] in float64 (from the M difference).
    const auto task_vectors = [&](std::size_t begin, std::size_t len, std::vector<double>& tv) {
        thread_local std::vector<M> b;
        thread_local std::vector<M> x;
        b.resize(len);
        x.resize(len);
        tv.resize(models * len);
        load_values<M>(inputs[0], 0, begin, len, b.data());
        for (std::size_t i = 0; i < models; ++i) {
            load_values<M>(inputs[1 + i], 1 + i, begin, len, x.data());
            for (std::size_t j = 0; j < len; ++j) tv[i * len + j] = static_cast<double>(static_cast<M>(x[j] - b[j]));
        }
    };
    // 1. Select: a top-k cut on the variance's float64 bit pattern.
    rank_cut<std::uint64_t> keep = rank_cut<std::uint64_t>::all();
    if (options.select_topk < 1 && models > 0) {
        std::size_t k = 0;
        if (options.select_topk > 0) {
            const std::size_t nonzero = parallel_reduce(
                n, chunk_elements, std::size_t{0},
                [&](std::size_t begin, std::size_t end) {
                    thread_local std::vector<double> tv;
                    task_vectors(begin, end - begin, tv);
                    std::size_t count = 0;
                    for (std::size_t j = 0; j < end - begin; ++j) count += variance_at(tv.data(), models, end - begin, j) != 0.0;
                    return count;
                },
                [](std::size_t a, std::size_t b) { return a + b; });
            k = top_count(options.select_topk, nonzero);
        }
        const select_query query{0, k};
        keep = select_top<std::uint64_t>(n, 1, std::span<const select_query>(&query, 1),
                                         [&](std::size_t begin, std::size_t end, std::span<std::uint64_t> dst) {
                                             thread_local std::vector<double> tv;
                                             task_vectors(begin, end - begin, tv);
                                             for (std::size_t j = 0; j < end - begin; ++j) {
                                                 dst[j] = magnitude_bits(variance_at(tv.data(), models, end - begin, j));
                                             }
                                         })
                   .front();
    }
    // 2. Calculate: mean squares of the selected task vectors, one float64 reduction per model.
    std::vector<double> weights(models, 0.0);
    for (std::size_t i = 0; i < models && n > 0; ++i) {
        const double squares = parallel_reduce(
            n, chunk_elements, 0.0,
            [&](std::size_t begin, std::size_t end) {
                const std::size_t len = end - begin;
                thread_local std::vector<double> tv;
                task_vectors(begin, len, tv);
                double s = 0.0;
                for (std::size_t j = 0; j < len; ++j) {
                    const double v = tv[i * len + j];
                    if (keep.contains(magnitude_bits(variance_at(tv.data(), models, len, j)), begin + j)) s += v * v;
                }
                return s;
            },
            [](double a, double b) { return a + b; });
        weights[i] = squares / static_cast<double>(n);
    }
    double total = 0.0;
    for (double w : weights) total += w;
    for (double& w : weights) w = std::abs(total) < 1e-6 ? 1.0 / static_cast<double>(models) : w / total;
    // 3-4. Erase and mix on the elementwise core.
    elementwise("sce", inputs, out, [&]<class C>(const C& any_chunk) {
        if constexpr (std::is_same_v<C, chunk<M>>) {
            const chunk<M>& c = any_chunk;
            const std::size_t len = c.out.size();
            const M* b = c.inputs[0].data();
            thread_local std::vector<double> tv;
            tv.resize(models * len);
            for (std::size_t i = 0; i < models; ++i) {
                const M* x = c.inputs[1 + i].data();
                for (std::size_t j = 0; j < len; ++j) tv[i * len + j] = static_cast<double>(static_cast<M>(x[j] - b[j]));
            }
            thread_local std::vector<double> mixed, divisor;
            mixed.resize(len);
            divisor.resize(len);
            // Erase: election on the unweighted task vectors; the mix weights them by w_i.
            elect_and_mix(tv.data(), models, len, gta_consensus::sum, weights, weights, mixed.data(), divisor.data());
            for (std::size_t j = 0; j < len; ++j) {
                const bool kept = models > 0 && keep.contains(magnitude_bits(variance_at(tv.data(), models, len, j)), c.offset + j);
                const double merged = kept ? mixed[j] / std::max(divisor[j], 1e-6) : 0.0;
                c.out[j] = static_cast<double>(b[j]) + merged;
            }
        }
    });
}

}  // namespace detail

/// SCE on runtime-typed tensors (the streaming engine's per-tensor function); see the file comment.
/// Throws `invalid_argument` for a NaN select_topk, `shape_error` when a model or `out` differs in
/// shape from the base.
inline void sce_into(const any_tensor_view& base, std::span<const any_tensor_view> models, const any_mutable_tensor_view& out,
                     const sce_options& options = {}) {
    if (std::isnan(options.select_topk)) throw invalid_argument{"sce: select_topk is NaN"};
    for (std::size_t i = 0; i < models.size(); ++i) {
        if (models[i].shape != base.shape) {
            throw shape_error{fmt::format("sce: tensor '{}': model {} has shape [{}], the base [{}]", options.tensor_name, i,
                                          fmt::join(models[i].shape, ", "), fmt::join(base.shape, ", "))};
        }
    }
    std::vector<any_tensor_view> inputs{base};
    inputs.insert(inputs.end(), models.begin(), models.end());
    if (detail::needs_double(inputs, out.type)) {
        detail::run_sce<double>(options, inputs, out);
    } else {
        detail::run_sce<float>(options, inputs, out);
    }
}

/// SCE on in-memory tensors; returns an `xt::xarray` of the base's element type and shape.
template <tensor Base, std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] auto sce(const Base& base, const R& models, const sce_options& options = {}) {
    return detail::run_typed(base, models, [&](std::span<const any_tensor_view> views, const any_mutable_tensor_view& out) {
        sce_into(views.front(), views.subspan(1), out, options);
    });
}

}  // namespace blend::merge
