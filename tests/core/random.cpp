// Tests for blend/core/random.hpp: Philox4x32-10 known answers, the stream layout, golden values from
// an independent reference, order/thread independence, and distribution checks.
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>

#include "support/catch.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string_view>
#include <vector>

namespace {

using words4 = std::array<std::uint32_t, 4>;
using words2 = std::array<std::uint32_t, 2>;

struct philox_kat {
    words4 counter;
    words2 key;
    words4 expected;
};

// Known-answer vectors of Random123 ("kat_vectors": name, rounds, CTR[4], KEY[2], EXPECTED[4]).
// The first three are the lines Random123 ships for philox4x32 10 (zeros, ones, digits of pi), as
// pasted from that file into DEShawResearch/Random123-Boost, libs/random/test/test_philox.cpp
// (commit 916db91ae4c6fd8324ef054a518851321ab41f91). The others exercise single-bit keys and are from
// the longer Random123 kat_vectors table in girving/random123-manual, examples/kat_vectors
// (commit 61e8479252c42f0f8c0490dec55237d7c01bf509).
constexpr std::array<philox_kat, 7> philox_kats{{
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
     {0x00000000, 0x00000000},
     {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    {{0x00000001, 0x00000000, 0x00000000, 0x00000000},
     {0x00000001, 0x00000000},
     {0xac08141b, 0xdfc5ccbe, 0x79c07a47, 0xa7f66093}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0x00000000, 0x00000001},
     {0x126514c3, 0xd1898b69, 0xda2707b3, 0x6e6fb436}},
    {{0x00000000, 0x00000000, 0x00000000, 0x80000000},
     {0x00000000, 0x80000000},
     {0xf7a0b371, 0xe51dc93d, 0x56ce135d, 0x1d4b5580}},
    {{0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89},
     {0x00000000, 0xffffffff},
     {0x9fcce05d, 0x837d3f3c, 0x5cdf3e61, 0xdb2544c0}},
}};

// philox4x32 is constexpr: the "pi" vector holds at compile time too.
static_assert(blend::philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
              words4{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});

std::uint32_t lo(std::uint64_t x) { return static_cast<std::uint32_t>(x); }
std::uint32_t hi(std::uint64_t x) { return static_cast<std::uint32_t>(x >> 32); }

}  // namespace

TEST_CASE("philox4x32 reproduces Random123's known-answer vectors", "[random]") {
    for (const philox_kat& kat : philox_kats) {
        CHECK(blend::philox4x32(kat.counter, kat.key) == kat.expected);
    }
}

TEST_CASE("the lane-parallel Philox kernel matches philox4x32 lane by lane", "[random]") {
    constexpr std::size_t lanes = philox_kats.size();
    std::uint32_t c0[lanes];
    std::uint32_t c1[lanes];
    std::uint32_t c2[lanes];
    std::uint32_t c3[lanes];
    for (std::size_t lane = 0; lane < lanes; ++lane) {
        c0[lane] = philox_kats[lane].counter[0];
        c1[lane] = philox_kats[lane].counter[1];
        c2[lane] = philox_kats[lane].counter[2];
        c3[lane] = philox_kats[lane].counter[3];
    }
    const words2 key{0x01234567, 0x89abcdef};
    blend::detail::philox4x32_lanes(c0, c1, c2, c3, key[0], key[1]);
    for (std::size_t lane = 0; lane < lanes; ++lane) {
        CHECK(words4{c0[lane], c1[lane], c2[lane], c3[lane]} ==
              blend::philox4x32(philox_kats[lane].counter, key));
    }
}

TEST_CASE("random_stream element i is word i mod 4 of the Philox block floor(i/4)", "[random]") {
    const std::uint64_t seed = 0x0123456789abcdefull;
    const std::uint64_t key = 0xfedcba9876543210ull;
    const blend::random_stream rng{seed, key};
    for (const std::uint64_t i : {0ull, 1ull, 2ull, 3ull, 4ull, 77ull, (1ull << 40) + 6, (1ull << 62) - 1}) {
        const std::uint64_t b = i / 4;
        const words4 block = blend::philox4x32({lo(b), hi(b), lo(key), hi(key)}, {lo(seed), hi(seed)});
        CHECK(rng.bits(i) == block[i % 4]);
        CHECK(rng.block(b) == block);
        CHECK(rng.uniform_float(i) == static_cast<float>(block[i % 4] >> 8) * 0x1p-24f);
    }
    // Block indices are taken modulo 2^62, consistently in `block` and `bits`.
    CHECK(rng.block(5 + (1ull << 62)) == rng.block(5));
    CHECK(rng.bits(~0ull) == rng.block((1ull << 62) - 1)[3]);
    // Seed 0, key 0, block 0 is Philox of the all-zero counter and key.
    CHECK(blend::random_stream{0, 0}.block(0) == philox_kats[0].expected);
}

