#pragma once
/// @file blend/merge/detail/consensus.hpp
/// The TIES sign election ("consensus", METHODS.md §1 step 3) and the masked mix, shared by the
/// task-vector engine (detail/gta.hpp) and SCE's erase step (sce.hpp). Branch-free: the masks are
/// close to random, so the loops work on sign bits instead of branching.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace blend::merge::detail {

/// Sign election (see task_arithmetic.hpp).
enum class gta_consensus { none, sum, count };

/// The votes of the sign election for `len` entries of `count` models (values v[i * len + j]):
/// vote_j = sum_i v_ij (`sum`) or sum_i sign(v_ij) (`count`), in a per-thread buffer valid until the
/// thread's next call.
[[nodiscard]] inline const std::vector<double>& tally_votes(const double* v, std::size_t count, std::size_t len,
                                                            gta_consensus mode) {
    thread_local std::vector<double> vote;
    vote.assign(len, 0.0);
    for (std::size_t i = 0; i < count; ++i) {
        const double* w = v + i * len;
        if (mode == gta_consensus::count) {
            for (std::size_t j = 0; j < len; ++j) vote[j] += static_cast<double>(w[j] > 0) - static_cast<double>(w[j] < 0);
        } else {
            for (std::size_t j = 0; j < len; ++j) vote[j] += w[j];
        }
    }
    return vote;
}

/// The TIES sign election and masked mix shared by GTA and SCE, for `len` entries of `count` models
/// (values v[i * len + j]): s_j = +1 if the vote (sum of v_ij for `sum`, of sign(v_ij) for `count`)
/// is >= 0, else -1; model i agrees at j iff sign(v_ij) == s_j (zeros never agree);
///   mixed[j] = sum over agreeing i of factor_i v_ij,   divisor[j] = sum over agreeing i of weight_i.
/// Models outer, entries inner: every loop is branch-free and vectorizes (masks are ~random).
inline void elect_and_mix(const double* v, std::size_t count, std::size_t len, gta_consensus mode,
                          std::span<const double> factor, std::span<const double> weight, double* mixed, double* divisor) {
    const std::vector<double>& vote = tally_votes(v, count, len, mode);
    for (std::size_t j = 0; j < len; ++j) mixed[j] = divisor[j] = 0.0;
    // s_j = +1 iff vote_j >= 0, i.e. iff the sign bit of vote_j is clear (a sum starting at +0 is
    // never -0). Model i agrees iff w has s_j's sign bit and w != 0. Integer masks on the bit patterns
    // keep the loop free of FP compares, so it vectorizes under the default -ftrapping-math.
    for (std::size_t i = 0; i < count; ++i) {
        const double* w = v + i * len;
        const double f = factor[i];
        const std::uint64_t g = std::bit_cast<std::uint64_t>(weight[i]);
        for (std::size_t j = 0; j < len; ++j) {
            const auto bw = std::bit_cast<std::uint64_t>(w[j]);
            const auto bs = std::bit_cast<std::uint64_t>(vote[j]);
            const std::uint64_t agree = (((bw ^ bs) >> 63) ^ 1) & static_cast<std::uint64_t>((bw << 1) != 0);
            const std::uint64_t mask = std::uint64_t{0} - agree;
            mixed[j] += std::bit_cast<double>(std::bit_cast<std::uint64_t>(f * w[j]) & mask);
            divisor[j] += std::bit_cast<double>(g & mask);
        }
    }
}

/// `elect_and_mix` for float32 math, with factor 1: v = wd (float64), and agreement read from the float32
/// kept deltas k (wd_i = c_i k_i with c_i = w_i × rescale, so sign(wd_i) = sign(c_i) sign(k_i) and
/// wd_i != 0 iff c_i != 0 and k_i != 0). 32-bit integer masks vectorize with SSE2 (64-bit compares
/// need SSE4.1), which makes this the fast path of the engine.
inline void elect_and_mix_f32(const double* v, const float* k, std::size_t count, std::size_t len, gta_consensus mode,
                              std::span<const double> weight, std::span<const std::uint32_t> sign, double* mixed,
                              double* divisor) {
    const std::vector<double>& vote = tally_votes(v, count, len, mode);
    for (std::size_t j = 0; j < len; ++j) mixed[j] = divisor[j] = 0.0;
    for (std::size_t i = 0; i < count; ++i) {
        if (weight[i] == 0) continue;  // wd_i = 0 never agrees
        const double* w = v + i * len;
        const float* ki = k + i * len;
        const std::uint32_t si = sign[i];
        const double g = weight[i];
        for (std::size_t j = 0; j < len; ++j) {
            // The sign bit of float(vote) is the sign bit of vote (a sum from +0 is never -0).
            const auto bits = std::bit_cast<std::uint32_t>(ki[j]);
            const auto vote_bits = std::bit_cast<std::uint32_t>(static_cast<float>(vote[j]));
            const auto agree = static_cast<std::int32_t>((((bits ^ si ^ vote_bits) >> 31) ^ 1u) &
                                                         static_cast<std::uint32_t>((bits << 1) != 0));
            const double a = static_cast<double>(agree);
            mixed[j] += a * w[j];
            divisor[j] += a * g;
        }
    }
}

}  // namespace blend::merge::detail
