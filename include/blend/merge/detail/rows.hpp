#pragma once
/// @file blend/merge/detail/rows.hpp
/// The per-vector core: merges and reductions that work on each row (or column, or any axis) of a
/// tensor separately — nuslerp without flattening, model_stock's `filter_wise`, arcee_fusion's per-row
/// softmax, DELLA's per-row ranks — and, with the whole tensor as one vector, on whole tensors (the
/// Gram matrices of slerp, multislerp, karcher, model_stock; the sums of reduce.hpp).
///
/// A tensor of shape (s_0, ..., s_{r-1}) seen along axis a is `outer x length x inner` with
/// outer = s_0 ... s_{a-1}, length = s_a, inner = s_{a+1} ... s_{r-1}: element (o, k, i) sits at flat
/// index (o * length + k) * inner + i, and vector (o, i) — number o * inner + i — is its `length`
/// elements k = 0 .. length-1. Rows (the last axis) have inner = 1; a matrix's columns (axis 0) have
/// outer = 1; the flattened tensor is one vector (outer = inner = 1).
///
/// Both entry points hand the method a `vector_block`: `width` neighbouring vectors (same o,
/// consecutive i), every input converted to the math type M (float32, float64 when any tensor is
/// float64, as in `elementwise`), laid out `[k * width + w]`.
///   `per_vector`     whole vectors; the method fills the block's float64 results, which are rounded
///                    once to the output dtype. A vector is computed by one call.
///   `reduce_vectors` `outputs` float64 values per vector (sums, maxima, counts, Gram entries): each
///                    vector is cut into pieces of at most `chunk_elements` elements along k, aligned
///                    to the vector's start (for the flattened tensor these are exactly the chunks of
///                    `elementwise`), and the pieces' partial values are folded left to right in piece
///                    order with a `combine` hook (default: addition; arcee_fusion passes max).
/// Block and piece bounds depend only on the layout, never on the thread count, so every result is
/// bitwise identical for any number of threads.

#include <blend/core/convert.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/elementwise.hpp>

#include <algorithm>
#include <array>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace blend::merge::detail {

/// A block of `width` vectors as the method sees it: `inputs[i][k * width + w]` is element
/// `start + k` of vector w of input i (math type M), k < `length`; `out` (float64, zeroed; empty in
/// `reduce_vectors`) is laid out alike; `first` is the number o * inner + i of the block's first
/// vector. `per_vector` hands whole vectors (start = 0); `reduce_vectors` pieces of them.
template <class M>
struct vector_block {
    std::span<const std::span<const M>> inputs;
    std::span<double> out;
    std::size_t length;
    std::size_t width;
    std::size_t first;
    std::size_t start = 0;
};

/// Elements per block `per_vector` aims for (the block of one vector is never split).
inline constexpr std::size_t block_elements = 16384;

/// Calls `body(vector_block<M>)` over all vectors of `layout` and stores the results rounded once to
/// `out.type`. Every input must have `out`'s shape.
template <class Body>
void per_vector(std::string_view method, std::span<const any_tensor_view> inputs,
                const any_mutable_tensor_view& out, const vector_layout& layout, Body&& body) {
    require_same_shapes(method, inputs, out.shape);
    BLEND_ASSERT(layout.count() * layout.length == out.size(),
                 "per_vector: layout does not cover the tensor");
    if (out.size() == 0) return;
    const std::size_t length = layout.length;
    // Blocks of about block_elements, but strided segments of at least 64 elements (while a block
    // stays under 2^21 elements per input) so that reading columns is not dominated by call overhead.
    const std::size_t wanted =
        std::max(block_elements / length, std::min<std::size_t>(64, (std::size_t{1} << 21) / length));
    const std::size_t width = layout.inner == 1 ? 1 : std::clamp<std::size_t>(wanted, 1, layout.inner);
    const std::size_t blocks_per_outer = (layout.inner + width - 1) / width;
    const std::size_t blocks = layout.outer * blocks_per_outer;
    const std::size_t grain = std::max<std::size_t>(1, 4 * chunk_elements / (length * width));
    with_math_type(inputs, out.type, [&]<class M>(std::type_identity<M>) {
        parallel_for(blocks, grain, [&](std::size_t begin, std::size_t end) {
            thread_local std::vector<double> results;
            for (std::size_t b = begin; b < end; ++b) {
                const std::size_t o = b / blocks_per_outer;
                const std::size_t i0 = (b % blocks_per_outer) * width;
                const std::size_t w = std::min(width, layout.inner - i0);
                const auto views = load_block<M>(inputs, layout, o, i0, w, 0, length);
                results.assign(length * w, 0.0);
                body(vector_block<M>{views, std::span<double>(results), length, w, o * layout.inner + i0, 0});
                const std::size_t bytes = size_of(out.type);
                for_block_segments(
                    layout, o, i0, w, 0, length, [&](std::size_t dst, std::size_t src, std::size_t count) {
                        convert_bytes_from<double>(results.data() + src, out.type, out.bytes.data() + dst * bytes, count);
                    });
            }
        });
    });
}

