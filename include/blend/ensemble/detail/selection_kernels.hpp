#pragma once
/// @file blend/ensemble/detail/selection_kernels.hpp
/// The fast scoring paths of greedy ensemble selection (blend/ensemble/selection.hpp):
///
/// * Log loss on true-class probabilities only. A candidate mix a*B + b*P_j is scored through
///   q_r = (a B[r, y_r] + b P_j[r, y_r]) / (a sum_c B[r, c] + b sum_c P_j[r, c]) (no division for binary
///   and regression-free single-column inputs, where the true-class value is y ? p : 1 - p). This equals
///   sklearn's log loss whenever no entry needs clipping — exact for normalised inputs. q is clipped to
///   [1e-15, 1 - 1e-15]; the sum of logs is taken as the log of a product, renormalised every 16 rows by
///   moving the binary exponent into an integer (each factor >= 1e-15, so 16 of them stay normal): one
///   `log` per lane per candidate instead of one per row, with ~1e-16 relative error per row. For members
///   whose rows sum to 1, a float32 copy of the true-class table serves a screening pass (error bound
///   `float_screen_error`) before the float64 pass over the few candidates that can still win.
/// * Squared error (Brier, RMSE) through the member Gram matrix G_kl = <P_k, P_l> and the label products
///   <P_k, Y>: for B = sum_k c_k P_k, ||a B + b P_j - Y||^2 = a^2 c'Gc + b^2 G_jj + |Y|^2
///   + 2ab (Gc)_j - 2a c'(PY) - 2b (PY)_j — O(M^2) per step instead of O(M N C).

#include <blend/core/isa.hpp>
#include <blend/core/parallel.hpp>
#include <blend/ensemble/member_block.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(BLEND_ISA_X86)  // core/isa.hpp: x86-64 with GCC or Clang
#include <immintrin.h>
#endif

namespace blend::ensemble::detail {

/// Lower clip of a probability in the log loss (sklearn 1.2.1's eps).
inline constexpr double log_loss_eps = 1e-15;

/// Member m's true-class probabilities (M x N, row-major) and, for multiclass members whose rows do
/// not all sum to 1 within 1e-12, their row sums (else empty: every row sum is taken as 1).
struct true_class_table {
    std::vector<double> p;
    std::vector<double> row_sum;
    /// p rounded to float32 (half the memory traffic): the screening copy of `log_loss_scorer`.
    std::vector<float> p_float;
};

/// What `gather_true_class` keeps: the float64 table (with row sums where needed), or — the screening
/// layout of `log_loss_scorer` — only the float32 copy when every member row sums to 1 (float64 values are
/// then re-read from the members for the few candidates that need them), else the float64 table.
enum class true_class_storage {
    float64,
    screening
};

/// P_m[r, y_r] (multiclass) or y_r ? P_m[r] : 1 - P_m[r] (single column, labels 0/1), as float64.
template <class E>
[[nodiscard]] inline double true_class_value(const E* data, std::size_t columns, std::size_t r,
                                             std::int64_t label) {
    if (columns == 1) {
        const double v = static_cast<double>(data[r]);
        return label != 0 ? v : 1.0 - v;
    }
    return static_cast<double>(data[r * columns + static_cast<std::size_t>(label)]);
}

/// Writes member m's true-class probabilities into `out` (N values).
inline void member_true_class(const member_block& block, std::size_t m, std::span<const std::int64_t> labels,
                              double* out) {
    with_member_data(block.members[m], [&](const auto* data) {
        for (std::size_t r = 0; r < block.rows; ++r)
            out[r] = true_class_value(data, block.columns, r, labels[r]);
    });
}

/// sum_k row[k] with four partial sums (a dependency chain of c/4 adds instead of c: the gather is
/// latency-bound otherwise).
template <class E>
[[nodiscard]] inline double row_sum(const E* row, std::size_t c) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    std::size_t k = 0;
    for (; k + 4 <= c; k += 4) {
        s0 += static_cast<double>(row[k]);
        s1 += static_cast<double>(row[k + 1]);
        s2 += static_cast<double>(row[k + 2]);
        s3 += static_cast<double>(row[k + 3]);
    }
    for (; k < c; ++k) s0 += static_cast<double>(row[k]);
    return (s0 + s1) + (s2 + s3);
}

