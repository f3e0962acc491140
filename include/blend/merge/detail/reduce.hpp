#pragma once
/// @file blend/merge/detail/reduce.hpp
/// Whole-tensor sums (dot products, squared norms, sums of magnitudes, several at once) in float64
/// accumulators (METHODS.md §1): the flattened-tensor case of the per-vector reduction core
/// `reduce_vectors` (rows.hpp). Chunked exactly like the elementwise core and combined in chunk order,
/// so every result is bitwise identical for any thread count.

#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/elementwise.hpp>
#include <blend/merge/detail/rows.hpp>

#include <array>
#include <span>
#include <vector>

namespace blend::merge::detail {

/// `outputs` sums over all elements of same-size `inputs` in one pass: `term(chunk<M>, sums)` adds the
/// chunk's contributions to `sums` (a zeroed span of `outputs` doubles), seeing each input's chunk
/// converted to the math type M (as in `elementwise`). The per-chunk partials are added left to right
/// in chunk order.
template <class Term>
[[nodiscard]] std::vector<double> reduce(std::span<const any_tensor_view> inputs, std::size_t outputs,
                                         Term&& term) {
    BLEND_ASSERT(!inputs.empty());
    return reduce_vectors(inputs, flat_layout(inputs.front().size()), outputs,
                          [&]<class M>(const vector_block<M>& b, std::span<double> sums) {
                              term(chunk<M>{b.inputs, {}, b.start}, sums);
                          });
}

/// sum over chunks of `term(chunk<M>)`, where `term` returns the chunk's float64 partial sum: the
/// one-output form of `reduce` (the first chunk's partial is taken as is, then the others are added).
template <class Term>
[[nodiscard]] double reduce(std::span<const any_tensor_view> inputs, Term&& term) {
    return reduce(inputs, 1,
                  [&]<class M>(const chunk<M>& c, std::span<double> sum) {
                      sum[0] = static_cast<double>(term(c));
                  })
        .front();
}

/// sum_j a[j] * b[j] in float64.
[[nodiscard]] inline double dot(const any_tensor_view& a, const any_tensor_view& b) {
    const std::array<any_tensor_view, 2> pair{a, b};
    return reduce(pair, [](const auto& c) {
        double s = 0.0;
        const auto& x = c.inputs[0];
        const auto& y = c.inputs[1];
        for (std::size_t j = 0; j < x.size(); ++j) s += static_cast<double>(x[j]) * static_cast<double>(y[j]);
        return s;
    });
}

/// sum_j a[j]^2 in float64.
[[nodiscard]] inline double squared_norm(const any_tensor_view& a) {
    const std::array<any_tensor_view, 1> one{a};
    return reduce(one, [](const auto& c) {
        double s = 0.0;
        for (const auto v : c.inputs[0]) s += static_cast<double>(v) * static_cast<double>(v);
        return s;
    });
}

}  // namespace blend::merge::detail
