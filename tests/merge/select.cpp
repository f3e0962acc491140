// Tests for blend/merge/detail/select.hpp: the magnitude top-k kernel (METHODS.md "Selection rules").
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/detail/select.hpp>

#include "support/catch.hpp"
#include "support/isa_levels.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

namespace {

using namespace blend::merge::detail;

/// Reference: stable sort by descending |v| (ties: ascending index), the first k are kept.
template <class M>
std::vector<char> reference_keep(const std::vector<M>& v, std::size_t k) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return std::abs(v[a]) > std::abs(v[b]); });
    std::vector<char> keep(v.size(), 0);
    for (std::size_t r = 0; r < k && r < v.size(); ++r) keep[order[r]] = 1;
    return keep;
}

/// Values from `levels` distinct magnitudes (massive ties) with random signs, or continuous values.
template <class M>
std::vector<M> values(std::uint64_t key, std::size_t n, int levels) {
    blend::random_stream rng(3, key);
    std::vector<M> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double u = rng.uniform(i);
        const M magnitude = levels > 0 ? static_cast<M>(std::floor(u * levels) * 0.125) : static_cast<M>(u * 3.0);
        v[i] = (rng.bits(i) & 1) != 0 ? -magnitude : magnitude;
    }
    return v;
}

template <class M>
void check_against_reference(std::uint64_t key, std::size_t n, int levels) {
    using B = magnitude_bits_t<M>;
    const auto v = values<M>(key, n, levels);
    std::vector<B> bits(n);
    for (std::size_t i = 0; i < n; ++i) bits[i] = magnitude_bits(v[i]);
    for (const double density : {0.0, 0.001, 0.25, 0.5, 0.77, 0.999, 1.0}) {
        const std::size_t k = top_count(density, n);
        const auto want = reference_keep(v, k);
        for (const std::size_t sampled_min : {sampled_select_min, std::size_t{0}}) {  // radix only / sampled first
            const auto cut = select_top<B>(bits, k, sampled_min);
            std::size_t mismatches = 0;
            std::size_t kept = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const bool got = cut.contains(bits[i], i);
                kept += got;
                mismatches += got != (want[i] != 0);
            }
            CAPTURE(n, levels, density, sizeof(M), sampled_min);
            CHECK(kept == k);
            CHECK(mismatches == 0);
        }
    }
}

}  // namespace

TEST_CASE("top-k matches a stable sort: float32, continuous and massively tied", "[merge][select]") {
    for (const int levels : {0, 2, 7, 200}) {
        check_against_reference<float>(1, 1000, levels);
        check_against_reference<float>(2, 100003, levels);
    }
    for (const std::size_t n : {5, 6, 7, 9, 4097, 4101}) check_against_reference<float>(20 + n, n, 0);  // ragged blocks
    check_against_reference<float>(3, 1, 0);
    check_against_reference<float>(4, 2, 1);
}

TEST_CASE("top-k matches a stable sort: float64", "[merge][select]") {
    for (const int levels : {0, 3, 1000}) {
        check_against_reference<double>(5, 1000, levels);
        check_against_reference<double>(6, 50001, levels);
    }
}

TEST_CASE("tie cut spanning several parallel chunks is exact and thread independent", "[merge][select]") {
    const std::size_t n = 3 * select_grain + 12345;
    const auto v = values<float>(7, n, 3);  // three magnitudes: 0, 0.125, 0.25
    std::vector<std::uint32_t> bits(n);
    for (std::size_t i = 0; i < n; ++i) bits[i] = magnitude_bits(v[i]);
    const std::size_t k = n / 2;
    blend::set_num_threads(1);
    const auto one = select_top<std::uint32_t>(bits, k);
    blend::set_num_threads(2);
    const auto two = select_top<std::uint32_t>(bits, k);
    blend::set_num_threads(0);
    CHECK(one.t == two.t);
    CHECK(one.cut == two.cut);
    // The same cut when the ties are counted by a separate pass instead of the kept histograms.
    const select_query query{0, k};
    const auto counted = select_top<std::uint32_t>(
        n, 1, std::span<const select_query>(&query, 1),
        [&](std::size_t b, std::size_t e, std::span<std::uint32_t> out) { std::copy(bits.begin() + b, bits.begin() + e, out.begin()); },
        0)[0];
    CHECK(counted.t == one.t);
    CHECK(counted.cut == one.cut);
    const auto want = reference_keep(v, k);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < n; ++i) mismatches += one.contains(bits[i], i) != (want[i] != 0);
    CHECK(mismatches == 0);
}

TEST_CASE("several queries share the passes (breadcrumbs-style two cuts)", "[merge][select]") {
    const std::size_t n = 20000;
    const auto v0 = values<float>(8, n, 50);
    const auto v1 = values<float>(9, n, 0);
    const std::vector<select_query> queries{{0, 7000}, {0, 200}, {1, 5}, {1, 0}, {1, n}};
    const auto cuts = select_top<std::uint32_t>(n, 2, queries, [&](std::size_t b, std::size_t e, std::span<std::uint32_t> out) {
        const std::size_t len = e - b;
        for (std::size_t j = 0; j < len; ++j) {
            out[j] = magnitude_bits(v0[b + j]);
            out[len + j] = magnitude_bits(v1[b + j]);
        }
    });
    for (std::size_t q = 0; q < queries.size(); ++q) {
        const auto& v = queries[q].problem == 0 ? v0 : v1;
        const auto want = reference_keep(v, queries[q].k);
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < n; ++i) mismatches += cuts[q].contains(magnitude_bits(v[i]), i) != (want[i] != 0);
        CAPTURE(q);
        CHECK(mismatches == 0);
    }
}

