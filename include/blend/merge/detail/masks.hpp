#pragma once
/// @file blend/merge/detail/masks.hpp
/// The one seeded Bernoulli mask of the random merge methods (DARE, DELLA) and DELLA's keep
/// probabilities (METHODS.md "Random masks", §1 step 1).
///
/// Mask. Element i of model m of tensor T is kept iff
///   random_stream{seed, stream_key(T, m)}.uniform_float(i) < p_i
/// (m = the model's 0-based position among the non-base inputs, in config order). uniform_float is a
/// multiple of 2^-24 in [0, 1), so p <= 0 never keeps and p >= 1 always keeps; P(keep) = p up to
/// 2^-24. Draws depend only on (seed, T, m, i): any chunking, thread count or tensor order gives the
/// same mask. Bulk draws use `fill_uniform` (~1.3 ns per element).
///
/// DELLA (MAGPRUNE, Deep et al. 2024). Within a row (last axis; a 1-D tensor is one row) of m entries
/// with ascending magnitude rank r (0 = smallest |d|; ties: the lower flat index counts as larger):
///   p = (density - epsilon) + 2 epsilon r / (m - 1),   a 1-element row: p = density.

#include <blend/core/error.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/detail/select.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace blend::merge::detail {

/// The stream of model `model`'s mask for tensor `tensor_name`.
[[nodiscard]] inline random_stream mask_stream(std::uint64_t seed, std::string_view tensor_name, std::size_t model) noexcept {
    return random_stream{seed, stream_key(tensor_name, model)};
}

/// keep[j] = (uniform_float(first + j) < p) for a constant probability p.
inline void bernoulli_keep(const random_stream& rng, std::size_t first, double p, std::span<std::uint8_t> keep) {
    thread_local std::vector<float> u;
    u.resize(keep.size());
    rng.fill_uniform(first, u);
    for (std::size_t j = 0; j < keep.size(); ++j) keep[j] = static_cast<double>(u[j]) < p ? 1 : 0;
}

/// keep[j] = (uniform_float(first + j) < p[j]) for per-element probabilities.
inline void bernoulli_keep(const random_stream& rng, std::size_t first, std::span<const double> p,
                           std::span<std::uint8_t> keep) {
    BLEND_ASSERT(p.size() == keep.size());
    thread_local std::vector<float> u;
    u.resize(keep.size());
    rng.fill_uniform(first, u);
    for (std::size_t j = 0; j < keep.size(); ++j) keep[j] = static_cast<double>(u[j]) < p[j] ? 1 : 0;
}

/// Throws unless DELLA's (density, epsilon) are valid for `method`: density >= 0, epsilon >= 0, and
/// density - epsilon > 0 and density + epsilon < 1 unless density is 0 or >= 1.
inline void check_della_parameters(std::string_view method, double density, double epsilon) {
    if (!(epsilon >= 0) || !std::isfinite(epsilon)) {
        throw invalid_argument{fmt::format("{}: epsilon must be a finite value >= 0, got {}", method, epsilon)};
    }
    if (density == 0 || density >= 1) return;
    if (!(density - epsilon > 0) || !(density + epsilon < 1)) {
        throw invalid_argument{fmt::format("{}: density +/- epsilon must lie in (0, 1) (density {}, epsilon {})", method,
                                           density, epsilon)};
    }
}

/// DELLA keep probabilities of one row from its magnitude patterns (see the file comment). `order`
/// and `ranks` are scratch buffers.
template <class Bits>
void della_row_probabilities(std::span<const Bits> row, double density, double epsilon, std::span<double> p,
                             std::vector<std::uint32_t>& order, std::vector<std::uint32_t>& ranks) {
    const std::size_t m = row.size();
    BLEND_ASSERT(p.size() == m);
    if (m == 1) {
        p[0] = density;
        return;
    }
    ranks.resize(m);
    ascending_ranks<Bits>(row, ranks, order);
    const double low = density - epsilon;
    const double span = 2.0 * epsilon;
    const double denominator = static_cast<double>(m - 1);
    for (std::size_t j = 0; j < m; ++j) p[j] = low + span * (static_cast<double>(ranks[j]) / denominator);
}

}  // namespace blend::merge::detail
