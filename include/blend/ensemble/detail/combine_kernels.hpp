#pragma once
/// @file blend/ensemble/detail/combine_kernels.hpp
/// The loops behind every combinator (private): weight checking, the weighted per-entry sum over
/// members with an elementwise transform, per-entry order statistics across members, per-column
/// average ranks, and the row finishers (softmax, sigmoid, renormalisation). All float64.

#include <blend/core/error.hpp>
#include <blend/core/parallel.hpp>
#include <blend/ensemble/member_block.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

namespace blend::ensemble::detail {

/// Output elements per parallel chunk: enough work to amortise a wake-up of the pool.
inline constexpr std::size_t entries_per_chunk = 1 << 14;

/// Rows per chunk for a block of `columns` columns.
[[nodiscard]] inline std::size_t row_grain(std::size_t columns) noexcept {
    return std::max<std::size_t>(1, entries_per_chunk / std::max<std::size_t>(columns, 1));
}

/// The members' weights (all 1 when `weights` is empty), checked: one per member, finite, with a
/// sum that is not zero. Throws `invalid_argument` naming `what`.
[[nodiscard]] inline std::vector<double> checked_weights(std::size_t members, std::span<const double> weights,
                                                         std::string_view what) {
    if (members == 0) throw invalid_argument{fmt::format("{}: no members", what)};
    if (weights.empty()) return std::vector<double>(members, 1.0);
    if (weights.size() != members)
        throw invalid_argument{fmt::format("{}: {} weights for {} members", what, weights.size(), members)};
    double total = 0.0;
    for (std::size_t m = 0; m < members; ++m) {
        if (!std::isfinite(weights[m]))
            throw invalid_argument{fmt::format("{}: weight {} is not finite: {}", what, m, weights[m])};
        total += weights[m];
    }
    if (total == 0.0) throw invalid_argument{fmt::format("{}: weights sum to zero", what)};
    return {weights.begin(), weights.end()};
}

/// acc[j] += w_m f(x_m[j]) for members [first, last) of one dtype `E`, four members per pass over
/// `acc` (each entry still adds the members one after another, in order, so the rounding is that of
/// the plain member-by-member loop; fusing only saves traffic on `acc`).
template <class E, class F>
void accumulate_members(const member_block& block, std::span<const double> w, std::size_t first, std::size_t last,
                        std::size_t offset, std::span<double> acc, F f) {
    const auto at = [&](std::size_t m) { return static_cast<const E*>(block.members[m].data) + offset; };
    std::size_t m = first;
    for (; m + 4 <= last; m += 4) {
        const E *p0 = at(m), *p1 = at(m + 1), *p2 = at(m + 2), *p3 = at(m + 3);
        const double w0 = w[m], w1 = w[m + 1], w2 = w[m + 2], w3 = w[m + 3];
        for (std::size_t j = 0; j < acc.size(); ++j) {
            double a = acc[j];
            a += w0 * f(static_cast<double>(p0[j]));
            a += w1 * f(static_cast<double>(p1[j]));
            a += w2 * f(static_cast<double>(p2[j]));
            a += w3 * f(static_cast<double>(p3[j]));
            acc[j] = a;
        }
    }
    for (; m < last; ++m) {
        const E* p = at(m);
        for (std::size_t j = 0; j < acc.size(); ++j) acc[j] += w[m] * f(static_cast<double>(p[j]));
    }
}

/// out[j] = sum_m w_m * f(x_m[j]) / sum_m w_m for every entry j (members accumulated in order, as
/// numpy `average`), parallel over row chunks. `out` has rows x columns entries.
template <class F>
void weighted_mean(const member_block& block, std::span<const double> w, std::span<double> out, F f) {
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    const std::size_t c = block.columns;
    blend::parallel_for(block.rows, row_grain(c), [&](std::size_t begin, std::size_t end) {
        const std::span<double> acc = out.subspan(begin * c, (end - begin) * c);
        std::fill(acc.begin(), acc.end(), 0.0);
        // runs of members of one dtype, fused four at a time
        for (std::size_t first = 0; first < block.size();) {
            std::size_t last = first + 1;
            while (last < block.size() && block.members[last].type == block.members[first].type) ++last;
            if (block.members[first].type == dtype::f32) {
                accumulate_members<float>(block, w, first, last, begin * c, acc, f);
            } else {
                accumulate_members<double>(block, w, first, last, begin * c, acc, f);
            }
            first = last;
        }
        for (double& v : acc) v /= total;
    });
}

/// out[j] = g(sorted values of entry j across the members) for every entry, parallel over row chunks.
/// `g` receives a sorted span of M float64 values.
template <class G>
void per_entry_sorted(const member_block& block, std::span<double> out, G g) {
    const std::size_t c = block.columns;
    blend::parallel_for(block.rows, row_grain(c * block.size()),
                        [&](std::size_t begin, std::size_t end) {
                            std::vector<double> values(block.size());
                            for (std::size_t j = begin * c; j < end * c; ++j) {
                                for (std::size_t m = 0; m < block.size(); ++m)
                                    values[m] = with_member_data(block.members[m],
                                                                 [&](const auto* p) { return static_cast<double>(p[j]); });
                                std::sort(values.begin(), values.end());
                                out[j] = g(std::span<const double>(values));
                            }
                        });
}

/// Average ranks 1..N (ties get the mean of the ranks they span, as scipy `rankdata`) of column
/// `column` of an N x C row-major array, written to `ranks` (N entries).
template <class E>
void column_average_ranks(const E* p, std::size_t rows, std::size_t columns, std::size_t column,
                          std::span<double> ranks, std::vector<std::size_t>& order) {
    order.resize(rows);
    std::iota(order.begin(), order.end(), std::size_t{0});
    const auto at = [&](std::size_t i) { return static_cast<double>(p[i * columns + column]); };
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return at(a) < at(b); });
    for (std::size_t i = 0; i < rows;) {
        std::size_t j = i + 1;
        while (j < rows && at(order[j]) == at(order[i])) ++j;
        const double average = 0.5 * static_cast<double>(i + 1 + j);  // mean of ranks i+1 .. j
        for (std::size_t k = i; k < j; ++k) ranks[order[k]] = average;
        i = j;
    }
}

/// Divides each row of an N x C array by its sum; a row summing to zero (or not finite) becomes
/// uniform 1/C. Single-column arrays are left as they are.
inline void renormalise_rows(std::span<double> x, std::size_t columns) {
    if (columns <= 1) return;
    for (std::size_t r = 0; r < x.size() / columns; ++r) {
        double* row = x.data() + r * columns;
        double sum = 0.0;
        for (std::size_t k = 0; k < columns; ++k) sum += row[k];
        if (sum > 0.0 && std::isfinite(sum)) {
            for (std::size_t k = 0; k < columns; ++k) row[k] /= sum;
        } else {
            for (std::size_t k = 0; k < columns; ++k) row[k] = 1.0 / static_cast<double>(columns);
        }
    }
}

/// Softmax of each row (max-shifted); for a single column, the logistic sigmoid of each entry.
inline void softmax_rows(std::span<double> x, std::size_t columns) {
    if (columns <= 1) {
        for (double& v : x) v = v >= 0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v));
        return;
    }
    for (std::size_t r = 0; r < x.size() / columns; ++r) {
        double* row = x.data() + r * columns;
        const double top = *std::max_element(row, row + columns);
        double sum = 0.0;
        for (std::size_t k = 0; k < columns; ++k) sum += (row[k] = std::exp(row[k] - top));
        for (std::size_t k = 0; k < columns; ++k) row[k] /= sum;
    }
}

}  // namespace blend::ensemble::detail