/// Adds `partial` into `acc` elementwise: the default `combine` of `reduce_vectors` (sums, dot
/// products, counts).
struct add_partials {
    void operator()(std::span<double> acc, std::span<const double> partial) const noexcept {
        for (std::size_t k = 0; k < acc.size(); ++k) acc[k] += partial[k];
    }
};

/// Per-vector reduction (see the file comment): returns layout.count() x outputs values, vector v's at
/// [v * outputs, (v + 1) * outputs). `term(vector_block<M>, partial)` writes a piece's partial values:
/// vector x of the piece at partial[x * outputs ...] (a zeroed span of width * outputs doubles). A
/// vector's partials are folded in piece order: the first is copied, then `combine(acc, partial)`.
/// Pieces are `chunk_elements` long for rows (inner = 1), so for the flattened tensor they are the
/// chunks of `elementwise`; across inner vectors a piece is 64 vectors wide and proportionally shorter.
/// All inputs must have layout.count() x layout.length elements.
template <class Term, class Combine = add_partials>
[[nodiscard]] std::vector<double> reduce_vectors(std::span<const any_tensor_view> inputs,
                                                 const vector_layout& layout, std::size_t outputs,
                                                 Term&& term, Combine&& combine = {}) {
    BLEND_ASSERT(!inputs.empty() && outputs > 0);
    const std::size_t total = layout.count() * layout.length;
    for (const auto& input : inputs)
        BLEND_ASSERT(input.size() == total, "reduce_vectors: element counts differ");
    std::vector<double> result(layout.count() * outputs, 0.0);
    if (total == 0) return result;
    const std::size_t length = layout.length;
    const std::size_t width = std::min<std::size_t>(layout.inner, 64);
    const std::size_t piece_length = std::max<std::size_t>(1, chunk_elements / width);
    const std::size_t pieces = (length + piece_length - 1) / piece_length;
    const std::size_t blocks_per_outer = (layout.inner + width - 1) / width;
    const std::size_t blocks = layout.outer * blocks_per_outer;
    // Block b: its outer index o, first inner index i0 and width w (the last block of an o may be narrower).
    const auto block_at = [&](std::size_t b) {
        const std::size_t i0 = (b % blocks_per_outer) * width;
        return std::array<std::size_t, 3>{b / blocks_per_outer, i0, std::min(width, layout.inner - i0)};
    };

    with_math_type(inputs, dtype::f32, [&]<class M>(std::type_identity<M>) {
        // Piece p of block b: converts the inputs and writes the partial values of its w vectors.
        auto piece = [&](std::size_t b, std::size_t p, std::span<double> partial) {
            const auto [o, i0, w] = block_at(b);
            const std::size_t k0 = p * piece_length;
            const std::size_t kn = std::min(piece_length, length - k0);
            const auto views = load_block<M>(inputs, layout, o, i0, w, k0, kn);
            std::fill(partial.begin(), partial.end(), 0.0);
            term(vector_block<M>{views, {}, kn, w, o * layout.inner + i0, k0}, partial.first(w * outputs));
        };
        const std::size_t stride = width * outputs;  // partial values per piece
        if (pieces > 1) {
            // Long vectors: every (block, piece) partial in parallel, then each vector's partials
            // folded in piece order on this thread.
            std::vector<double> partials(blocks * pieces * stride);
            const auto partial_of = [&](std::size_t task) {
                return std::span(partials).subspan(task * stride, stride);
            };
            parallel_for(blocks * pieces, 1, [&](std::size_t t0, std::size_t t1) {
                for (std::size_t task = t0; task < t1; ++task)
                    piece(task / pieces, task % pieces, partial_of(task));
            });
            for (std::size_t b = 0; b < blocks; ++b) {
                const auto [o, i0, w] = block_at(b);
                for (std::size_t x = 0; x < w; ++x) {
                    const std::size_t vector = o * layout.inner + i0 + x;
                    const std::span<double> acc = std::span(result).subspan(vector * outputs, outputs);
                    const auto part = [&](std::size_t p) {
                        return std::span<const double>(
                            partial_of(b * pieces + p).subspan(x * outputs, outputs));
                    };
                    std::copy_n(part(0).begin(), outputs, acc.begin());
                    for (std::size_t p = 1; p < pieces; ++p) combine(acc, part(p));
                }
            }
        } else {
            // Short vectors (one piece each): blocks spread over the pool, ~chunk_elements per task.
            const std::size_t grain = std::max<std::size_t>(1, chunk_elements / (length * width));
            parallel_for(blocks, grain, [&](std::size_t b0, std::size_t b1) {
                for (std::size_t b = b0; b < b1; ++b) {
                    const auto [o, i0, w] = block_at(b);
                    piece(b, 0, std::span(result).subspan((o * layout.inner + i0) * outputs, w * outputs));
                }
            });
        }
    });
    return result;
}

