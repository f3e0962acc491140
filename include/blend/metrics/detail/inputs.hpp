#pragma once
/// @file blend/metrics/detail/inputs.hpp
/// Private: the validated, non-owning views every metric reads its inputs through.
///
/// - `score_matrix<E>`: (N, C) scores over a tensor's storage; a (N,) or (N, 1) tensor is a binary
///   positive-class column exposed as the two columns [1 - p, p].
/// - `label_vector<L>`: integer labels (N,) or (N, 1), checked to lie in [0, C).
/// - `member_list<E>`: M members of one shape, from a range of tensors or one stacked (M, N[, C]) tensor.
/// - `real_vector<E>`: a (N,) or (N, 1) real-valued tensor (regression outputs, observations).
/// Nothing is copied; every value is read as double. Non-finite scores are errors naming the row/column.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <ranges>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace blend::metrics {

/// A tensor of float32 or float64 elements (predictions, scores, logits, regression outputs).
template <class T>
concept real_tensor = tensor<T> && std::floating_point<tensor_value_t<T>>;

/// A tensor of integer elements (class labels).
template <class T>
concept label_tensor = tensor<T> && std::integral<tensor_value_t<T>> && !std::same_as<tensor_value_t<T>, bool>;

/// Members given as a random-access range of tensors of one element type (`std::vector<xt::xtensor<...>>`).
template <class R>
concept tensor_range = std::ranges::random_access_range<const R> && std::ranges::sized_range<const R> &&
                       tensor<std::ranges::range_value_t<const R>>;

/// Members given either as a `tensor_range` or as one stacked tensor whose first axis is the member.
template <class M>
concept member_tensors = tensor_range<M> || tensor<M>;

namespace detail {

/// Element type of a `member_tensors` argument.
template <class M>
struct member_value {
    using type = tensor_value_t<M>;
};
template <tensor_range M>
struct member_value<M> {
    using type = tensor_value_t<std::ranges::range_value_t<const M>>;
};
template <class M>
using member_value_t = typename member_value<M>::type;

/// "(N,)", "(N, C)": a shape as it appears in messages.
[[nodiscard]] inline std::string shape_text(const shape_type& shape) {
    return fmt::format("({}{})", fmt::join(shape, ", "), shape.size() == 1 ? "," : "");
}

/// Throws `invalid_argument` naming `fn`, `what`, the position and the value when `x` is not finite.
inline void require_finite(double x, std::string_view fn, std::string_view what, std::size_t row,
                           std::size_t col) {
    if (!std::isfinite(x)) [[unlikely]] {
        throw invalid_argument{fmt::format("{}: {} at row {}, column {} is {}", fn, what, row, col, x)};
    }
}

/// (N, C) scores. `binary` means one stored column p per row, read as the two columns [1 - p, p].
template <std::floating_point E>
struct score_matrix {
    const E* data = nullptr;
    std::size_t rows = 0;
    std::size_t cols = 0;  ///< logical columns: 2 when binary
    bool binary = false;

    /// Score of row i, column c, as double.
    [[nodiscard]] double operator()(std::size_t i, std::size_t c) const noexcept {
        if (binary) {
            const auto p = static_cast<double>(data[i]);
            return c == 0 ? 1.0 - p : p;
        }
        return static_cast<double>(data[i * cols + c]);
    }
    /// The stored value of a binary row (its positive-class probability).
    [[nodiscard]] double positive(std::size_t i) const noexcept { return static_cast<double>(data[i]); }
    /// Number of stored values.
    [[nodiscard]] std::size_t stored() const noexcept { return binary ? rows : rows * cols; }
};

/// Rank and extents of a prediction-like shape: (N,) and (N, 1) are binary, (N, C) with C >= 2 is not.
template <std::floating_point E>
[[nodiscard]] score_matrix<E> score_shape(const E* data, const shape_type& shape, std::string_view fn,
                                          std::string_view what) {
    if (shape.size() == 1 || (shape.size() == 2 && shape[1] == 1)) return {data, shape[0], 2, true};
    if (shape.size() == 2 && shape[1] >= 2) return {data, shape[0], shape[1], false};
    throw shape_error{fmt::format("{}: {} have shape {}; expected (N,) binary or (N, C) with C >= 2", fn, what,
                                  shape_text(shape))};
}

/// Views `p` as scores, checking its shape and that every value is finite.
template <real_tensor P>
[[nodiscard]] score_matrix<tensor_value_t<P>> scores_of(const P& p, std::string_view fn,
                                                        std::string_view what = "predictions") {
    auto s = score_shape(tensor_data(p), tensor_shape(p), fn, what);
    const std::size_t width = s.binary ? 1 : s.cols;
    for (std::size_t j = 0; j < s.stored(); ++j) {
        require_finite(static_cast<double>(s.data[j]), fn, what, j / width, j % width);
    }
    return s;
}

/// Integer labels (N,), every one in [0, classes).
template <std::integral L>
struct label_vector {
    const L* data = nullptr;
    std::size_t size = 0;