/// Gathers the true-class table (see `true_class_table` and `true_class_storage`), members in parallel.
[[nodiscard]] inline true_class_table gather_true_class(
    const member_block& block, std::span<const std::int64_t> labels,
    true_class_storage storage = true_class_storage::float64) {
    const std::size_t n = block.rows, c = block.columns, count = block.size();
    std::vector<char> normalised(count, 1);
    true_class_table table;
    if (storage == true_class_storage::screening) {  // one streaming pass: float32 copy + row-sum check
        table.p_float.resize(count * n);
        parallel_for(count, 4, [&](std::size_t begin, std::size_t end) {
            for (std::size_t m = begin; m < end; ++m) {
                with_member_data(block.members[m], [&](const auto* data) {
                    float* out = table.p_float.data() + m * n;
                    bool ok = true;
                    for (std::size_t r = 0; r < n; ++r) {
                        out[r] = static_cast<float>(true_class_value(data, c, r, labels[r]));
                        if (c == 1) continue;
                        ok = ok && std::abs(row_sum(data + r * c, c) - 1.0) <= 1e-12;
                    }
                    normalised[m] = ok ? 1 : 0;
                });
            }
        });
        if (std::find(normalised.begin(), normalised.end(), 0) == normalised.end()) return table;
        table.p_float.clear();
        table.p_float.shrink_to_fit();
    } else if (c > 1) {
        parallel_for(count, 4, [&](std::size_t begin, std::size_t end) {
            for (std::size_t m = begin; m < end; ++m) {
                with_member_data(block.members[m], [&](const auto* data) {
                    for (std::size_t r = 0; r < n && normalised[m]; ++r) {
                        if (std::abs(row_sum(data + r * c, c) - 1.0) > 1e-12) normalised[m] = 0;
                    }
                });
            }
        });
    }
    const bool all_normalised = std::find(normalised.begin(), normalised.end(), 0) == normalised.end();
    table.p.resize(count * n);
    if (!all_normalised) table.row_sum.resize(count * n);
    parallel_for(count, 4, [&](std::size_t begin, std::size_t end) {
        for (std::size_t m = begin; m < end; ++m) {
            member_true_class(block, m, labels, table.p.data() + m * n);
            if (all_normalised) continue;
            with_member_data(block.members[m], [&](const auto* data) {
                for (std::size_t r = 0; r < n; ++r) {
                    double s = 0.0;
                    for (std::size_t k = 0; k < c; ++k) s += static_cast<double>(data[r * c + k]);
                    table.row_sum[m * n + r] = s;
                }
            });
        }
    });
    return table;
}

/// Lanes of the running products of `sum_log_product` and `sum_log_affine*`, and blocks of 8 rows between
/// two renormalisations (each q >= 1e-15, so 16 blocks of products stay far above the smallest double).
inline constexpr std::size_t product_lanes = 8;
inline constexpr std::size_t renormalise_every = 16;

/// Moves the binary exponent of every lane into `exponent`, leaving each lane's mantissa in [1, 2): the
/// products never underflow and the value exponent·ln 2 + sum log(lane) is unchanged.
inline void renormalise_lanes(double (&lanes)[product_lanes], std::int64_t& exponent) noexcept {
    for (double& lane : lanes) {
        const auto bits = std::bit_cast<std::uint64_t>(lane);
        exponent += static_cast<std::int64_t>((bits >> 52) & 0x7ff) - 1023;
        lane = std::bit_cast<double>((bits & ~(std::uint64_t{0x7ff} << 52)) | (std::uint64_t{1023} << 52));
    }
}

