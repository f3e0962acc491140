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
#include <blend/core/isa.hpp>
#include <blend/core/parallel.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <type_traits>
#include <vector>

#if defined(BLEND_ISA_X86)
#include <immintrin.h>
#endif

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

template <class Bits>
[[nodiscard]] rank_cut<Bits> select_top(std::span<const Bits> values, std::size_t k,
                                        std::size_t sampled_min = sampled_select_min);

/// The entries of one chunk of a selection problem that fall inside a bracket, in index order: their
/// patterns and offsets in the chunk. Storage is allocated once, uninitialised, with room for `capacity`
/// entries plus one block and a vector of slack (`split_block` writes whole vectors).
template <class Bits>
struct bracket_entries {
    std::unique_ptr<Bits[]> bits;
    std::unique_ptr<std::uint32_t[]> offsets;
    std::size_t size = 0;

    void allocate(std::size_t capacity) {
        bits = std::make_unique_for_overwrite<Bits[]>(capacity + select_block + 16);
        offsets = std::make_unique_for_overwrite<std::uint32_t[]>(capacity + select_block + 16);
        size = 0;
    }
};

/// The scalar core of `split_block` for entries [j0, len): returns the count above the bracket and
/// appends the in-bracket entries at `out.size`. Branch-free (in-bracket entries are scattered): every
/// entry is written, the position advances only for those inside.
template <class Bits>
std::size_t split_entries(const Bits* v, std::size_t j0, std::size_t len, Bits low, Bits width, std::uint32_t first,
                          bracket_entries<Bits>& out) {
    const Bits high = low + width;
    std::size_t above = 0;
    for (std::size_t j = j0; j < len; ++j) above += v[j] > high ? 1 : 0;  // vectorizes
    std::size_t pos = out.size;
    for (std::size_t j = j0; j < len; ++j) {
        out.bits[pos] = v[j];
        out.offsets[pos] = first + static_cast<std::uint32_t>(j);
        pos += static_cast<Bits>(v[j] - low) <= width ? 1 : 0;
    }
    out.size = pos;
    return above;
}

#if defined(BLEND_ISA_X86)
/// `split_block` for 32-bit patterns with AVX-512: compares and popcounts 16 entries at a time and packs
/// the in-bracket ones with a register compress and one full-width store (the stores' tails are
/// overwritten by the next ones; compress-to-memory is slow on some CPUs).
[[gnu::target("avx512f,avx512vl,popcnt"), gnu::noinline]] inline std::size_t split_block_avx512(
    const std::uint32_t* v, std::size_t len, std::uint32_t low, std::uint32_t width, std::uint32_t first,
    bracket_entries<std::uint32_t>& out) {
    const __m512i vlow = _mm512_set1_epi32(static_cast<int>(low));
    const __m512i vwidth = _mm512_set1_epi32(static_cast<int>(width));
    const __m512i vhigh = _mm512_set1_epi32(static_cast<int>(low + width));
    const __m512i sixteen = _mm512_set1_epi32(16);
    __m512i index = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(first)),
                                     _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    std::size_t above = 0;
    std::size_t pos = out.size;
    std::size_t j = 0;
    for (; j + 16 <= len; j += 16) {
        const __m512i x = _mm512_loadu_si512(v + j);
        above += static_cast<std::size_t>(std::popcount(static_cast<unsigned>(_mm512_cmpgt_epu32_mask(x, vhigh))));
        const __mmask16 in = _mm512_cmple_epu32_mask(_mm512_sub_epi32(x, vlow), vwidth);
        _mm512_storeu_si512(out.bits.get() + pos, _mm512_maskz_compress_epi32(in, x));
        _mm512_storeu_si512(out.offsets.get() + pos, _mm512_maskz_compress_epi32(in, index));
        pos += static_cast<std::size_t>(std::popcount(static_cast<unsigned>(in)));
        index = _mm512_add_epi32(index, sixteen);
    }
    out.size = pos;
    return above + split_entries<std::uint32_t>(v, j, len, low, width, first, out);
}