TEST_CASE("random_stream matches the independent Python reference", "[random]") {
    // Golden values from tests/reference/stream_key.py (its own Philox, checked against Random123).
    struct golden {
        std::uint64_t i;
        std::uint32_t bits;
        double uniform;
    };
    struct stream_case {
        std::uint64_t seed;
        std::uint64_t key;
        std::array<golden, 8> values;
    };
    const std::array<stream_case, 3> cases{{
        {0,
         0,
         {{{0x0ull, 0x6627e8d5u, 0x1.4564199ea2810p-1},
           {0x1ull, 0xe169c58du, 0x1.29f9efdf6d110p-1},
           {0x2ull, 0xbc57ac4cu, 0x1.35e27307d6a88p-2},
           {0x3ull, 0x9b00dbd8u, 0x1.287fdef842824p-1},
           {0x4ull, 0xf8e4cca4u, 0x1.7e84461bcb66bp-1},
           {0x5ull, 0x5cb200dbu, 0x1.8ebc0e0a62691p-1},
           {0x3e9ull, 0xa336e3c1u, 0x1.1249471ec28b4p-3},
           {0x10000000003ull, 0x0191d339u, 0x1.cd9a4fe7188aap-2}}}},
        {0x2a,
         0xc8a188901e7d7b82ull,
         {{{0x0ull, 0xf9066f80u, 0x1.bea121ed05372p-2},
           {0x1ull, 0x3391ad03u, 0x1.105f3e0fb3049p-1},
           {0x2ull, 0xd680f3aau, 0x1.feebb545f56a0p-1},
           {0x3ull, 0x3033cffcu, 0x1.aec83529c7787p-1},
           {0x4ull, 0x5ba1cc24u, 0x1.ca6c09c4873f8p-4},
           {0x5ull, 0xcbdadaa5u, 0x1.72aa1b2d28930p-5},
           {0x3e9ull, 0xe3bf61d1u, 0x1.4c07682173504p-2},
           {0x10000000003ull, 0x1489b3cdu, 0x1.76dbda3e8acf8p-1}}}},
        {0xffffffffffffffffull,
         0x8000000000000000ull,
         {{{0x0ull, 0xcf055ddfu, 0x1.ea0939ce4da0fp-1},
           {0x1ull, 0xd15d6115u, 0x1.22d7e8dff7b26p-1},
           {0x2ull, 0xcfc76f96u, 0x1.956b8ea8958b9p-1},
           {0x3ull, 0xb985e6ebu, 0x1.5540a66bee670p-5},
           {0x4ull, 0x38100386u, 0x1.f53c23b9eceb1p-1},
           {0x5ull, 0x68b5a43au, 0x1.b2fcbaee0ddeap-1},
           {0x3e9ull, 0x2e3d32efu, 0x1.357d01720f3a9p-1},
           {0x10000000003ull, 0x0daf83edu, 0x1.73e21dc1333d6p-1}}}},
    }};
    for (const stream_case& c : cases) {
        const blend::random_stream rng{c.seed, c.key};
        for (const golden& g : c.values) {
            CHECK(rng.bits(g.i) == g.bits);
            CHECK(rng.uniform(g.i) == g.uniform);
        }
    }
}