/// log of the running product: exponent·ln 2 + sum over the lanes of log(lane), lanes in order.
[[nodiscard]] inline double log_of_lanes(const double (&lanes)[product_lanes], std::int64_t exponent) {
    double total = static_cast<double>(exponent) * 0.69314718055994530942;
    for (const double lane : lanes) total += std::log(lane);
    return total;
}

/// `renormalise_lanes` on vector registers holding the 8 lanes (their bytes, in lane order).
template <class Vectors>
inline void renormalise_vector_lanes(Vectors& product, std::int64_t& exponent) noexcept {
    static_assert(sizeof(Vectors) == sizeof(double) * product_lanes);
    double lanes[product_lanes];
    std::memcpy(lanes, &product, sizeof lanes);
    renormalise_lanes(lanes, exponent);
    std::memcpy(&product, lanes, sizeof lanes);
}

/// `log_of_lanes` of vector registers holding the 8 lanes.
template <class Vectors>
[[nodiscard]] inline double log_of_vector_lanes(const Vectors& product, std::int64_t exponent) {
    static_assert(sizeof(Vectors) == sizeof(double) * product_lanes);
    double lanes[product_lanes];
    std::memcpy(lanes, &product, sizeof lanes);
    return log_of_lanes(lanes, exponent);
}

/// Accumulates log(clip(q)) of a stream of q values as a product of 8 lanes, renormalised every 16 blocks
/// (see the file comment); `q_of(r)` gives q_r. Returns sum_r log(clip(q_r)).
template <class Q>
[[nodiscard]] inline double sum_log_product(std::size_t n, Q&& q_of) {
    constexpr std::size_t lanes = product_lanes;
    constexpr double hi = 1.0 - log_loss_eps;
    double product[lanes];
    std::fill(product, product + lanes, 1.0);
    std::int64_t exponent = 0;
    const std::size_t full = n - n % lanes;
    std::size_t blocks = 0;
    for (std::size_t r = 0; r < full; r += lanes) {
        for (std::size_t k = 0; k < lanes; ++k)
            product[k] *= std::min(std::max(q_of(r + k), log_loss_eps), hi);
        if (++blocks == renormalise_every) {
            blocks = 0;
            renormalise_lanes(product, exponent);
        }
    }
    double total = log_of_lanes(product, exponent);
    for (std::size_t r = full; r < n; ++r) total += std::log(std::min(std::max(q_of(r), log_loss_eps), hi));
    return total;
}

/// sum_r log(clip(q_r)) with q_r = (base[r] + b * p[r]) / (base_sum[r] + b * p_sum[r]); `base_sum` empty
/// means no division (single column), `p_sum` null means member row sums of 1 (then q_r = u_r + v_r p_r with
/// u = base / den, v = b / den precomputed per row: one fused multiply-add per candidate and row).
[[nodiscard]] inline double sum_log_mix(std::span<const double> base, std::span<const double> base_sum,
                                        const double* p, const double* p_sum, double b) {
    const std::size_t n = base.size();
    if (base_sum.empty()) return sum_log_product(n, [&](std::size_t r) { return base[r] + b * p[r]; });
    if (p_sum != nullptr)
        return sum_log_product(
            n, [&](std::size_t r) { return (base[r] + b * p[r]) / (base_sum[r] + b * p_sum[r]); });
    return sum_log_product(n, [&](std::size_t r) { return (base[r] + b * p[r]) / (base_sum[r] + b); });
}

/// Two doubles of a GCC/Clang vector extension.
using double_pair = double __attribute__((vector_size(16)));

/// min(max(q, lo), hi) per lane: SSE2 `maxpd`/`minpd` where available (GCC lowers the portable vector
/// conditional to compare-and-blend, twice as slow here), the vector conditional elsewhere.
[[nodiscard]] inline double_pair clip_pair(double_pair q, double_pair lo, double_pair hi) {
#if defined(__SSE2__)
    return reinterpret_cast<double_pair>(
        _mm_min_pd(_mm_max_pd(reinterpret_cast<__m128d>(q), reinterpret_cast<__m128d>(lo)),
                   reinterpret_cast<__m128d>(hi)));
#else
    q = q < lo ? lo : q;
    return q > hi ? hi : q;
#endif
}

