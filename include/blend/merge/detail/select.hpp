#pragma once
/// @file blend/merge/detail/select.hpp
/// The one magnitude top-k selection kernel of the merge methods (METHODS.md "Selection rules").
///
/// Order. Entry j outranks entry i iff |v_j| > |v_i|, or |v_j| == |v_i| and j < i (the lowest flat
/// index counts as larger). The top k entries in this total order are described by a `rank_cut`:
///   kept(i)  <=>  bits(i) > t  ||  (bits(i) == t && i < cut)
/// where bits(i) is the bit pattern of |v_i| (non-negative IEEE floats order like their bit patterns).
/// The test needs only the entry's own value and flat index, so masks are applied chunk-wise inside
/// the elementwise core without materialising anything.
///
/// Algorithm (O(n), radix select on 16-bit digits of the bit pattern): pass 1 histograms the top 16
/// bits of every entry and finds the bucket holding the k-th largest; each further pass histograms the
/// next 16 bits among the entries of that bucket (2 passes for float32, up to 4 for float64), stopping
/// early when a bucket is taken whole. The threshold pattern t is then exact; if only some of the
/// entries equal to t are kept, one more pass counts them per chunk and locates the flat index of the
/// last kept one (`cut`). Values are never stored: the caller's `produce(begin, end, out)` recomputes
/// the bit patterns of a sub-range for every problem at once, each pass. Histograms are integer counts
/// merged under a lock and the cut is found by an in-order prefix over chunks, so the result does not
/// depend on the thread count.
///
/// Several problems (e.g. one per model) with several k each (breadcrumbs: two) share every pass.
///
/// Large inputs (>= `sampled_select_min` entries) first try `sampled_select`: a sample brackets the
/// threshold and one pass finds it exactly, instead of two or more radix passes.

#include <blend/core/error.hpp>
#include <blend/core/parallel.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <span>
#include <type_traits>
#include <vector>

namespace blend::merge::detail {

/// The top-k set of one selection: kept(i) <=> bits > t || (bits == t && i < cut).
template <class Bits>
struct rank_cut {
    Bits t = std::numeric_limits<Bits>::max();
    std::size_t cut = 0;  ///< entries equal to t with a flat index below `cut` are kept

