#pragma once
/// @file blend/merge/detail/elementwise.hpp
/// The one elementwise core every per-element merge runs on. Inputs and the output are runtime-typed
/// views (`any_tensor_view`: straight from a memory-mapped file, or wrapping an in-memory tensor), of
/// any storage dtype and any alignment. The core walks them in chunks of `chunk_elements`: each input
/// chunk is converted to the math type M (float32, or float64 when any tensor is float64 — METHODS.md
/// §1), the method's `body` computes the chunk of results into a float64 buffer, and that buffer is
/// rounded once to the output dtype. Chunks are spread over the thread pool; their bounds depend only on
/// the element count, so the result is bitwise identical for any thread count.

#include <blend/core/concepts.hpp>
#include <blend/core/convert.hpp>
#include <blend/core/error.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/tensor_view.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
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

/// One chunk as the body sees it: `inputs[i]` is input i's chunk in the math type M, `out` the float64
/// results to fill (zero-initialised), `offset` the chunk's first flat index.
template <class M>
struct chunk {
    std::span<const std::span<const M>> inputs;
    std::span<double> out;
    std::size_t offset;
};

/// Elements [begin, begin + n) of every input converted to M, in per-thread buffers reused from chunk
/// to chunk (valid until the thread's next call). n <= chunk_elements.
template <class M>
[[nodiscard]] std::span<const std::span<const M>> load_chunk(std::span<const any_tensor_view> inputs, std::size_t begin,
                                                             std::size_t n) {
    thread_local std::vector<M> scratch;
    thread_local std::vector<std::span<const M>> views;
    scratch.resize(inputs.size() * chunk_elements);
    views.clear();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        M* values = scratch.data() + i * chunk_elements;
        convert_bytes(inputs[i].type, inputs[i].bytes.data() + begin * size_of(inputs[i].type), dtype_of<M>,
                      reinterpret_cast<std::byte*>(values), n);
        views.emplace_back(values, n);
    }
    return views;
}

/// Calls `body(chunk<M>)` for every chunk of the output, M = float or double (see file comment), and
/// stores the results rounded once to `out.type`. Every input must have `out`'s shape.
template <class Body>
void elementwise(std::string_view method, std::span<const any_tensor_view> inputs,
                 const any_mutable_tensor_view& out, Body&& body) {
    require_same_shapes(method, inputs, out.shape);
    const std::size_t total = out.size();
    BLEND_ASSERT(out.bytes.size() == total * size_of(out.type), "output buffer size");
    auto run = [&]<class M>(std::type_identity<M>) {
        parallel_for(total, chunk_elements, [&](std::size_t begin, std::size_t end) {
            const std::size_t n = end - begin;
            const auto views = load_chunk<M>(inputs, begin, n);
            std::array<double, chunk_elements> results{};
            body(chunk<M>{views, std::span<double>(results.data(), n), begin});
            const std::size_t width = size_of(out.type);
            convert_bytes(dtype::f64, reinterpret_cast<const std::byte*>(results.data()), out.type,
                          out.bytes.data() + begin * width, n);
        });
    };
    if (needs_double(inputs, out.type)) {
        run(std::type_identity<double>{});
    } else {
        run(std::type_identity<float>{});
    }
}

}  // namespace blend::merge::detail