TEST_CASE("top_count is floor(density n) in double precision", "[merge][select]") {
    CHECK(top_count(0.29, 100) == 28);  // 0.29 * 100 = 28.999999999999996
    CHECK(top_count(0.5, 7) == 3);
    CHECK(top_count(1.0, 7) == 7);
    CHECK(top_count(2.0, 7) == 7);
    CHECK(top_count(0.0, 7) == 0);
    CHECK(top_count(0.1, 5) == 0);
}

TEST_CASE("ascending row ranks put the lower index above its equals", "[merge][select]") {
    const std::vector<std::uint32_t> row{5, 1, 5, 0, 5};
    std::vector<std::uint32_t> ranks(row.size());
    std::vector<std::uint32_t> order;
    ascending_ranks<std::uint32_t>(row, ranks, order);
    CHECK(ranks == std::vector<std::uint32_t>{4, 1, 3, 0, 2});
}

TEST_CASE("the sampled pass resolves continuous and mildly tied data in one pass, with the radix cut", "[merge][select]") {
    for (const int levels : {0, 4000}) {
        const std::size_t n = 2 * select_grain + 777;  // several chunks
        const auto v = values<float>(10 + static_cast<std::uint64_t>(levels), n, levels);
        std::vector<std::uint32_t> bits(n);
        for (std::size_t i = 0; i < n; ++i) bits[i] = magnitude_bits(v[i]);
        const std::vector<select_query> queries{{0, n / 2}, {0, n / 100}, {0, n - n / 50}};
        std::vector<std::size_t> need;
        for (const auto& q : queries) need.push_back(q.k);
        std::vector<char> active(queries.size(), 1);
        std::vector<rank_cut<std::uint32_t>> sampled(queries.size());
        auto produce = [&](std::size_t b, std::size_t e, std::span<std::uint32_t> out) {
            std::copy(bits.begin() + static_cast<std::ptrdiff_t>(b), bits.begin() + static_cast<std::ptrdiff_t>(e), out.begin());
        };
        blend::test::for_each_isa_level([&](blend::isa_level level) {
            std::fill(active.begin(), active.end(), 1);
            sampled_select<std::uint32_t>(n, 1, queries, need, active, sampled, produce);
            for (std::size_t q = 0; q < queries.size(); ++q) {
                CAPTURE(levels, q, blend::name(level));
                CHECK(active[q] == 0);  // resolved by the sampled pass, not left to the radix passes
                const auto radix = select_top<std::uint32_t>(bits, queries[q].k, std::numeric_limits<std::size_t>::max());
                CHECK(sampled[q].t == radix.t);
                CHECK(sampled[q].cut == radix.cut);
            }
        });
    }
}

TEST_CASE("split_block gives the same count and entries at every instruction-set level", "[merge][select][isa]") {
    blend::random_stream rng(5, 6);
    const std::size_t len = select_block - 5;  // vector bodies and a scalar tail
    std::vector<std::uint32_t> v(len);
    for (std::size_t j = 0; j < len; ++j) v[j] = rng.bits(j) % 4000 + 0x3A000000u;  // patterns below 2^31
    v[0] = 0x7FFFFFFFu;
    v[1] = 0;
    struct bracket {
        std::uint32_t low, width;
    };
    for (const bracket b : {bracket{0x3A000000u + 1000, 500}, bracket{0x3A000000u + 3999, 0}, bracket{0, 0x3A000000u + 10},
                            bracket{0x3A000000u + 2000, 0xFFFFFFFFu - (0x3A000000u + 2000)}}) {
        CAPTURE(b.low, b.width);
        bracket_entries<std::uint32_t> want;
        want.allocate(len);
        want.size = 3;  // appends after what is there
        const std::size_t want_above = split_entries<std::uint32_t>(v.data(), 0, len, b.low, b.width, 100, want);
        std::size_t inside = 0;
        for (const std::uint32_t x : v) inside += x >= b.low && x - b.low <= b.width;
        CHECK(want.size == 3 + inside);
        blend::test::for_each_isa_level([&](blend::isa_level level) {
            CAPTURE(blend::name(level));
            bracket_entries<std::uint32_t> got;
            got.allocate(len);
            got.size = 3;
            CHECK(split_block<std::uint32_t>(v.data(), len, b.low, b.width, 100, got) == want_above);
            REQUIRE(got.size == want.size);
            CHECK(std::equal(got.bits.get() + 3, got.bits.get() + got.size, want.bits.get() + 3));
            CHECK(std::equal(got.offsets.get() + 3, got.offsets.get() + got.size, want.offsets.get() + 3));
        });
    }
}
