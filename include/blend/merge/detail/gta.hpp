#pragma once
/// @file blend/merge/detail/gta.hpp
/// The engine of generalized task arithmetic (METHODS.md §1, steps 1-5) on runtime-typed views:
/// per-model sparsifiers (none / magnitude / breadcrumbs / Bernoulli / DELLA), rescale, weights,
/// consensus, mix, normalize, lambda. The public surface is blend/merge/task_arithmetic.hpp.
///
/// Passes over the tensor (task vectors are recomputed from the inputs each pass, never stored):
///   selection (magnitude, breadcrumbs): one sampled pass for tensors of 1M+ entries, else (or when the
///     sample was unlucky) 2 histogram passes (float32; up to 4 for float64) + a tie pass when the k-th
///     magnitude is tied across the cut — detail/select.hpp;
///   DELLA: one pass over rows storing one float per element (0, 1 or 1/p);
///   l1 rescale: one reduction pass (sum |d|, sum |kept d| in float64);
///   apply: the elementwise core (mask, weight, consensus, mix, round once).

#include <blend/core/convert.hpp>
#include <blend/core/error.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/detail/consensus.hpp>
#include <blend/merge/detail/elementwise.hpp>
#include <blend/merge/detail/masks.hpp>
#include <blend/merge/detail/select.hpp>

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <type_traits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace blend::merge::detail {

/// How one model's task vector is sparsified.
enum class sparsifier { none, magnitude, breadcrumbs, bernoulli, della };
/// Rescale of the kept entries (see task_arithmetic.hpp).
enum class gta_rescale { none, l1, inverse_density };

/// One model's resolved parameters.
struct gta_model {
    sparsifier rule = sparsifier::none;
    double weight = 1.0;
    double density = 1.0;
    double gamma = 0.01;
    double epsilon = 0.15;
};

/// Everything the engine needs, validated by the caller.
struct gta_config {
    std::string_view method;
    std::string_view tensor_name;
    std::vector<gta_model> models;
    gta_rescale rescale = gta_rescale::none;
    gta_consensus consensus = gta_consensus::none;
    bool normalize = false;
    double lambda = 1.0;
    std::uint64_t seed = 0;
};

/// Per-model state of one run.
template <class M>
struct gta_state {
    using bits_type = magnitude_bits_t<M>;
    sparsifier rule = sparsifier::none;  // none also when density >= 1
    double weight = 1.0;
    double probability = 1.0;  // Bernoulli keep probability (DARE)
    double scale = 1.0;        // l1 factor, or 1/density for inverse_density (uniform p)
    rank_cut<bits_type> keep_top = rank_cut<bits_type>::all();  // entries in the top k kept...
    rank_cut<bits_type> drop_top = rank_cut<bits_type>::none();  // ...except those in the top n_top
    random_stream rng{0, 0};
    std::vector<float> factor;  // DELLA: 0, 1 or 1/p per element
};

/// out[j] = kept ? d_j : 0 (in M, d = x - b) for entries [offset, offset + len) of one model. DELLA's
/// per-element factor (0, 1 or 1/p) is not applied here: kept ⇔ factor != 0; see `della_factor`.
template <class M>
inline void kept_deltas(const gta_state<M>& s, const M* x, const M* b, std::size_t offset, std::size_t len, M* out) {
    using U = magnitude_bits_t<M>;
    switch (s.rule) {
    case sparsifier::none:
        for (std::size_t j = 0; j < len; ++j) out[j] = x[j] - b[j];
        break;
    case sparsifier::magnitude:
    case sparsifier::breadcrumbs: {
        const auto top = s.keep_top;
        const auto drop = s.drop_top;
        const bool drops = s.rule == sparsifier::breadcrumbs;
        const std::size_t end = offset + len;
        const bool top_uniform = top.cut <= offset || top.cut >= end;
        const bool drop_uniform = !drops || drop.cut <= offset || drop.cut >= end;
        if (top_uniform && drop_uniform) {
            // The usual chunk: no tie cut inside, so the test is on the value's bits alone (vectorizes).
            const U top_t = top.t;
            const U top_tie = top.cut >= end ? 1 : 0;
            const U drop_t = drops ? drop.t : std::numeric_limits<U>::max();
            const U drop_tie = drops && drop.cut >= end ? 1 : 0;
            for (std::size_t j = 0; j < len; ++j) {
                const M d = x[j] - b[j];
                const U bits = magnitude_bits(d);
                const U in_top = static_cast<U>(bits > top_t) | (static_cast<U>(bits == top_t) & top_tie);
                const U in_drop = static_cast<U>(bits > drop_t) | (static_cast<U>(bits == drop_t) & drop_tie);
                out[j] = std::bit_cast<M>(std::bit_cast<U>(d) & (U{0} - (in_top & (in_drop ^ 1))));
            }
            break;
        }
        for (std::size_t j = 0; j < len; ++j) {
            const M d = x[j] - b[j];
            const U bits = magnitude_bits(d);
            const bool keep = top.contains(bits, offset + j) && !(drops && drop.contains(bits, offset + j));
            out[j] = keep ? d : M{0};
        }
        break;
    }
    case sparsifier::bernoulli: {
        thread_local std::vector<std::uint8_t> keep;
        keep.resize(len);
        bernoulli_keep(s.rng, offset, s.probability, keep);
        for (std::size_t j = 0; j < len; ++j) {
            out[j] = std::bit_cast<M>(std::bit_cast<U>(static_cast<M>(x[j] - b[j])) & (U{0} - static_cast<U>(keep[j])));
        }
        break;
    }
    case sparsifier::della:
        for (std::size_t j = 0; j < len; ++j) out[j] = s.factor[offset + j] != 0.0f ? static_cast<M>(x[j] - b[j]) : M{0};
        break;
    }
}

/// DELLA's factor of entry `index` (1 for every other rule).
template <class M>
[[nodiscard]] inline double della_factor(const gta_state<M>& s, std::size_t index) noexcept {
    return s.rule == sparsifier::della ? static_cast<double>(s.factor[index]) : 1.0;
}

/// Runs the engine with math type M: `inputs` = {base, model 0, ...}, all of `out`'s shape.
template <class M>
void run_gta(const gta_config& config, std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out) {
    using bits_type = magnitude_bits_t<M>;
    const std::size_t n = out.size();
    const std::size_t models = config.models.size();
    const any_tensor_view& base = inputs[0];
    std::vector<gta_state<M>> state(models);

    // Step 1a: rules and magnitude selections (every model's passes shared).
    std::vector<select_query> queries;
    std::vector<std::size_t> problem_model;
    std::vector<std::pair<std::size_t, int>> query_target;  // (model, 0 = keep_top, 1 = drop_top)
    for (std::size_t i = 0; i < models; ++i) {
        const gta_model& m = config.models[i];
        gta_state<M>& s = state[i];
        s.weight = m.weight;
        s.rule = m.density >= 1 ? sparsifier::none : m.rule;
        s.rng = mask_stream(config.seed, config.tensor_name, i);
        s.probability = m.density;
        if (config.rescale == gta_rescale::inverse_density && s.rule != sparsifier::none && s.rule != sparsifier::della) {
            s.scale = m.density > 0 ? 1.0 / m.density : 0.0;
        }
        if (s.rule == sparsifier::magnitude || s.rule == sparsifier::breadcrumbs) {
            const std::size_t target = top_count(m.density, n);
            std::size_t n_top = s.rule == sparsifier::breadcrumbs ? top_count(m.gamma, n) : 0;
            if (target + n_top > n) n_top = n - target;  // n_bot < 0: fewer large ones dropped
            const std::size_t problem = problem_model.size();
            problem_model.push_back(i);
            queries.push_back({problem, n_top + target});
            query_target.emplace_back(i, 0);
            if (n_top > 0) {
                queries.push_back({problem, n_top});
                query_target.emplace_back(i, 1);
            }
        }
    }
    if (!queries.empty()) {
        const std::size_t problems = problem_model.size();
        const auto cuts = select_top<bits_type>(n, problems, queries, [&](std::size_t begin, std::size_t end, std::span<bits_type> dst) {
            const std::size_t len = end - begin;
            thread_local std::vector<M> b;
            thread_local std::vector<M> x;
            b.resize(len);
            x.resize(len);
            load_values<M>(base, 0, begin, len, b.data());
            for (std::size_t p = 0; p < problems; ++p) {
                const any_tensor_view& model = inputs[1 + problem_model[p]];
                bits_type* o = dst.data() + p * len;
                if constexpr (std::is_same_v<M, float>) {
                    if (model.type == dtype::bf16) {
                        // bf16 → float32 is a 16-bit shift: read the bits in place (the common case),
                        // the same value convert_bytes gives, without a second buffer pass.
                        // Non-finite values are found by the finiteness carry (core/finite.hpp);
                        // load_values then reports the first.
                        const std::byte* raw = model.bytes.data() + begin * 2;
                        std::uint32_t carry = 0;
                        for (std::size_t j = 0; j < len; ++j) {
                            std::uint16_t h;
                            std::memcpy(&h, raw + 2 * j, 2);
                            const std::uint32_t bits = blend::detail::bf16_bits_to_f32_bits(h);  // = to_f32, as convert_bytes
                            carry |= blend::detail::finite_carry<float>(bits);
                            o[j] = magnitude_bits(std::bit_cast<float>(bits) - b[j]);
                        }
                        if (blend::detail::carries_non_finite<float>(carry)) load_values<M>(model, 1 + problem_model[p], begin, len, x.data());
                        continue;
                    }
                }
                load_values<M>(model, 1 + problem_model[p], begin, len, x.data());
                for (std::size_t j = 0; j < len; ++j) o[j] = magnitude_bits(static_cast<M>(x[j] - b[j]));
            }
        });
        for (std::size_t q = 0; q < cuts.size(); ++q) {
            auto& s = state[query_target[q].first];
            (query_target[q].second == 0 ? s.keep_top : s.drop_top) = cuts[q];
        }
    }

    // Step 1b: DELLA keep factors, row by row (rows along the last axis).
    const std::size_t row = out.shape.empty() ? 1 : out.shape.back();
    for (std::size_t i = 0; i < models; ++i) {
        gta_state<M>& s = state[i];
        if (s.rule != sparsifier::della || n == 0) continue;
        const gta_model& m = config.models[i];
        s.factor.assign(n, 0.0f);
        if (m.density <= 0 || row == 0) continue;
        const std::size_t rows = n / row;
        const std::size_t grain = std::max<std::size_t>(1, chunk_elements / std::max<std::size_t>(row, 1));
        parallel_for(rows, grain, [&](std::size_t r0, std::size_t r1) {
            std::vector<M> b(row), x(row);
            std::vector<bits_type> bits(row);
            std::vector<double> p(row);
            std::vector<std::uint8_t> keep(row);
            std::vector<std::uint32_t> order, ranks;
            for (std::size_t r = r0; r < r1; ++r) {
                const std::size_t first = r * row;
                load_values<M>(base, 0, first, row, b.data());
                load_values<M>(inputs[1 + i], 1 + i, first, row, x.data());
                for (std::size_t j = 0; j < row; ++j) bits[j] = magnitude_bits(static_cast<M>(x[j] - b[j]));
                della_row_probabilities<bits_type>(bits, m.density, m.epsilon, p, order, ranks);
                bernoulli_keep(s.rng, first, std::span<const double>(p), keep);
                for (std::size_t j = 0; j < row; ++j) {
                    const double f = config.rescale == gta_rescale::inverse_density ? 1.0 / p[j] : 1.0;
                    s.factor[first + j] = keep[j] != 0 ? static_cast<float>(f) : 0.0f;
                }
            }
        });
    }

    // Step 1c: l1 rescale factors, sum |d| and sum |kept d| over the whole tensor in float64.
    if (config.rescale == gta_rescale::l1) {
        for (std::size_t i = 0; i < models; ++i) {
            gta_state<M>& s = state[i];
            if (s.rule == sparsifier::none) continue;
            const auto sums = parallel_reduce(
                n, chunk_elements, std::pair<double, double>{0.0, 0.0},
                [&](std::size_t begin, std::size_t end) {
                    const std::size_t len = end - begin;
                    thread_local std::vector<M> b;
                    thread_local std::vector<M> x;
                    thread_local std::vector<M> kept;
                    b.resize(len);
                    x.resize(len);
                    kept.resize(len);
                    load_values<M>(base, 0, begin, len, b.data());
                    load_values<M>(inputs[1 + i], 1 + i, begin, len, x.data());
                    kept_deltas<M>(s, x.data(), b.data(), begin, len, kept.data());
                    std::pair<double, double> part{0.0, 0.0};
                    for (std::size_t j = 0; j < len; ++j) {
                        part.first += std::abs(static_cast<double>(static_cast<M>(x[j] - b[j])));
                        part.second += std::abs(static_cast<double>(kept[j]) * della_factor(s, begin + j));
                    }
                    return part;
                },
                [](std::pair<double, double> a, std::pair<double, double> c) {
                    return std::pair<double, double>{a.first + c.first, a.second + c.second};
                });
            if (!(sums.first < 1e-7) && !(sums.second < 1e-7)) s.scale = sums.first / sums.second;
        }
    }

    // Steps 2-5 on the elementwise core.
    const std::vector<double> unit_factors(models, 1.0);
    std::vector<double> weights(models);
    std::vector<std::uint32_t> signs(models);  // sign bit of w_i * scale_i (the sign wd_i adds to d_i)
    for (std::size_t i = 0; i < models; ++i) {
        weights[i] = state[i].weight;
        signs[i] = std::bit_cast<std::uint64_t>(state[i].weight * state[i].scale) >> 63 != 0 ? 0x80000000u : 0u;
    }
    double plain_divisor = 0.0;
    for (const auto& s : state) plain_divisor += s.weight;
    if (std::abs(plain_divisor) < 1e-8) plain_divisor = 1.0;
    elementwise(config.method, inputs, out, [&]<class C>(const C& any_chunk) {
        // The core picks M by the same rule (needs_double) as gta_into; the other type is never called.
        if constexpr (!std::is_same_v<C, chunk<M>>) {
            BLEND_ASSERT(false, "gta: math type mismatch");
            return;
        } else {
        const chunk<M>& c = any_chunk;
        const std::size_t len = c.out.size();
        const M* b = c.inputs[0].data();
        thread_local std::vector<double> wd;
        thread_local std::vector<M> kept;
        wd.resize(models * len);
        kept.resize(models * len);
        for (std::size_t i = 0; i < models; ++i) {
            const M* x = c.inputs[1 + i].data();
            M* k = kept.data() + i * len;
            double* w = wd.data() + i * len;
            kept_deltas<M>(state[i], x, b, c.offset, len, k);
            const double factor = state[i].weight * state[i].scale;
            if (state[i].rule == sparsifier::della) {
                for (std::size_t j = 0; j < len; ++j) w[j] = factor * (static_cast<double>(k[j]) * della_factor(state[i], c.offset + j));
            } else {
                for (std::size_t j = 0; j < len; ++j) w[j] = factor * static_cast<double>(k[j]);
            }
        }
        thread_local std::vector<double> mixed, divisor;
        mixed.assign(len, 0.0);
        if (config.consensus == gta_consensus::none) {
            for (std::size_t i = 0; i < models; ++i) {
                const double* w = wd.data() + i * len;
                for (std::size_t j = 0; j < len; ++j) mixed[j] += w[j];
            }
            for (std::size_t j = 0; j < len; ++j) {
                const double m = config.normalize ? mixed[j] / plain_divisor : mixed[j];
                c.out[j] = static_cast<double>(b[j]) + config.lambda * m;
            }
        } else {
            divisor.resize(len);
            if constexpr (std::is_same_v<M, float>) {
                elect_and_mix_f32(wd.data(), kept.data(), models, len, config.consensus, weights, signs, mixed.data(), divisor.data());
            } else {
                elect_and_mix(wd.data(), models, len, config.consensus, unit_factors, weights, mixed.data(), divisor.data());
            }
            for (std::size_t j = 0; j < len; ++j) {
                const double d = divisor[j] == 0 ? 1.0 : divisor[j];
                const double m = config.normalize ? mixed[j] / d : mixed[j];
                c.out[j] = static_cast<double>(b[j]) + config.lambda * m;
            }
        }
        }
    });
}

/// Runs the engine: M = float64 when any tensor is float64, float32 otherwise.
inline void gta_into(const gta_config& config, std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out) {
    if (needs_double(inputs, out.type)) {
        run_gta<double>(config, inputs, out);
    } else {
        run_gta<float>(config, inputs, out);
    }
}

}  // namespace blend::merge::detail