/// For each 8-bit lane mask, the lanes it selects packed to the front (one byte per lane index).
inline constexpr auto pack_lanes_table = [] {
    std::array<std::uint64_t, 256> table{};
    for (unsigned mask = 0; mask < 256; ++mask) {
        std::uint64_t packed = 0;
        int at = 0;
        for (unsigned lane = 0; lane < 8; ++lane) {
            if ((mask >> lane) & 1u) packed |= static_cast<std::uint64_t>(lane) << (8 * at++);
        }
        table[mask] = packed;
    }
    return table;
}();

/// `split_block` for 32-bit patterns with AVX2: 8 entries at a time, the in-bracket lanes packed with a
/// table permutation and one full-width store. Patterns are below 2^31 (magnitudes), so signed compares
/// order them; the bracket's top is clamped to 2^31 - 1 for the same reason.
[[gnu::target("avx2,popcnt"), gnu::noinline]] inline std::size_t split_block_avx2(
    const std::uint32_t* v, std::size_t len, std::uint32_t low, std::uint32_t width, std::uint32_t first,
    bracket_entries<std::uint32_t>& out) {
    const std::uint32_t high = std::min<std::uint32_t>(low + width, 0x7FFFFFFFu);
    const __m256i vlow = _mm256_set1_epi32(static_cast<int>(low));
    const __m256i vhigh = _mm256_set1_epi32(static_cast<int>(high));
    const __m256i eight = _mm256_set1_epi32(8);
    __m256i index = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(first)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    std::size_t above = 0;
    std::size_t pos = out.size;
    std::size_t j = 0;
    for (; j + 8 <= len; j += 8) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + j));
        const __m256i over = _mm256_cmpgt_epi32(x, vhigh);
        const __m256i outside = _mm256_or_si256(over, _mm256_cmpgt_epi32(vlow, x));
        above += static_cast<std::size_t>(std::popcount(static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(over)))));
        const auto in = static_cast<unsigned>(~_mm256_movemask_ps(_mm256_castsi256_ps(outside))) & 0xFFu;
        const __m256i lanes = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(pack_lanes_table[in])));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.bits.get() + pos), _mm256_permutevar8x32_epi32(x, lanes));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.offsets.get() + pos), _mm256_permutevar8x32_epi32(index, lanes));
        pos += static_cast<std::size_t>(std::popcount(in));
        index = _mm256_add_epi32(index, eight);
    }
    out.size = pos;
    return above + split_entries<std::uint32_t>(v, j, len, low, width, first, out);
}
#endif

/// One block of the sampled pass for one problem: returns how many of v[0, len) lie above the bracket
/// [low, low + width] and appends those inside it (pattern, offset `first + j`) to `out`, which has room.
template <class Bits>
std::size_t split_block(const Bits* v, std::size_t len, Bits low, Bits width, std::uint32_t first,
                        bracket_entries<Bits>& out) {
#if defined(BLEND_ISA_X86)
    if constexpr (std::is_same_v<Bits, std::uint32_t>) {
        switch (active_isa()) {
        case isa_level::avx512: return split_block_avx512(v, len, low, width, first, out);
        case isa_level::avx2: return split_block_avx2(v, len, low, width, first, out);
        default: break;
        }
    }
#endif
    return split_entries<Bits>(v, 0, len, low, width, first, out);
}

/// The calling thread's scratch histograms of the radix passes (a function-local thread_local, so it is
/// constructed on whichever pool thread first asks for it; one per thread for every selection, which
/// is why `produce` may not select).
[[nodiscard]] inline std::vector<std::uint32_t>& thread_histograms() {
    thread_local std::vector<std::uint32_t> histograms;
    return histograms;
}

/// A chunk hook of `selection_pass` that does nothing.
struct ignore_chunk {
    void operator()(std::size_t) const noexcept {}
};