    [[nodiscard]] constexpr bool contains(Bits bits, std::size_t index) const noexcept {
        return (bits > t) | ((bits == t) & (index < cut));  // branch-free: masks are ~random
    }
    /// The cut that keeps nothing (k == 0) / everything.
    [[nodiscard]] static constexpr rank_cut none() noexcept { return {std::numeric_limits<Bits>::max(), 0}; }
    [[nodiscard]] static constexpr rank_cut all() noexcept { return {0, std::numeric_limits<std::size_t>::max()}; }
};

/// Bit pattern of |x| for float (uint32) or double (uint64).
template <class M>
using magnitude_bits_t = std::conditional_t<sizeof(M) == 4, std::uint32_t, std::uint64_t>;

template <class M>
[[nodiscard]] inline magnitude_bits_t<M> magnitude_bits(M x) noexcept {
    using B = magnitude_bits_t<M>;
    return std::bit_cast<B>(x) & (std::numeric_limits<B>::max() >> 1);
}

/// k = floor(density * n) evaluated in double precision (Python's int(density * n)); density >= 1 → n.
[[nodiscard]] inline std::size_t top_count(double density, std::size_t n) noexcept {
    if (!(density > 0)) return 0;
    if (density >= 1) return n;
    const double k = std::floor(density * static_cast<double>(n));
    return std::min(n, static_cast<std::size_t>(k));
}

/// Elements per sub-range handed to `produce` (its buffer stays in L1/L2).
inline constexpr std::size_t select_block = 4096;
/// Elements per parallel chunk of a selection pass (a chunk-local histogram is zeroed per chunk).
inline constexpr std::size_t select_grain = std::size_t{1} << 20;

/// One query: problem `problem`, keep the top `k`.
struct select_query {
    std::size_t problem = 0;
    std::size_t k = 0;
};

/// Elements from which `select_top` first tries the sampled single pass (below it the radix passes
/// are cheap).
inline constexpr std::size_t sampled_select_min = std::size_t{1} << 20;
/// Entries in the sample of the sampled pass (taken as whole blocks at a fixed stride).
inline constexpr std::size_t sampled_select_sample = std::size_t{1} << 17;

/// The sampled single pass of `select_top`: resolves the `active` queries whose k-th largest pattern
/// falls inside a bracket [lo, hi] estimated from a sample, in one pass over the data instead of the
/// radix passes. The bracket holds the sample's order statistics k_s ± (6 sigma + 0.4 % of the sample),
/// k_s = k m / n; the pass counts the entries above hi and keeps the in-bracket entries (pattern and
/// index, a few percent of n) per chunk, in order (the bracket is rounded outwards to the buckets of a
/// 16-bit histogram of the sample). When above < k <= above + in-bracket, t is the
/// (k - above)-th largest in-bracket pattern and the tie cut is found by walking the chunks' entries in
/// index order — exact, and independent of the thread count. Otherwise (an unlucky sample, or a bracket
/// holding more than n/8 entries) the query stays active and the radix passes resolve it.
template <class Bits, class Produce>
void sampled_select(std::size_t n, std::size_t problems, std::span<const select_query> queries,
                    std::span<const std::size_t> need, std::vector<char>& active, std::vector<rank_cut<Bits>>& result,
                    Produce& produce) {
    std::vector<std::size_t> live;
    for (std::size_t q = 0; q < queries.size(); ++q)
        if (active[q]) live.push_back(q);
    if (live.empty()) return;
    // 1. The sample: whole blocks at a fixed stride, so produce stays sequential within a block.
    const std::size_t blocks = (n + select_block - 1) / select_block;
    const std::size_t stride = std::max<std::size_t>(1, blocks / std::max<std::size_t>(1, sampled_select_sample / select_block));
    std::vector<std::vector<Bits>> sample(live.size());
    std::vector<Bits> buffer(problems * select_block);
    for (std::size_t b = 0; b < blocks; b += stride) {
        const std::size_t b0 = b * select_block;
        const std::size_t len = std::min(select_block, n - b0);
        produce(b0, b0 + len, std::span<Bits>(buffer.data(), problems * len));
        for (std::size_t l = 0; l < live.size(); ++l) {
            const Bits* v = buffer.data() + queries[live[l]].problem * len;
            sample[l].insert(sample[l].end(), v, v + len);
        }
    }
    // The bracket, at the resolution of a 16-bit histogram of the sample's patterns (their top bit is
    // always 0): the bucket holding descending rank k_s - margin bounds it above, k_s + margin below.
    constexpr int shift = static_cast<int>(sizeof(Bits) * 8) - 17;
    std::vector<Bits> lo(live.size()), hi(live.size());
    std::vector<char> bracketed(live.size(), 0);
    std::vector<std::uint32_t> histogram(std::size_t{1} << 16);
    for (std::size_t l = 0; l < live.size(); ++l) {
        const auto m = static_cast<double>(sample[l].size());
        const double ks = static_cast<double>(need[live[l]]) * m / static_cast<double>(n);
        const double margin = 6.0 * std::sqrt(ks * std::max(0.0, 1.0 - ks / m)) + 0.004 * m + 16.0;
        if (ks + margin >= m) continue;  // the bracket would reach the smallest entries: not worth it
        std::fill(histogram.begin(), histogram.end(), 0u);
        for (const Bits b : sample[l]) ++histogram[static_cast<std::size_t>(b >> shift)];
        hi[l] = std::numeric_limits<Bits>::max();
        double above = 0;
        std::size_t bucket = histogram.size();
        bool high_set = ks - margin < 0;
        while (bucket > 0) {
            --bucket;
            above += histogram[bucket];
            if (!high_set && above > ks - margin) {
                hi[l] = static_cast<Bits>(((static_cast<Bits>(bucket) + 1) << shift) - 1);
                high_set = true;
            }
            if (above >= ks + margin) break;
        }
        lo[l] = static_cast<Bits>(static_cast<Bits>(bucket) << shift);
        bracketed[l] = 1;
    }
    // 2. One pass: entries above the bracket counted, entries inside kept (pattern, offset in chunk).
    struct entry {
        Bits bits;
        std::uint32_t offset;
    };
    const std::size_t chunks = (n + select_grain - 1) / select_grain;
    const std::size_t cap = select_grain / 8;
    std::vector<std::size_t> above(chunks * live.size(), 0);
    std::vector<std::vector<entry>> inside(chunks * live.size());
    std::vector<char> overflow(chunks * live.size(), 0);
    parallel_for(n, select_grain, [&](std::size_t begin, std::size_t end) {
        thread_local std::vector<Bits> local;
        local.resize(problems * select_block);
        const std::size_t c = begin / select_grain;
        for (std::size_t b0 = begin; b0 < end; b0 += select_block) {
            const std::size_t len = std::min(select_block, end - b0);
            produce(b0, b0 + len, std::span<Bits>(local.data(), problems * len));
            for (std::size_t l = 0; l < live.size(); ++l) {
                const std::size_t slot = c * live.size() + l;
                if (!bracketed[l] || overflow[slot]) continue;
                const Bits* v = local.data() + queries[live[l]].problem * len;
                const Bits low = lo[l];
                const Bits high = hi[l];
                const Bits width = high - low;
                std::size_t a = 0;
                std::size_t in = 0;
                for (std::size_t j = 0; j < len; ++j) {  // vectorizes: two compares and two adds
                    a += v[j] > high ? 1 : 0;
                    in += static_cast<Bits>(v[j] - low) <= width ? 1 : 0;
                }
                above[slot] += a;
                auto& kept = inside[slot];
                if (in == 0) continue;
                // Branch-free compaction (in-bracket entries are scattered): every entry is written,
                // the position advances only for those inside; one slot of slack for the last write.
                std::size_t pos = kept.size();
                kept.resize(pos + in + 1);
                entry* dst = kept.data();
                const auto offset = static_cast<std::uint32_t>(b0 - begin);
                for (std::size_t j = 0; j < len; ++j) {
                    dst[pos] = {v[j], offset + static_cast<std::uint32_t>(j)};
                    pos += static_cast<Bits>(v[j] - low) <= width ? 1 : 0;
                }
                kept.resize(pos);
                if (kept.size() > cap) {
                    overflow[slot] = 1;
                    kept = {};
                }
            }
        }
    });
    // 3. Resolve each bracketed query whose k-th entry lies in its bracket.
    for (std::size_t l = 0; l < live.size(); ++l) {
        if (!bracketed[l]) continue;
        std::size_t count_above = 0;
        std::size_t count_inside = 0;
        bool spilled = false;
        for (std::size_t c = 0; c < chunks; ++c) {
            count_above += above[c * live.size() + l];
            count_inside += inside[c * live.size() + l].size();
            spilled = spilled || overflow[c * live.size() + l] != 0;
        }
        const std::size_t q = live[l];
        const std::size_t k = need[q];
        if (spilled || !(count_above < k && k <= count_above + count_inside)) continue;
        const std::size_t r = k - count_above;  // t is the r-th largest in-bracket pattern
        Bits t = 0;
        std::size_t greater = 0;  // in-bracket entries above t
        std::size_t equal = 0;    // ... and equal to t
        if (const Bits range = hi[l] - lo[l]; range < (Bits{1} << 20)) {
            // A counting sort of the bracket (a few buckets of the histogram wide).
            std::vector<std::uint32_t> counts(static_cast<std::size_t>(range) + 1, 0);
            for (std::size_t c = 0; c < chunks; ++c)
                for (const entry& e : inside[c * live.size() + l]) ++counts[static_cast<std::size_t>(e.bits - lo[l])];
            std::size_t index = counts.size();
            while (greater + counts[index - 1] < r) greater += counts[--index];
            t = static_cast<Bits>(lo[l] + static_cast<Bits>(index - 1));
            equal = counts[index - 1];
        } else {
            std::vector<Bits> values;
            values.reserve(count_inside);
            for (std::size_t c = 0; c < chunks; ++c)
                for (const entry& e : inside[c * live.size() + l]) values.push_back(e.bits);
            std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(r - 1), values.end(), std::greater<>{});
            t = values[r - 1];
            greater = static_cast<std::size_t>(std::count_if(values.begin(), values.end(), [&](Bits b) { return b > t; }));
            equal = static_cast<std::size_t>(std::count(values.begin(), values.end(), t));
        }
        std::size_t equal_needed = r - greater;
        // Every entry equal to t kept: the radix passes' canonical cut (kept <=> bits >= t).
        std::size_t cut = equal_needed == equal ? std::numeric_limits<std::size_t>::max() : 0;
        for (std::size_t c = 0; c < chunks && cut == 0; ++c) {
            for (const entry& e : inside[c * live.size() + l]) {
                if (e.bits == t && --equal_needed == 0) {
                    cut = c * select_grain + e.offset + 1;
                    break;
                }
            }
        }
        BLEND_ASSERT(cut != 0, "sampled_select: tie cut located");
        result[q] = {t, cut};
        active[q] = 0;
    }
}