/// Index of G_pq (p <= q) in the packed upper triangle of an n x n symmetric matrix, row by row.
[[nodiscard]] constexpr std::size_t packed_index(std::size_t p, std::size_t q, std::size_t n) noexcept {
    return p * n - p * (p - 1) / 2 + (q - p);
}

/// Per-vector Gram matrices of a block whose inputs are [B,] X_1..X_n (v_i = X_i, or X_i - B with a
/// base, the difference in float64): writes `width` packed upper triangles (`packed_index` order;
/// vector x's at g[x * n(n+1)/2 ...]), each entry summed over k in order from 0.
template <class M>
void block_gram(const vector_block<M>& b, bool has_base, std::span<double> g) {
    const std::size_t n = b.inputs.size() - (has_base ? 1 : 0);
    const std::size_t tri = n * (n + 1) / 2;
    const std::size_t len = b.length * b.width;
    BLEND_ASSERT(g.size() >= b.width * tri);
    thread_local std::vector<double> v;  // the block's v_i in float64, one after the other
    v.resize(n * len);
    for (std::size_t i = 0; i < n; ++i) {
        double* vi = v.data() + i * len;
        const M* x = b.inputs[i + (has_base ? 1 : 0)].data();
        if (has_base) {
            const M* base = b.inputs[0].data();
            for (std::size_t e = 0; e < len; ++e)
                vi[e] = static_cast<double>(x[e]) - static_cast<double>(base[e]);
        } else {
            for (std::size_t e = 0; e < len; ++e) vi[e] = static_cast<double>(x[e]);
        }
    }
    thread_local std::vector<double> acc;  // one (p, q) entry of the block's `width` vectors
    for (std::size_t p = 0, idx = 0; p < n; ++p) {
        for (std::size_t q = p; q < n; ++q, ++idx) {
            const double* vp = v.data() + p * len;
            const double* vq = v.data() + q * len;
            if (b.width == 1) {
                double s = 0.0;
                for (std::size_t k = 0; k < len; ++k) s += vp[k] * vq[k];
                g[idx] = s;
                continue;
            }
            acc.assign(b.width, 0.0);
            for (std::size_t k = 0; k < b.length; ++k) {
                for (std::size_t x = 0; x < b.width; ++x) acc[x] += vp[k * b.width + x] * vq[k * b.width + x];
            }
            for (std::size_t x = 0; x < b.width; ++x) g[x * tri + idx] = acc[x];
        }
    }
}

/// `block_gram` returning the `width` packed triangles.
template <class M>
[[nodiscard]] std::vector<double> block_gram(const vector_block<M>& b, bool has_base) {
    const std::size_t n = b.inputs.size() - (has_base ? 1 : 0);
    std::vector<double> g(b.width * n * (n + 1) / 2);
    block_gram(b, has_base, std::span<double>(g));
    return g;
}

