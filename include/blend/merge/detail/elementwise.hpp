#pragma once
/// @file blend/merge/detail/elementwise.hpp
/// The one elementwise core every per-element merge runs on. Inputs and the output are runtime-typed
/// views (`any_tensor_view`: straight from a memory-mapped file, or wrapping an in-memory tensor), of
/// any storage dtype and any alignment. The core walks them in chunks of `chunk_elements`: each input
/// chunk is converted to the math type M (float32, or float64 when any tensor is float64 — METHODS.md
/// §1), the method's `body` computes the chunk of results into a float64 buffer, and that buffer is
/// rounded once to the output dtype. Each chunk runs compiled for the CPU's widest vector instructions
/// (`with_isa`, core/isa.hpp; the same numbers at every level). Chunks are spread over the thread pool; their bounds depend only on
/// the element count, so the result is bitwise identical for any thread count.

#include <blend/core/concepts.hpp>
#include <blend/core/convert.hpp>
#include <blend/core/error.hpp>
#include <blend/core/finite.hpp>
#include <blend/core/isa.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/tensor_view.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <span>
#include <string_view>
#include <vector>

namespace blend::merge::detail {

/// Elements per chunk: the per-input buffers stay in L1/L2 and a chunk is a few microseconds of work.
inline constexpr std::size_t chunk_elements = 4096;

/// True when merge math for these tensors runs in float64 (some tensor is stored as float64).
[[nodiscard]] inline bool needs_double(std::span<const any_tensor_view> inputs, dtype out) noexcept {
    if (out == dtype::f64) return true;
    for (const auto& input : inputs) {
        if (input.type == dtype::f64) return true;
    }
    return false;
}

/// Runs `run(std::type_identity<M>)` with M = double when merge math for these tensors runs in float64
/// (`needs_double(inputs, out)`), else M = float: the one math-type dispatch of the cores.
template <class Run>
decltype(auto) with_math_type(std::span<const any_tensor_view> inputs, dtype out, Run&& run) {
    if (needs_double(inputs, out)) return run(std::type_identity<double>{});
    return run(std::type_identity<float>{});
}

/// Throws `shape_error` naming `method` and the input when an input's shape is not `shape`.
inline void require_same_shapes(std::string_view method, std::span<const any_tensor_view> inputs,
                                const shape_type& shape) {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].shape != shape) {
            throw shape_error{fmt::format("{}: input {} has shape [{}], expected [{}]", method, i,
                                          fmt::join(inputs[i].shape, ", "), fmt::join(shape, ", "))};
        }
    }
}

/// Throws `invalid_argument` unless there are between `min_inputs` and `max_inputs` inputs (the base
/// included), naming the method.
inline void require_input_count(std::string_view method, std::size_t count, std::size_t min_inputs,
                                std::size_t max_inputs) {
    if (count < min_inputs || count > max_inputs) {
        if (min_inputs == max_inputs) {
            throw invalid_argument{fmt::format("{}: needs exactly {} input tensors (the base first), got {}",
                                               method, min_inputs, count)};
        }
        throw invalid_argument{fmt::format("{}: needs at least {} input tensors (the base first), got {}",
                                           method, min_inputs, count)};
    }
}

/// One chunk as the body sees it: `inputs[i]` is input i's chunk in the math type M, `out` the float64
/// results to fill (zero-initialised), `offset` the chunk's first flat index.
template <class M>
struct chunk {
    std::span<const std::span<const M>> inputs;
    std::span<double> out;
    std::size_t offset;
};

/// How a tensor splits into vectors: `outer x length x inner`, vector (o, i) being elements
/// (o * length + k) * inner + i, k < length (see rows.hpp, the per-vector core).
struct vector_layout {
    std::size_t outer = 1;
    std::size_t length = 0;
    std::size_t inner = 1;
    /// Number of vectors, outer * inner.
    [[nodiscard]] std::size_t count() const noexcept { return outer * inner; }
};

/// The whole tensor as one vector of `size` elements.
[[nodiscard]] inline vector_layout flat_layout(std::size_t size) noexcept { return {1, size, 1}; }

/// Vectors along `axis` of `shape` (a 0-D tensor is one vector of one element).
[[nodiscard]] inline vector_layout layout_along(const shape_type& shape, std::size_t axis) {
    if (shape.empty()) return {1, 1, 1};
    BLEND_ASSERT(axis < shape.size(), "layout_along: axis out of range");
    vector_layout l{1, shape[axis], 1};
    for (std::size_t d = 0; d < axis; ++d) l.outer *= shape[d];
    for (std::size_t d = axis + 1; d < shape.size(); ++d) l.inner *= shape[d];
    return l;
}