/// Top-k cuts for every query. `produce(begin, end, out)` writes, for every problem p and every
/// j in [begin, end) (end - begin <= select_block), the magnitude pattern of entry j of problem p
/// into out[p * (end - begin) + (j - begin)]; it may be called concurrently. Deterministic.
/// `kept_histograms`: at most this many (chunk, query) histograms of the last digit are kept to count the
/// ties per chunk (256 KiB each); beyond it a counting pass runs instead (tests force it with 0).
/// `sampled_min`: from this many entries the sampled single pass (`sampled_select`) is tried first.
template <class Bits, class Produce>
[[nodiscard]] std::vector<rank_cut<Bits>> select_top(std::size_t n, std::size_t problems,
                                                     std::span<const select_query> queries, Produce&& produce,
                                                     std::size_t kept_histograms = 64,
                                                     std::size_t sampled_min = sampled_select_min) {
    constexpr int digits = static_cast<int>(sizeof(Bits) * 8 / 16);
    constexpr std::size_t buckets = 65536;
    const std::size_t q_count = queries.size();
    std::vector<rank_cut<Bits>> result(q_count);
    // Per query: resolved?, prefix found so far (high digits), entries still to take inside the prefix.
    std::vector<char> active(q_count, 0);
    std::vector<Bits> prefix(q_count, 0);
    std::vector<std::size_t> need(q_count, 0);
    for (std::size_t q = 0; q < q_count; ++q) {
        BLEND_ASSERT(queries[q].problem < problems, "select_top: problem index");
        if (queries[q].k == 0) {
            result[q] = rank_cut<Bits>::none();
        } else if (queries[q].k >= n) {
            result[q] = rank_cut<Bits>::all();
        } else {
            active[q] = 1;
            need[q] = queries[q].k;
        }
    }
    if (n >= sampled_min) sampled_select<Bits>(n, problems, queries, need, active, result, produce);
    std::vector<char> tie_pass(q_count, 0);
    const std::size_t chunks = (n + select_grain - 1) / select_grain;
    std::vector<std::uint32_t> chunk_hist;  // per chunk and live query, at the last digit (see below)
    std::vector<std::size_t> chunk_live;    // the live queries of chunk_hist, in its order
    for (int level = 0; level < digits; ++level) {
        std::vector<std::size_t> live;
        for (std::size_t q = 0; q < q_count; ++q)
            if (active[q]) live.push_back(q);
        if (live.empty()) break;
        const int shift = 16 * (digits - 1 - level);
        const int high_shift = shift + 16;  // bits above the current digit must equal the prefix
        std::vector<std::uint64_t> total(live.size() * buckets, 0);
        std::mutex merge_mutex;
        // At the last digit, keep each chunk's histogram when that is cheap (<= 16 MiB): the count of
        // entries equal to t per chunk is then known and the tie pass is not needed.
        const bool keep_chunks = shift == 0 && chunks * live.size() <= kept_histograms;
        if (keep_chunks) chunk_hist.assign(chunks * live.size() * buckets, 0);
        parallel_for(n, select_grain, [&](std::size_t begin, std::size_t end) {
            thread_local std::vector<std::uint32_t> local;
            thread_local std::vector<Bits> buffer;
            std::uint32_t* hist_base = nullptr;
            if (keep_chunks) {
                hist_base = chunk_hist.data() + (begin / select_grain) * live.size() * buckets;
            } else {
                local.assign(live.size() * buckets, 0);
                hist_base = local.data();
            }
            buffer.resize(problems * select_block);
            for (std::size_t b0 = begin; b0 < end; b0 += select_block) {
                const std::size_t len = std::min(select_block, end - b0);
                produce(b0, b0 + len, std::span<Bits>(buffer.data(), problems * len));
                for (std::size_t l = 0; l < live.size(); ++l) {
                    const std::size_t q = live[l];
                    const Bits* v = buffer.data() + queries[q].problem * len;
                    std::uint32_t* h = hist_base + l * buckets;
                    if (level == 0) {
                        for (std::size_t j = 0; j < len; ++j) ++h[static_cast<std::size_t>(v[j] >> shift) & 0xFFFF];
                    } else {
                        const Bits want = prefix[q];
                        for (std::size_t j = 0; j < len; ++j) {
                            if (static_cast<Bits>(v[j] >> high_shift) == want) {
                                ++h[static_cast<std::size_t>(v[j] >> shift) & 0xFFFF];
                            }
                        }
                    }
                }
            }
            const std::lock_guard lock{merge_mutex};
            for (std::size_t i = 0; i < total.size(); ++i) total[i] += hist_base[i];
        });
        chunk_live = keep_chunks ? live : std::vector<std::size_t>{};
        for (std::size_t l = 0; l < live.size(); ++l) {
            const std::size_t q = live[l];
            const std::uint64_t* h = total.data() + l * buckets;
            std::size_t above = 0;
            std::size_t digit = buckets;
            while (digit > 0) {
                --digit;
                if (above + h[digit] >= need[q]) break;
                above += h[digit];
            }
            const std::size_t in_bucket = h[digit];
            need[q] -= above;
            prefix[q] = static_cast<Bits>((prefix[q] << 16) | static_cast<Bits>(digit));
            if (need[q] == in_bucket || shift == 0) {
                // The bucket is taken whole (t = its lowest pattern, every tie kept), or t is exact.
                active[q] = 0;
                result[q].t = static_cast<Bits>(prefix[q] << shift);
                if (need[q] == in_bucket) {
                    result[q].cut = std::numeric_limits<std::size_t>::max();  // kept <=> bits >= t
                } else {
                    tie_pass[q] = 1;  // keep the first need[q] of the in_bucket entries equal to t
                }
            }
        }
    }
    // Locate the cut for queries that keep only some of the entries equal to t.
    std::vector<std::size_t> tied;
    for (std::size_t q = 0; q < q_count; ++q)
        if (tie_pass[q]) tied.push_back(q);
    if (!tied.empty()) {
        std::vector<std::size_t> counts(chunks * tied.size(), 0);
        bool counted = !chunk_live.empty();
        for (std::size_t l = 0; l < tied.size() && counted; ++l) {
            const auto at = std::find(chunk_live.begin(), chunk_live.end(), tied[l]);
            if (at == chunk_live.end()) {
                counted = false;
                break;
            }
            const auto slot = static_cast<std::size_t>(at - chunk_live.begin());
            const auto digit = static_cast<std::size_t>(result[tied[l]].t & 0xFFFF);
            for (std::size_t c = 0; c < chunks; ++c) {
                counts[c * tied.size() + l] = chunk_hist[(c * chunk_live.size() + slot) * buckets + digit];
            }
        }
        if (!counted) parallel_for(n, select_grain, [&](std::size_t begin, std::size_t end) {
            thread_local std::vector<Bits> buffer;
            buffer.resize(problems * select_block);
            const std::size_t chunk = begin / select_grain;
            for (std::size_t b0 = begin; b0 < end; b0 += select_block) {
                const std::size_t len = std::min(select_block, end - b0);
                produce(b0, b0 + len, std::span<Bits>(buffer.data(), problems * len));
                for (std::size_t l = 0; l < tied.size(); ++l) {
                    const std::size_t q = tied[l];
                    const Bits* v = buffer.data() + queries[q].problem * len;
                    const Bits t = result[q].t;
                    std::size_t c = 0;
                    for (std::size_t j = 0; j < len; ++j) c += v[j] == t ? 1 : 0;
                    counts[chunk * tied.size() + l] += c;
                }
            }
        });
        std::vector<Bits> buffer(problems * select_block);
        for (std::size_t l = 0; l < tied.size(); ++l) {
            const std::size_t q = tied[l];
            std::size_t remaining = need[q];
            std::size_t chunk = 0;
            while (counts[chunk * tied.size() + l] < remaining) remaining -= counts[chunk++ * tied.size() + l];
            // The remaining-th occurrence of t lies in this chunk: scan it in order.
            const std::size_t begin = chunk * select_grain;
            const std::size_t end = std::min(n, begin + select_grain);
            bool found = false;
            for (std::size_t b0 = begin; b0 < end && !found; b0 += select_block) {
                const std::size_t len = std::min(select_block, end - b0);
                produce(b0, b0 + len, std::span<Bits>(buffer.data(), problems * len));
                const Bits* v = buffer.data() + queries[q].problem * len;
                for (std::size_t j = 0; j < len; ++j) {
                    if (v[j] == result[q].t && --remaining == 0) {
                        result[q].cut = b0 + j + 1;
                        found = true;
                        break;
                    }
                }
            }
            BLEND_ASSERT(found, "select_top: tie cut located");
        }
    }
    return result;
}