/// out (of the block) = sum_i c[x * n + i] v_i (+ B), vector x of the block using its own coefficients;
/// `out` must be zeroed (as `per_vector` and `elementwise` hand it). Per element the terms are added in
/// order i = 0 .. n-1 (v_i = X_i - B in float64 with a base), then B.
template <class M>
void block_combine(const vector_block<M>& b, bool has_base, std::span<const double> c) {
    const std::size_t n = b.inputs.size() - (has_base ? 1 : 0);
    const std::size_t w = b.width;
    double* out = b.out.data();
    // out += c_i v_i for i = 0 .. n-1 (v_i = X_i - B in float64 with a base, else X_i), then + B; the
    // base test is hoisted out of the loops so that they vectorize.
    const auto combine = [&]<bool Base>(std::bool_constant<Base>) {
        const M* base = b.inputs[0].data();
        const auto v = [&](const M* xi, std::size_t e) {
            if constexpr (Base) return static_cast<double>(xi[e]) - static_cast<double>(base[e]);
            return static_cast<double>(xi[e]);
        };
        for (std::size_t i = 0; i < n; ++i) {
            const M* xi = b.inputs[i + (Base ? 1 : 0)].data();
            if (w == 1) {
                const double ci = c[i];
                const std::size_t len = b.length;
                if constexpr (Base) {
                    for (std::size_t e = 0; e < len; ++e)
                        out[e] += ci * (static_cast<double>(xi[e]) - static_cast<double>(base[e]));
                } else {
                    for (std::size_t e = 0; e < len; ++e) out[e] += ci * static_cast<double>(xi[e]);
                }
            } else {
                for (std::size_t k = 0; k < b.length; ++k) {
                    for (std::size_t x = 0; x < w; ++x) out[k * w + x] += c[x * n + i] * v(xi, k * w + x);
                }
            }
        }
        if constexpr (Base) {
            for (std::size_t e = 0; e < b.length * w; ++e) out[e] += static_cast<double>(base[e]);
        }
    };
    if (has_base) {
        combine(std::true_type{});
    } else {
        combine(std::false_type{});
    }
}

/// A symmetric n x n matrix (row-major, both triangles filled).
struct gram_matrix {
    std::size_t n = 0;
    std::vector<double> g;
    [[nodiscard]] double operator()(std::size_t p, std::size_t q) const noexcept { return g[p * n + q]; }
};

/// The Gram matrix of every vector of `layout` for inputs [B,] X_1..X_n (see `block_gram`): packed upper
/// triangles, vector v's at [v * n(n+1)/2 ...], in one pass over the data.
[[nodiscard]] inline std::vector<double> vector_grams(std::span<const any_tensor_view> inputs,
                                                      const vector_layout& layout, bool has_base) {
    const std::size_t n = inputs.size() - (has_base ? 1 : 0);
    return reduce_vectors(
        inputs, layout, n * (n + 1) / 2,
        [&]<class M>(const vector_block<M>& b, std::span<double> g) { block_gram(b, has_base, g); });
}

/// The Gram matrix G_pq = v_p . v_q of the flattened vectors v_i (see `block_gram`). `inputs` are
/// [B,] X_1..X_n: with `has_base` the first input is the base and n = inputs.size() - 1.
[[nodiscard]] inline gram_matrix gram(std::span<const any_tensor_view> inputs, bool has_base) {
    const std::size_t n = inputs.size() - (has_base ? 1 : 0);
    const std::vector<double> packed = vector_grams(inputs, flat_layout(inputs.front().size()), has_base);
    gram_matrix out{n, std::vector<double>(n * n)};
    for (std::size_t p = 0; p < n; ++p) {
        for (std::size_t q = p; q < n; ++q)
            out.g[p * n + q] = out.g[q * n + p] = packed[packed_index(p, q, n)];
    }
    return out;
}

/// out = sum_i coefficients[i] v_i (+ B with a base) of the flattened vectors, computed in float64 and
/// rounded once (`block_combine` on the chunks of `elementwise`).
inline void linear_combination(std::string_view method, std::span<const any_tensor_view> inputs,
                               bool has_base, std::span<const double> coefficients,
                               const any_mutable_tensor_view& out) {
    BLEND_ASSERT(coefficients.size() == inputs.size() - (has_base ? 1 : 0));
    elementwise(method, inputs, out, [&]<class M>(const chunk<M>& c) {
        block_combine(vector_block<M>{c.inputs, c.out, c.out.size(), 1, 0, c.offset}, has_base, coefficients);
    });
}

}  // namespace blend::merge::detail