/// The rows of `shape`: vectors along the last axis (a 1-D tensor is one row, a 0-D tensor one row of
/// one element).
[[nodiscard]] inline vector_layout row_layout(const shape_type& shape) {
    return layout_along(shape, shape.empty() ? 0 : shape.size() - 1);
}

/// Calls `segment(flat_index, block_index, count)` for the storage runs of elements k0 .. k0 + kn - 1
/// of vectors o * inner + i0 .. + w - 1 (block index = position in the `[k * w + x]` layout).
template <class Segment>
void for_block_segments(const vector_layout& layout, std::size_t o, std::size_t i0, std::size_t w,
                        std::size_t k0, std::size_t kn, Segment&& segment) {
    const std::size_t base = (o * layout.length + k0) * layout.inner + i0;
    if (w == layout.inner) {  // the block is contiguous in storage
        segment(base, 0, kn * w);
    } else {
        for (std::size_t k = 0; k < kn; ++k) segment(base + k * layout.inner, k * w, w);
    }
}

/// Converts `len` elements of `view` (input number `input`) from flat index `begin` into M at `dst`;
/// throws `non_finite_input` for a NaN or Inf among them (METHODS.md §1). Every kernel reads its inputs
/// through this.
template <class M>
void load_values(const any_tensor_view& view, std::size_t input, std::size_t begin, std::size_t len, M* dst) {
    if constexpr (std::is_same_v<M, float>) {
        if (view.type == dtype::bf16) {  // the common LLM case: widen and test in one loop
            const std::byte* src = view.bytes.data() + begin * 2;
            std::uint32_t carry = 0;
            for (std::size_t j = 0; j < len; ++j) {
                std::uint16_t h;
                std::memcpy(&h, src + 2 * j, 2);
                const std::uint32_t bits = blend::detail::bf16_bits_to_f32_bits(h);  // = to_f32, as convert_bytes
                dst[j] = std::bit_cast<float>(bits);
                carry |= blend::detail::finite_carry<float>(bits);
            }
            if (blend::detail::carries_non_finite<float>(carry)) require_finite(std::span<const M>(dst, len), input, begin);
            return;
        }
    }
    const std::size_t width = size_of(view.type);
    convert_bytes_to<M>(view.type, view.bytes.data() + begin * width, dst, len);
    require_finite(std::span<const M>(dst, len), input, begin);
}

/// Converts the block (o, i0, w) x [k0, k0 + kn) of every input to M (`load_values`), in per-thread
/// buffers reused from block to block (valid until the thread's next call).
template <class M>
[[nodiscard]] std::span<const std::span<const M>> load_block(std::span<const any_tensor_view> inputs,
                                                             const vector_layout& layout, std::size_t o,
                                                             std::size_t i0, std::size_t w, std::size_t k0,
                                                             std::size_t kn) {
    thread_local std::vector<M> scratch;
    thread_local std::vector<std::span<const M>> views;
    const std::size_t n = kn * w;
    scratch.resize(inputs.size() * n);
    views.clear();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        M* values = scratch.data() + i * n;
        for_block_segments(layout, o, i0, w, k0, kn, [&](std::size_t src, std::size_t dst, std::size_t count) {
            load_values(inputs[i], i, src, count, values + dst);
        });
        views.emplace_back(values, n);
    }
    return views;
}

/// Elements [begin, begin + n) of every input converted to M (`load_block` of the flattened tensor),
/// valid until the thread's next call. n <= chunk_elements.
template <class M>
[[nodiscard]] std::span<const std::span<const M>> load_chunk(std::span<const any_tensor_view> inputs,
                                                             std::size_t begin, std::size_t n) {
    return load_block<M>(inputs, flat_layout(begin + n), 0, 0, 1, begin, n);
}

/// Calls `body(chunk<M>)` for every chunk of the output, M = float or double (see file comment), and
/// stores the results rounded once to `out.type`. Every input must have `out`'s shape.
template <class Body>
void elementwise(std::string_view method, std::span<const any_tensor_view> inputs,
                 const any_mutable_tensor_view& out, Body&& body) {
    require_same_shapes(method, inputs, out.shape);
    const std::size_t total = out.size();
    BLEND_ASSERT(out.bytes.size() == total * size_of(out.type), "output buffer size");
    with_math_type(inputs, out.type, [&]<class M>(std::type_identity<M>) {
        parallel_for(total, chunk_elements, [&](std::size_t begin, std::size_t end) {
            with_isa([&] {
                const std::size_t n = end - begin;
                const auto views = load_chunk<M>(inputs, begin, n);
                std::array<double, chunk_elements> results{};
                body(chunk<M>{views, std::span<double>(results.data(), n), begin});
                const std::size_t width = size_of(out.type);
                convert_bytes_from<double>(results.data(), out.type, out.bytes.data() + begin * width, n);
            });
        });
    });
}

}  // namespace blend::merge::detail