/// One parallel pass of a selection over entries [0, n): for every chunk c of `select_grain` entries,
/// `start(c)`, then `block(c, b0, len, patterns)` for each block [b0, b0 + len) of it in order, with
/// `patterns` = `produce`'s output for the block (problem p at p * len), then `finish(c)` — all on one
/// thread, compiled for the CPU's widest vector instructions (`with_isa`).
template <class Bits, class Produce, class Block, class Start = ignore_chunk, class Finish = ignore_chunk>
void selection_pass(std::size_t n, std::size_t problems, Produce& produce, Block&& block, Start&& start = {},
                    Finish&& finish = {}) {
    parallel_for(n, select_grain, [&](std::size_t begin, std::size_t end) {
        with_isa([&] {
            thread_local std::vector<Bits> patterns;
            patterns.resize(problems * select_block);
            const std::size_t c = begin / select_grain;
            start(c);
            for (std::size_t b0 = begin; b0 < end; b0 += select_block) {
                const std::size_t len = std::min(select_block, end - b0);
                produce(b0, b0 + len, std::span<Bits>(patterns.data(), problems * len));
                block(c, b0, len, static_cast<const Bits*>(patterns.data()));
            }
            finish(c);
        });
    });
}

/// The sampled single pass of `select_top`: resolves the `active` queries whose k-th largest pattern
/// falls inside a bracket [lo, hi] estimated from a sample, in one pass over the data instead of the
/// radix passes. The bracket holds the sample's order statistics k_s ± (6 sigma + 0.4 % of the sample),
/// k_s = k m / n; the pass counts the entries above hi and keeps the in-bracket entries (pattern and
/// offset, a few percent of n) per chunk, in order (the bracket is rounded outwards to the buckets of a
/// 16-bit histogram of the sample). When above < k <= above + in-bracket, t and the tie cut are those of
/// the (k - above)-th largest in-bracket entry, found by the radix passes on the in-bracket patterns (in
/// index order, so ties resolve as in the whole tensor) — exact, and independent of the thread count.
/// Otherwise (an unlucky sample, or a bracket holding more than n/8 entries of a chunk) the query stays
/// active and the radix passes resolve it on the whole tensor.
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
    const std::size_t chunks = (n + select_grain - 1) / select_grain;
    const std::size_t cap = select_grain / 8;
    std::vector<std::size_t> above(chunks * live.size(), 0);
    std::vector<bracket_entries<Bits>> inside(chunks * live.size());
    std::vector<char> overflow(chunks * live.size(), 0);
    selection_pass<Bits>(n, problems, produce, [&](std::size_t c, std::size_t b0, std::size_t len, const Bits* patterns) {
        for (std::size_t l = 0; l < live.size(); ++l) {
            const std::size_t slot = c * live.size() + l;
            if (!bracketed[l] || overflow[slot]) continue;
            bracket_entries<Bits>& kept = inside[slot];
            if (!kept.bits) kept.allocate(cap);
            above[slot] += split_block<Bits>(patterns + queries[live[l]].problem * len, len, lo[l], hi[l] - lo[l],
                                             static_cast<std::uint32_t>(b0 - c * select_grain), kept);
            if (kept.size > cap) {
                overflow[slot] = 1;
                kept = {};
            }
        }
    });
    // 3. Resolve each bracketed query whose k-th entry lies in its bracket: t and the tie cut are those of
    // the (k - above)-th largest in-bracket entry, found by the radix passes on the in-bracket patterns
    // (concatenated in chunk order, so in flat-index order, and ties resolve as in the whole tensor).
    for (std::size_t l = 0; l < live.size(); ++l) {
        if (!bracketed[l]) continue;
        std::size_t count_above = 0;
        std::size_t count_inside = 0;
        bool spilled = false;
        for (std::size_t c = 0; c < chunks; ++c) {
            count_above += above[c * live.size() + l];
            count_inside += inside[c * live.size() + l].size;
            spilled = spilled || overflow[c * live.size() + l] != 0;
        }
        const std::size_t q = live[l];
        const std::size_t k = need[q];
        if (spilled || !(count_above < k && k <= count_above + count_inside)) continue;
        std::vector<Bits> values;
        values.reserve(count_inside);
        for (std::size_t c = 0; c < chunks; ++c) {
            const bracket_entries<Bits>& e = inside[c * live.size() + l];
            values.insert(values.end(), e.bits.get(), e.bits.get() + e.size);
        }
        const rank_cut<Bits> inner = select_top<Bits>(std::span<const Bits>(values), k - count_above,
                                                      std::numeric_limits<std::size_t>::max());
        rank_cut<Bits> cut{inner.t, std::numeric_limits<std::size_t>::max()};
        if (inner.cut == std::numeric_limits<std::size_t>::max()) {
            // Every entry >= inner.t kept (inner.t may lie below the bracket when the radix took a bucket
            // whole): t is the smallest kept pattern, which lies in the bracket — the exact threshold.
            Bits smallest = std::numeric_limits<Bits>::max();
            for (const Bits b : values) smallest = b >= inner.t && b < smallest ? b : smallest;
            cut.t = smallest;
        } else {
            // The last kept entry equal to t is in-bracket entry inner.cut - 1: its flat index + 1.
            std::size_t index = inner.cut - 1;
            std::size_t c = 0;
            while (index >= inside[c * live.size() + l].size) index -= inside[c++ * live.size() + l].size;
            cut.cut = c * select_grain + inside[c * live.size() + l].offsets[index] + 1;
        }
        result[q] = cut;
        active[q] = 0;
    }
}

