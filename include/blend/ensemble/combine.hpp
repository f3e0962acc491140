#pragma once
/// @file blend/ensemble/combine.hpp
/// The probability combinators of METHODS.md §2 and CLI.md `blend-ensemble combine`, over M members
/// of (N, C) scores or single-column (N,) scores, all in float64:
///
///   soft       sum_m w_m P_m / sum_m w_m                          (numpy `average`; sklearn soft vote)
///   logit      softmax_c(sum_m w_m Z_m / sum_m w_m)               single column: sigmoid
///   geometric  softmax_c(sum_m w_m log max(P_m, 1e-15) / sum w)   the renormalised weighted geometric
///              mean; single column: p_g / (p_g + q_g) with q = 1 - p, both clipped at 1e-15
///   rank       sum_m w_m (R_m - 1)/(N - 1) / sum w, rows renormalised; R_m[i, c] is the average rank
///              (1..N, ties averaged as scipy `rankdata`) of row i within column c of member m
///   median     per-entry median across members (mean of the two middle values for even M, as numpy)
///   trimmed    per-entry mean after dropping floor(0.1 M) members at each end (scipy `trim_mean(., 0.1)`)
///   max        per-entry maximum
///
/// median, trimmed, max and rank renormalise each row of a multi-column result to sum 1 (a row
/// summing to zero becomes uniform); median, trimmed and max ignore the weights. Deviation: for N = 1
/// the rank scaling (R - 1)/(N - 1) is undefined; blend uses 0 for it (then the uniform row).
/// The hard vote, which returns labels, is `hard_vote` in blend/ensemble/hard_vote.hpp.

#include <blend/ensemble/detail/combine_kernels.hpp>
#include <blend/ensemble/member_block.hpp>

#include <blend/core/detail/xtensor.hpp>

#include <array>
#include <cmath>
#include <numeric>
#include <optional>
#include <span>
#include <string_view>

namespace blend::ensemble {

/// Every way `blend-ensemble combine --method` combines members.
enum class combine_method { soft, hard, logit, geometric, rank, median, trimmed, max };

/// Method names as the CLI spells them, in enum order.
inline constexpr std::array<std::string_view, 8> combine_method_names{"soft",   "hard",    "logit", "geometric",
                                                                      "rank",   "median",  "trimmed", "max"};

/// The method named `text` (CLI spelling), or nullopt.
[[nodiscard]] constexpr std::optional<combine_method> parse_combine_method(std::string_view text) noexcept {
    for (std::size_t k = 0; k < combine_method_names.size(); ++k)
        if (combine_method_names[k] == text) return static_cast<combine_method>(k);
    return std::nullopt;
}

/// The CLI spelling of `method`.
[[nodiscard]] constexpr std::string_view name(combine_method method) noexcept {
    return combine_method_names[static_cast<std::size_t>(method)];
}

/// Options of `combine`.
struct combine_options {
    combine_method method = combine_method::soft;
    /// One weight per member (any finite values with a non-zero sum); empty means equal weights.
    /// Ignored by median, trimmed and max.
    std::span<const double> weights{};
    /// Lower clip of probabilities before the logarithm of `geometric`.
    double clip = 1e-15;
};

/// Combines the members of `block` with `options.method` (see the file comment) into a float64 array
/// of `block.output_shape()`. Throws `invalid_argument` for no members, a wrong weight count, weights
/// that are not finite or sum to zero, and for `combine_method::hard` (use `hard_vote`).
[[nodiscard]] inline xt::xarray<double> combine(const member_block& block, const combine_options& options = {}) {
    using detail::renormalise_rows;
    const std::size_t c = block.columns;
    const auto w = detail::checked_weights(block.size(), options.weights, fmt::format("combine {}", name(options.method)));
    auto result = xt::xarray<double>::from_shape(block.output_shape());
    const std::span<double> out(result.data(), result.size());
    const double eps = options.clip;
    switch (options.method) {
    case combine_method::soft:
        detail::weighted_mean(block, w, out, [](double x) { return x; });
        break;
    case combine_method::logit:
        detail::weighted_mean(block, w, out, [](double x) { return x; });
        detail::softmax_rows(out, c);
        break;
    case combine_method::geometric:
        if (c == 1) {
            detail::weighted_mean(block, w, out, [eps](double p) {
                return std::log(std::max(p, eps)) - std::log(std::max(1.0 - p, eps));
            });
        } else {
            detail::weighted_mean(block, w, out, [eps](double p) { return std::log(std::max(p, eps)); });
        }
        detail::softmax_rows(out, c);
        break;
    case combine_method::rank: {
        std::fill(out.begin(), out.end(), 0.0);
        const double scale = block.rows > 1 ? 1.0 / static_cast<double>(block.rows - 1) : 0.0;
        const double total = std::accumulate(w.begin(), w.end(), 0.0);
        std::vector<double> ranks(block.rows);
        std::vector<std::size_t> order;
        for (std::size_t m = 0; m < block.size(); ++m) {
            for (std::size_t k = 0; k < c; ++k) {
                with_member_data(block.members[m], [&](const auto* p) {
                    detail::column_average_ranks(p, block.rows, c, k, ranks, order);
                });
                for (std::size_t i = 0; i < block.rows; ++i) out[i * c + k] += w[m] * (ranks[i] - 1.0) * scale;
            }
        }
        for (double& v : out) v /= total;
        renormalise_rows(out, c);
        break;
    }
    case combine_method::median:
        detail::per_entry_sorted(block, out, [](std::span<const double> v) {
            const std::size_t h = v.size() / 2;
            return v.size() % 2 == 1 ? v[h] : 0.5 * (v[h - 1] + v[h]);
        });
        renormalise_rows(out, c);
        break;
    case combine_method::trimmed:
        detail::per_entry_sorted(block, out, [](std::span<const double> v) {
            const std::size_t cut = v.size() / 10;  // floor(0.1 M)
            double sum = 0.0;
            for (std::size_t m = cut; m < v.size() - cut; ++m) sum += v[m];
            return sum / static_cast<double>(v.size() - 2 * cut);
        });
        renormalise_rows(out, c);
        break;
    case combine_method::max:
        detail::per_entry_sorted(block, out, [](std::span<const double> v) { return v.back(); });
        renormalise_rows(out, c);
        break;
    case combine_method::hard:
        throw invalid_argument{"combine: the hard vote returns labels; call hard_vote"};
    }
    return result;
}

/// `combine` over any range of float32/float64 tensors of one shape ((N, C), (N,) or (N, 1)).
template <std::ranges::random_access_range R>
    requires tensor<std::ranges::range_value_t<R>>
[[nodiscard]] xt::xarray<double> combine(const R& members, const combine_options& options = {}) {
    return combine(make_member_block(members), options);
}

}  // namespace blend::ensemble
