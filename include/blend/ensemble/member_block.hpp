#pragma once
/// @file blend/ensemble/member_block.hpp
/// `member_block`: M members' predictions of the same (N, C) shape, as non-owning float32/float64
/// views — the one input every combinator, the calibrators and the CLI work on. A (N,) member is a
/// single-column member (C = 1, `single_column()`), as is a (N, 1) one: a binary positive-class
/// probability or logit, or a regression output (CLI.md, blend-ensemble inputs).
///
/// Members stay in their own precision; the kernels read them as float64 (METHODS.md §2: all
/// ensembling math is float64). Build a block from any range of blend `tensor`s with
/// `make_member_block` (no copy), or from `.npy` files with `blend/ensemble/predictions.hpp`.

#include <blend/core/concepts.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <concepts>
#include <cstddef>
#include <ranges>
#include <span>
#include <vector>

namespace blend::ensemble {

/// One member's predictions: N x C contiguous row-major elements of `type` (f32 or f64), aligned.
struct member_ref {
    dtype type = dtype::f64;
    const void* data = nullptr;
};

/// M members of one shape. `output_shape()` is (N,) for single-column members, (N, C) otherwise.
struct member_block {
    std::size_t rows = 0;
    std::size_t columns = 1;
    /// True when the members were given as (N,) (or (N, 1)): outputs are then (N,).
    bool vector_input = false;
    std::vector<member_ref> members;

    [[nodiscard]] std::size_t size() const noexcept { return members.size(); }
    [[nodiscard]] bool single_column() const noexcept { return columns == 1; }
    [[nodiscard]] shape_type output_shape() const {
        return single_column() ? shape_type{rows} : shape_type{rows, columns};
    }
};

/// Calls `f(p)` with member `m`'s data as `const float*` or `const double*`.
template <class F>
decltype(auto) with_member_data(const member_ref& m, F&& f) {
    if (m.type == dtype::f32) return f(static_cast<const float*>(m.data));
    BLEND_ASSERT(m.type == dtype::f64, "members are float32 or float64");
    return f(static_cast<const double*>(m.data));
}

/// Views a range of float32/float64 tensors — each (N, C), (N,) or (N, 1), all of one shape — as a
/// `member_block`, without copying (the tensors must outlive the block). Throws `invalid_argument`
/// for no members and `shape_error` naming the member index when shapes differ or a member has more
/// than two dimensions.
template <std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>> &&
             (std::same_as<tensor_value_t<std::ranges::range_value_t<R>>, float> ||
              std::same_as<tensor_value_t<std::ranges::range_value_t<R>>, double>)
[[nodiscard]] member_block make_member_block(const R& tensors) {
    using E = tensor_value_t<std::ranges::range_value_t<R>>;
    const std::size_t count = std::ranges::size(tensors);
    if (count == 0) throw invalid_argument{"ensemble: no members"};
    const shape_type first = tensor_shape(tensors[0]);
    if (first.empty() || first.size() > 2)
        throw shape_error{fmt::format("ensemble: member 0 has shape [{}]; expected (N,) or (N, C)", fmt::join(first, ", "))};
    member_block block{.rows = first[0], .columns = first.size() == 2 ? first[1] : 1,
                       .vector_input = first.size() == 1 || first[1] == 1, .members = {}};
    block.members.reserve(count);
    for (std::size_t m = 0; m < count; ++m) {
        const shape_type s = tensor_shape(tensors[m]);
        if (s != first)
            throw shape_error{fmt::format("ensemble: member {} has shape [{}] but member 0 has [{}]", m,
                                          fmt::join(s, ", "), fmt::join(first, ", "))};
        block.members.push_back({dtype_of<E>, static_cast<const void*>(tensor_data(tensors[m]))});
    }
    return block;
}

}  // namespace blend::ensemble