/// sum_r log(clip(u_r + v_r p_r)): the hot loop of `sum_log_mix` for normalised members, with the row
/// terms u, v computed once per step; p is float64, or its float32 rounding for the screening pass. Written
/// with GCC/Clang vector extensions (two doubles per operation, SSE2 baseline, wider with -march): four
/// vector products of the clipped q (8 lanes), renormalised every 16 blocks as in `sum_log_product`, whose
/// scalar loop finishes the rows.
template <class P>
[[nodiscard]] inline double sum_log_affine(const double* u, const double* v, const P* p, std::size_t n) {
    using v2d = double_pair;
    using v2f = float __attribute__((vector_size(8)));
    constexpr double lo = log_loss_eps, hi = 1.0 - log_loss_eps;
    const v2d vlo = {lo, lo}, vhi = {hi, hi};
    auto load = [](const auto* x) {
        if constexpr (std::is_same_v<std::remove_cv_t<std::remove_pointer_t<decltype(x)>>, float>) {
            v2f f;
            std::memcpy(&f, x, sizeof f);
            return __builtin_convertvector(f, v2d);
        } else {
            v2d d;
            std::memcpy(&d, x, sizeof d);
            return d;
        }
    };
    v2d product[4] = {{1.0, 1.0}, {1.0, 1.0}, {1.0, 1.0}, {1.0, 1.0}};
    std::int64_t exponent = 0;
    const std::size_t full = n - n % product_lanes;
    std::size_t blocks = 0;
    for (std::size_t r = 0; r < full; r += product_lanes) {
        for (std::size_t h = 0; h < 4; ++h) {
            v2d q = load(u + r + 2 * h) + load(v + r + 2 * h) * load(p + r + 2 * h);
            q = clip_pair(q, vlo, vhi);
            product[h] *= q;
        }
        if (++blocks == renormalise_every) {
            blocks = 0;
            renormalise_vector_lanes(product, exponent);
        }
    }
    double total = log_of_vector_lanes(product, exponent);
    for (std::size_t r = full; r < n; ++r)
        total += std::log(std::min(std::max(u[r] + v[r] * static_cast<double>(p[r]), lo), hi));
    return total;
}

#if defined(BLEND_ISA_X86)
/// `sum_log_affine` for the float32 screen with 256-bit AVX2 vectors (the same operations, four doubles at a
/// time; no FMA, so each lane rounds exactly as the SSE2 path does), compiled for AVX2 whatever the build's
/// -march and called only on CPUs that have it (`screen_log_affine`).
__attribute__((target("avx2"))) inline double sum_log_affine_avx2(const double* u, const double* v,
                                                                  const float* p, std::size_t n) {
    const __m256d lo = _mm256_set1_pd(log_loss_eps), hi = _mm256_set1_pd(1.0 - log_loss_eps);
    __m256d product[2] = {_mm256_set1_pd(1.0), _mm256_set1_pd(1.0)};
    std::int64_t exponent = 0;
    const std::size_t full = n - n % product_lanes;
    std::size_t blocks = 0;
    for (std::size_t r = 0; r < full; r += product_lanes) {
        for (std::size_t h = 0; h < 2; ++h) {
            const __m256d pd = _mm256_cvtps_pd(_mm_loadu_ps(p + r + 4 * h));
            __m256d q = _mm256_add_pd(_mm256_loadu_pd(u + r + 4 * h),
                                      _mm256_mul_pd(_mm256_loadu_pd(v + r + 4 * h), pd));
            q = _mm256_min_pd(_mm256_max_pd(q, lo), hi);
            product[h] = _mm256_mul_pd(product[h], q);
        }
        if (++blocks == renormalise_every) {
            blocks = 0;
            renormalise_vector_lanes(product, exponent);
        }
    }
    double total = log_of_vector_lanes(product, exponent);
    for (std::size_t r = full; r < n; ++r)
        total += std::log(
            std::min(std::max(u[r] + v[r] * static_cast<double>(p[r]), log_loss_eps), 1.0 - log_loss_eps));
    return total;
}
#endif