TEST_CASE("stream_key and its hashes match the independent Python reference", "[random]") {
    // Golden values from tests/reference/stream_key.py. FNV-1a("a") and splitmix64(0) also agree with
    // the published FNV test vectors and the first output of Vigna's splitmix64.c from state 0.
    CHECK(blend::detail::fnv1a64("") == 0xcbf29ce484222325ull);
    CHECK(blend::detail::fnv1a64("a") == 0xaf63dc4c8601ec8cull);
    CHECK(blend::detail::fnv1a64("foobar") == 0x85944171f73967e8ull);
    CHECK(blend::detail::fnv1a64("model.embed_tokens.weight") == 0xa88fd795d5c6d156ull);
    CHECK(blend::detail::splitmix64(0) == 0xe220a8397b1dcdafull);
    CHECK(blend::detail::splitmix64(1) == 0x910a2dec89025cc1ull);
    CHECK(blend::detail::splitmix64(0x123456789abcdefull) == 0x157a3807a48faa9dull);

    CHECK(blend::stream_key("", 0) == 0x5b21f68ffa77f14cull);
    CHECK(blend::stream_key("model.layers.0.mlp.down_proj.weight", 0) == 0x0d7e2ab6b3643538ull);
    CHECK(blend::stream_key("model.layers.0.mlp.down_proj.weight", 1) == 0xc8a188901e7d7b82ull);
    CHECK(blend::stream_key("lm_head.weight", 7) == 0x66e52de4c145d9c0ull);
    CHECK(blend::stream_key("\xc3\xa9t\xc3\xa9", 3) == 0x2211d681fcf97593ull);  // UTF-8 bytes of "été"
    static_assert(blend::stream_key("lm_head.weight", 7) == 0x66e52de4c145d9c0ull);
}

TEST_CASE("random_stream values do not depend on evaluation order, chunking or thread count", "[random]") {
    const blend::random_stream rng{2024, blend::stream_key("model.layers.3.self_attn.q_proj.weight", 2)};
    constexpr std::size_t n = 10007;  // not a multiple of 4 or of the grains below

    std::vector<std::uint32_t> bits_in_order(n);
    std::vector<float> floats_in_order(n);
    std::vector<double> doubles_in_order(n);
    for (std::size_t i = 0; i < n; ++i) {
        bits_in_order[i] = rng.bits(i);
        floats_in_order[i] = rng.uniform_float(i);
        doubles_in_order[i] = rng.uniform(i);
    }

    SECTION("in reverse order") {
        std::vector<std::uint32_t> bits(n);
        std::vector<double> doubles(n);
        for (std::size_t i = n; i-- > 0;) {
            bits[i] = rng.bits(i);
            doubles[i] = rng.uniform(i);
        }
        CHECK(bits == bits_in_order);
        CHECK(doubles == doubles_in_order);
    }

    SECTION("in chunks on 1, 2 and 4 threads, elementwise and with fill_uniform") {
        for (const std::size_t threads : {1u, 2u, 4u}) {
            blend::thread_pool pool{threads};
            for (const std::size_t grain : {1u, 3u, 64u, 1000u, 20000u}) {
                std::vector<float> elementwise(n);
                std::vector<float> filled(n);
                std::vector<double> doubles(n);
                blend::parallel_for(pool, n, grain, [&](std::size_t begin, std::size_t end) {
                    for (std::size_t i = begin; i < end; ++i) {
                        elementwise[i] = rng.uniform_float(i);
                        doubles[i] = rng.uniform(i);
                    }
                    rng.fill_uniform(begin, std::span<float>{filled}.subspan(begin, end - begin));
                });
                CHECK(elementwise == floats_in_order);
                CHECK(filled == floats_in_order);
                CHECK(doubles == doubles_in_order);
            }
        }
    }

    SECTION("fill_uniform equals uniform_float for every start offset and length") {
        for (std::uint64_t first = 0; first < 9; ++first) {
            for (std::size_t length = 0; length < 300; length += (length < 80 ? 1 : 37)) {
                std::vector<float> filled(length, -1.0f);
                rng.fill_uniform(first, filled);
                for (std::size_t j = 0; j < length; ++j) {
                    INFO("first " << first << ", length " << length << ", j " << j);
                    REQUIRE(filled[j] == rng.uniform_float(first + j));
                }
            }
        }
        // Far into the stream, across the point where the block index wraps modulo 2^62.
        const std::uint64_t far = ~0ull - 150;
        std::vector<float> filled(300);
        rng.fill_uniform(far, filled);
        for (std::size_t j = 0; j < filled.size(); ++j) {
            REQUIRE(filled[j] == rng.uniform_float(far + j));
        }
    }
}