/// Convenience for one in-memory array of magnitude patterns: the top-k cut (`sampled_min` as in
/// `select_top`).
template <class Bits>
[[nodiscard]] rank_cut<Bits> select_top(std::span<const Bits> values, std::size_t k,
                                        std::size_t sampled_min = sampled_select_min) {
    const select_query query{0, k};
    return select_top<Bits>(
               values.size(), 1, std::span<const select_query>(&query, 1),
               [&](std::size_t begin, std::size_t end, std::span<Bits> out) {
                   std::copy(values.begin() + static_cast<std::ptrdiff_t>(begin),
                             values.begin() + static_cast<std::ptrdiff_t>(end), out.begin());
               },
               64, sampled_min)
        .front();
}

/// Ascending ranks within one row (0 = smallest |v|; among equal magnitudes the lower index counts as
/// larger, i.e. gets the higher rank): rank[j] for the patterns `row`. O(m log m); rows are short.
template <class Bits>
void ascending_ranks(std::span<const Bits> row, std::span<std::uint32_t> ranks, std::vector<std::uint32_t>& order) {
    const std::size_t m = row.size();
    order.resize(m);
    for (std::size_t j = 0; j < m; ++j) order[j] = static_cast<std::uint32_t>(j);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        return row[a] < row[b] || (row[a] == row[b] && a > b);
    });
    for (std::size_t r = 0; r < m; ++r) ranks[order[r]] = static_cast<std::uint32_t>(r);
}

}  // namespace blend::merge::detail