/// The screening pass: `sum_log_affine` over float32 probabilities, on AVX2 when the CPU has it.
[[nodiscard]] inline double screen_log_affine(const double* u, const double* v, const float* p,
                                              std::size_t n) {
#if defined(BLEND_ISA_X86)
    if (active_isa() >= isa_level::avx2) return sum_log_affine_avx2(u, v, p, n);
#endif
    return sum_log_affine(u, v, p, n);
}

/// Bound on |mean log q(float32 p) - mean log q(float64 p)|: each p is rounded with relative error <= 2^-24,
/// so q = u + v p (u, v >= 0) moves by <= 2^-24 q and log q by <= 2^-24 (the clip only shrinks differences),
/// with generous room for the product's own rounding (~1e-16 per row).
inline constexpr double float_screen_error = 1e-7;

/// The Gram matrix G_kl = sum_{r,c} P_k[r,c] P_l[r,c] of the members (M x M, symmetric), float64.
[[nodiscard]] inline std::vector<double> member_gram(const member_block& block) {
    const std::size_t count = block.size(), size = block.rows * block.columns;
    std::vector<double> gram(count * count);
    parallel_for(count, 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t k = begin; k < end; ++k) {
            with_member_data(block.members[k], [&](const auto* pk) {
                for (std::size_t l = 0; l <= k; ++l) {
                    with_member_data(block.members[l], [&](const auto* pl) {
                        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                        std::size_t i = 0;
                        for (; i + 4 <= size; i += 4) {
                            s0 += static_cast<double>(pk[i]) * static_cast<double>(pl[i]);
                            s1 += static_cast<double>(pk[i + 1]) * static_cast<double>(pl[i + 1]);
                            s2 += static_cast<double>(pk[i + 2]) * static_cast<double>(pl[i + 2]);
                            s3 += static_cast<double>(pk[i + 3]) * static_cast<double>(pl[i + 3]);
                        }
                        for (; i < size; ++i) s0 += static_cast<double>(pk[i]) * static_cast<double>(pl[i]);
                        gram[k * count + l] = gram[l * count + k] = (s0 + s1) + (s2 + s3);
                    });
                }
            });
        }
    });
    return gram;
}

/// <P_m, Y> for every member, with Y the one-hot labels (multiclass), the 0/1 labels (single-column
/// classification) or the targets (regression, `targets` non-empty); also returns |Y|^2 in `y_norm2`.
[[nodiscard]] inline std::vector<double> member_label_products(const member_block& block,
                                                               std::span<const std::int64_t> labels,
                                                               std::span<const double> targets,
                                                               double& y_norm2) {
    const std::size_t n = block.rows, c = block.columns;
    std::vector<double> out(block.size());
    for (std::size_t m = 0; m < block.size(); ++m) {
        out[m] = with_member_data(block.members[m], [&](const auto* data) {
            double s = 0.0;
            for (std::size_t r = 0; r < n; ++r) {
                if (!targets.empty())
                    s += static_cast<double>(data[r]) * targets[r];
                else if (c == 1)
                    s += labels[r] != 0 ? static_cast<double>(data[r]) : 0.0;
                else
                    s += static_cast<double>(data[r * c + static_cast<std::size_t>(labels[r])]);
            }
            return s;
        });
    }
    y_norm2 = 0.0;
    for (std::size_t r = 0; r < n; ++r) {
        if (!targets.empty())
            y_norm2 += targets[r] * targets[r];
        else
            y_norm2 += (c == 1 ? (labels[r] != 0 ? 1.0 : 0.0) : 1.0);
    }
    return out;
}

}  // namespace blend::ensemble::detail