    [[nodiscard]] std::int64_t operator[](std::size_t i) const noexcept { return static_cast<std::int64_t>(data[i]); }
};

/// Views `y` as labels: shape (rows,) or (rows, 1), each label in [0, classes). Throws `shape_error`
/// and `invalid_argument` naming `fn`, the row and the label.
template <label_tensor Y>
[[nodiscard]] label_vector<tensor_value_t<Y>> labels_of(const Y& y, std::size_t rows, std::size_t classes,
                                                         std::string_view fn) {
    const shape_type shape = tensor_shape(y);
    if (!(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1)) || shape[0] != rows) {
        throw shape_error{fmt::format("{}: labels have shape {} but the predictions have {} rows", fn,
                                      shape_text(shape), rows)};
    }
    const label_vector<tensor_value_t<Y>> labels{tensor_data(y), rows};
    for (std::size_t i = 0; i < rows; ++i) {
        const auto v = labels.data[i];
        if (std::cmp_less(v, 0) || !std::cmp_less(v, classes)) [[unlikely]] {
            throw invalid_argument{fmt::format("{}: label {} at row {} is outside [0, {})", fn, v, i, classes)};
        }
    }
    return labels;
}

/// Throws `invalid_argument` naming `fn` when there are no rows.
inline void require_rows(std::size_t rows, std::string_view fn) {
    if (rows == 0) throw invalid_argument{fmt::format("{}: no rows", fn)};
}

/// A real-valued column (N,) or (N, 1), finite.
template <class E>
struct real_vector {
    const E* data = nullptr;
    std::size_t size = 0;

    [[nodiscard]] double operator[](std::size_t i) const noexcept { return static_cast<double>(data[i]); }
};

/// Views `t` as a finite (N,) or (N, 1) column of any arithmetic element type (regression targets may be
/// integers). Throws `shape_error` / `invalid_argument` naming `fn` and `what`.
template <tensor T>
    requires std::is_arithmetic_v<tensor_value_t<T>>
[[nodiscard]] real_vector<tensor_value_t<T>> column_of(const T& t, std::string_view fn, std::string_view what) {
    const shape_type shape = tensor_shape(t);
    if (!(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1))) {
        throw shape_error{fmt::format("{}: {} have shape {}; expected (N,) or (N, 1)", fn, what, shape_text(shape))};
    }
    const real_vector<tensor_value_t<T>> v{tensor_data(t), shape[0]};
    for (std::size_t i = 0; i < v.size; ++i) require_finite(v[i], fn, what, i, 0);
    return v;
}

/// M members of one shape: `data[m]` points at member m's storage; `shape` is one member's shape
/// ((N,), (N, 1) or (N, C)).
template <class E>
struct member_list {
    std::vector<const E*> data;
    shape_type shape;

    [[nodiscard]] std::size_t size() const noexcept { return data.size(); }
    [[nodiscard]] std::size_t member_elements() const noexcept { return shape_size(shape); }
};

/// Views `members` — a range of same-shape tensors, or one tensor whose first axis indexes the members
/// ((M, N) or (M, N, C)) — without copying. Throws `invalid_argument` for no members and `shape_error`
/// naming the member whose shape differs from member 0's.
template <member_tensors M>
[[nodiscard]] member_list<member_value_t<M>> members_of(const M& members, std::string_view fn) {
    using E = member_value_t<M>;
    member_list<E> out;
    if constexpr (tensor_range<M>) {
        const std::size_t count = std::ranges::size(members);
        if (count == 0) throw invalid_argument{fmt::format("{}: no members", fn)};
        out.shape = tensor_shape(members[0]);
        out.data.reserve(count);
        for (std::size_t m = 0; m < count; ++m) {
            const shape_type s = tensor_shape(members[m]);
            if (s != out.shape) {
                throw shape_error{fmt::format("{}: member {} has shape {} but member 0 has {}", fn, m, shape_text(s),
                                              shape_text(out.shape))};
            }
            out.data.push_back(tensor_data(members[m]));
        }
    } else {
        const shape_type s = tensor_shape(members);
        if (s.size() < 2) {
            throw shape_error{
                fmt::format("{}: stacked members have shape {}; expected (M, N) or (M, N, C)", fn, shape_text(s))};
        }
        if (s[0] == 0) throw invalid_argument{fmt::format("{}: no members", fn)};
        out.shape.assign(s.begin() + 1, s.end());
        const std::size_t stride = shape_size(out.shape);
        for (std::size_t m = 0; m < s[0]; ++m) out.data.push_back(tensor_data(members) + m * stride);
    }
    return out;
}

}  // namespace detail
}  // namespace blend::metrics