TEST_CASE("uniform draws lie in [0, 1) with the mean and variance of U(0, 1)", "[random]") {
    // Over m draws the sample mean has sd sqrt(1/12 / m) and the mean of (u - 1/2)^2 has sd
    // sqrt((1/80 - 1/144) / m) = sqrt(1/180 / m); both must lie within 5 sd of 1/2 and 1/12.
    constexpr std::size_t m = 1'000'000;
    const blend::random_stream rng{7, blend::stream_key("uniform", 0)};
    std::vector<float> floats(m);
    rng.fill_uniform(0, floats);

    const auto check_moments = [&](const auto& draw) {
        double sum = 0.0;
        double sum_sq = 0.0;
        bool in_range = true;
        for (std::size_t i = 0; i < m; ++i) {
            const double u = draw(i);
            in_range = in_range && u >= 0.0 && u < 1.0;
            sum += u;
            sum_sq += (u - 0.5) * (u - 0.5);
        }
        CHECK(in_range);
        CHECK(std::abs(sum / m - 0.5) < 5.0 * std::sqrt(1.0 / 12.0 / m));
        CHECK(std::abs(sum_sq / m - 1.0 / 12.0) < 5.0 * std::sqrt(1.0 / 180.0 / m));
    };
    check_moments([&](std::size_t i) { return static_cast<double>(floats[i]); });
    check_moments([&](std::size_t i) { return rng.uniform(i); });

    // Floats are exact multiples of 2^-24.
    bool on_grid = true;
    for (const float u : floats) {
        const float scaled = u * 0x1p24f;
        on_grid = on_grid && scaled == std::floor(scaled);
    }
    CHECK(on_grid);
    // The extremes of the conversions: all-zero and all-one bits.
    CHECK(blend::detail::word_to_unit_float(0) == 0.0f);
    CHECK(blend::detail::word_to_unit_float(0xffffffffu) == 1.0f - 0x1p-24f);
    CHECK(blend::detail::words_to_unit_double(0xffffffffu, 0xffffffffu) == 1.0 - 0x1p-53);
}

TEST_CASE("bernoulli(p) is true for a fraction p of the indices", "[random]") {
    constexpr std::size_t m = 1'000'000;
    const blend::random_stream rng{11, blend::stream_key("mask", 1)};
    for (const double p : {0.1, 0.5, 0.9}) {
        std::size_t kept = 0;
        for (std::size_t i = 0; i < m; ++i) {
            kept += rng.bernoulli(i, p) ? 1 : 0;
        }
        INFO("p = " << p << ", kept " << kept);
        CHECK(std::abs(static_cast<double>(kept) / m - p) < 3.0 * std::sqrt(p * (1.0 - p) / m));
    }
    bool p0_never = true;
    bool p1_always = true;
    for (std::size_t i = 0; i < 10000; ++i) {
        p0_never =
            p0_never && !rng.bernoulli(i, 0.0) && !rng.bernoulli(i, -1.0) && !rng.bernoulli(i, std::nan(""));
        p1_always = p1_always && rng.bernoulli(i, 1.0) && rng.bernoulli(i, 2.0);
    }
    CHECK(p0_never);
    CHECK(p1_always);
}

TEST_CASE("different seeds, keys and views give unrelated values", "[random]") {
    constexpr std::size_t m = 100'000;
    const std::uint64_t key = blend::stream_key("w", 0);
    const blend::random_stream base{1, key};
    const blend::random_stream other_seed{2, key};
    const blend::random_stream other_key{1, blend::stream_key("w", 1)};
    std::size_t same_seed_collisions = 0;
    std::size_t same_key_collisions = 0;
    double sum_xy = 0.0;
    for (std::size_t i = 0; i < m; ++i) {
        same_seed_collisions += base.bits(i) == other_seed.bits(i) ? 1 : 0;
        same_key_collisions += base.bits(i) == other_key.bits(i) ? 1 : 0;
        // Correlation of the 32-bit and 64-bit views at the same index (centred products).
        sum_xy += (base.uniform_float(i) - 0.5) * (base.uniform(i) - 0.5);
    }
    // Equal 32-bit words happen with probability 2^-32 per index.
    CHECK(same_seed_collisions <= 2);
    CHECK(same_key_collisions <= 2);
    // Pearson r = mean(xy) / (1/12); independent views give |r| < 5 / sqrt(m).
    CHECK(std::abs(sum_xy / m * 12.0) < 5.0 / std::sqrt(static_cast<double>(m)));
    CHECK(blend::stream_key("w", 0) != blend::stream_key("w", 1));
    CHECK(blend::stream_key("ab", 0) != blend::stream_key("ba", 0));
}