/// Top-k cuts for every query. `produce(begin, end, out)` writes, for every problem p and every
/// j in [begin, end) (end - begin <= select_block), the magnitude pattern of entry j of problem p
/// into out[p * (end - begin) + (j - begin)] (`magnitude_bits`: the top bit is always clear, which the
/// histograms and vector compares rely on); it may be called concurrently and must not itself run a
/// selection (the passes share per-thread scratch). Deterministic.
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
        // A chunk's histograms: kept per chunk, or the running thread's own, zeroed per chunk.
        auto histograms = [&](std::size_t c) {
            return keep_chunks ? chunk_hist.data() + c * live.size() * buckets : thread_histograms().data();
        };
        selection_pass<Bits>(
            n, problems, produce,
            [&](std::size_t c, std::size_t, std::size_t len, const Bits* patterns) {
                for (std::size_t l = 0; l < live.size(); ++l) {
                    const std::size_t q = live[l];
                    const Bits* v = patterns + queries[q].problem * len;
                    std::uint32_t* h = histograms(c) + l * buckets;
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
            },
            [&](std::size_t) {
                if (!keep_chunks) thread_histograms().assign(live.size() * buckets, 0);
            },
            [&](std::size_t c) {
                const std::uint32_t* h = histograms(c);
                const std::lock_guard lock{merge_mutex};
                for (std::size_t i = 0; i < total.size(); ++i) total[i] += h[i];
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
        if (!counted) {
            selection_pass<Bits>(n, problems, produce, [&](std::size_t chunk, std::size_t, std::size_t len, const Bits* patterns) {
                for (std::size_t l = 0; l < tied.size(); ++l) {
                    const std::size_t q = tied[l];
                    const Bits* v = patterns + queries[q].problem * len;
                    const Bits t = result[q].t;
                    std::size_t c = 0;
                    for (std::size_t j = 0; j < len; ++j) c += v[j] == t ? 1 : 0;
                    counts[chunk * tied.size() + l] += c;
                }
            });
        }
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
rank_cut<Bits> select_top(std::span<const Bits> values, std::size_t k, std::size_t sampled_min) {
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
