#pragma once
/// @file blend/merge/detail/reduce.hpp
/// The one reduction core of the merge methods: sums over all elements of runtime-typed tensors
/// (dot products, squared norms, sums of magnitudes) in float64 accumulators (METHODS.md §1), chunked
/// exactly like the elementwise core and combined in chunk order, so every result is bitwise identical
/// for any thread count.

#include <blend/core/convert.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/elementwise.hpp>

#include <array>
#include <span>
#include <vector>

namespace blend::merge::detail {

/// sum over chunks of `term(chunk<M>)`, where `term` returns the chunk's float64 partial sum and sees
/// each input's chunk converted to the math type M (as in `elementwise`). All inputs must share one
/// element count. Partial sums are combined left to right in chunk order.
template <class Term>
[[nodiscard]] double reduce(std::span<const any_tensor_view> inputs, Term&& term) {
    BLEND_ASSERT(!inputs.empty());
    const std::size_t total = inputs.front().size();
    for (const auto& input : inputs) BLEND_ASSERT(input.size() == total, "reduce: element counts differ");
    auto run = [&]<class M>(std::type_identity<M>) {
        return parallel_reduce(
            total, chunk_elements, 0.0,
            [&](std::size_t begin, std::size_t end) {
                const auto views = load_chunk<M>(inputs, begin, end - begin);
                return static_cast<double>(term(chunk<M>{views, {}, begin}));
            },
            [](double a, double b) { return a + b; });
    };
    return needs_double(inputs, dtype::f32) ? run(std::type_identity<double>{}) : run(std::type_identity<float>{});
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
