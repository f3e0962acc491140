#pragma once
/// @file blend/core/finite.hpp
/// Finiteness tests over float spans, branch-free so they vectorize (SSE2 integer ops): the merge
/// loaders run them on every chunk they convert, where the values are already in L1 (METHODS.md §1:
/// NaN or Inf in an input tensor is an error naming the tensor and model).

#include <blend/core/error.hpp>

#include <fmt/format.h>

#include <bit>
#include <concepts>
#include <cstdint>
#include <span>
#include <type_traits>

namespace blend {

namespace detail {

/// The unsigned integer of T's width and the IEEE-754 exponent field of T.
template <std::floating_point T>
struct float_bits {
    using type = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    static constexpr type exponent = static_cast<type>(sizeof(T) == 4 ? 0x7f800000ull : 0x7ff0000000000000ull);
    static constexpr type exponent_lsb = exponent & (~exponent + 1);  // lowest exponent bit
    static constexpr type sign = type{1} << (8 * sizeof(T) - 1);
};

/// The finiteness carry of one float's bits: OR these over many values and test the sign bit
/// (`carries_non_finite`). A value is non-finite exactly when its exponent field is all ones; adding
/// the lowest exponent bit then carries into the sign bit, which no finite value's does.
template <std::floating_point T>
[[nodiscard]] constexpr typename float_bits<T>::type finite_carry(typename float_bits<T>::type bits) noexcept {
    return (bits & float_bits<T>::exponent) + float_bits<T>::exponent_lsb;
}

/// True when an OR of `finite_carry` values saw a non-finite value.
template <std::floating_point T>
[[nodiscard]] constexpr bool carries_non_finite(typename float_bits<T>::type carry) noexcept {
    return (carry & float_bits<T>::sign) != 0;
}

}  // namespace detail

/// True when no value is NaN or ±Inf: an and, an add and an or per element (`detail::finite_carry`),
/// with no branch.
template <std::floating_point T>
    requires(sizeof(T) == 4 || sizeof(T) == 8)
[[nodiscard]] bool all_finite(std::span<const T> values) noexcept {
    typename detail::float_bits<T>::type carry = 0;
    for (const T v : values) carry |= detail::finite_carry<T>(std::bit_cast<typename detail::float_bits<T>::type>(v));
    return !detail::carries_non_finite<T>(carry);
}

/// Input number `input` of a computation holds a NaN or ±Inf at flat element `element`. Thrown by the
/// merge kernels (METHODS.md §1); the streaming engine turns it into an `io_error` naming the model file
/// and tensor.
class non_finite_input : public invalid_argument {
public:
    non_finite_input(std::size_t input, std::size_t element, double value)
        : invalid_argument{fmt::format("input {} holds {} at element {} (NaN and Inf inputs are not merged)", input,
                                       value, element)},
          input_{input},
          element_{element},
          value_{value} {}
    [[nodiscard]] std::size_t input() const noexcept { return input_; }
    [[nodiscard]] std::size_t element() const noexcept { return element_; }
    [[nodiscard]] double value() const noexcept { return value_; }

private:
    std::size_t input_;
    std::size_t element_;
    double value_;
};

/// Index of the first NaN or ±Inf in `values`, or `values.size()` when all are finite.
template <std::floating_point T>
[[nodiscard]] std::size_t first_non_finite(std::span<const T> values) noexcept {
    for (std::size_t k = 0; k < values.size(); ++k) {
        if (!(values[k] - values[k] == T{0})) return k;  // inf - inf and NaN - NaN are NaN
    }
    return values.size();
}

namespace detail {

/// The throw of `require_finite`, out of line: hot loops (and the per-instruction-set copies of
/// core/isa.hpp, which inline everything they can) keep only the call.
[[noreturn, gnu::noinline, gnu::cold]] inline void throw_non_finite(std::size_t input, std::size_t element, double value) {
    throw non_finite_input{input, element, value};
}

}  // namespace detail

/// Throws `non_finite_input{input, first + k, values[k]}` for the first non-finite `values[k]`; `first` is
/// the flat index of `values[0]` in input number `input`.
template <std::floating_point T>
void require_finite(std::span<const T> values, std::size_t input, std::size_t first) {
    if (all_finite(values)) [[likely]]
        return;
    const std::size_t k = first_non_finite(values);
    detail::throw_non_finite(input, first + k, static_cast<double>(values[k]));
}

}  // namespace blend
