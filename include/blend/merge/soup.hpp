#pragma once
/// @file blend/merge/soup.hpp
/// Model soups (Wortsman et al. 2022, "Model soups: averaging weights of multiple fine-tuned models
/// improves accuracy without increasing inference time"), over whole state dicts.
///
///   uniform soup:  soup[name] = (1/N) sum_i model_i[name]  for every tensor name of the first model;
///   greedy soup:   Alg. 1 — sort the ingredients by a held-out score (descending), start from the
///                  best, and add each next one to the soup (the uniform average of the kept ones) only
///                  if the host's evaluation of that candidate soup strictly improves on the best so far.
///
/// Every average runs on the shared linear kernel (`linear_into`: inputs read as float32 — float64 for
/// float64 storage — summed in float64, rounded once to the storage type). Models are taken by
/// reference and never copied; each soup is recomputed from its ingredients (one rounding), not updated
/// incrementally as the authors' script does (one rounding per added ingredient).
/// Deliberate difference: Alg. 1 in the paper keeps an ingredient when the accuracy is >= the soup's;
/// blend, like the authors' released script, keeps it only when the evaluation is strictly greater.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/merge/linear.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace blend::merge {

namespace detail {

template <class T>
concept state_dict_ref = state_dict<std::remove_cvref_t<T>>;

/// An element of a range of models: the state dict itself, a pointer to one, or a reference_wrapper.
template <class M>
[[nodiscard]] constexpr const auto& soup_model(const M& m) {
    if constexpr (state_dict<M>) {
        return m;
    } else if constexpr (requires { { m.get() } -> state_dict_ref; }) {
        return m.get();
    } else {
        return *m;
    }
}

template <class R>
using soup_dict_t = std::remove_cvref_t<decltype(soup_model(std::declval<std::ranges::range_reference_t<const R>>()))>;

/// Throws unless every listed model has every tensor of the first, with the same shape; returns, per
/// tensor name of the first model, the views of that tensor across the models.
template <class D>
[[nodiscard]] std::vector<std::pair<std::string, std::vector<any_tensor_view>>>
soup_views(const char* method, std::span<const D* const> models) {
    if (models.empty()) throw invalid_argument{fmt::format("{}: no models", method)};
    std::vector<std::pair<std::string, std::vector<any_tensor_view>>> out;
    for (const auto& [name, first] : *models.front()) {
        std::vector<any_tensor_view> views{any_tensor_view::of(first)};
        for (std::size_t m = 1; m < models.size(); ++m) {
            const auto* tensor = find_tensor(*models[m], std::string_view(name));
            if (tensor == nullptr) {
                throw invalid_argument{fmt::format("{}: model {} has no tensor '{}'", method, m, std::string_view(name))};
            }
            views.push_back(any_tensor_view::of(*tensor));
            if (views.back().shape != views.front().shape) {
                throw shape_error{fmt::format("{}: tensor '{}' of model {} has shape [{}], model 0 has [{}]", method,
                                              std::string_view(name), m, fmt::join(views.back().shape, ", "),
                                              fmt::join(views.front().shape, ", "))};
            }
        }
        out.emplace_back(std::string(std::string_view(name)), std::move(views));
    }
    return out;
}

/// Pointers to the models of a range (see `soup_model`).
template <std::ranges::random_access_range R>
[[nodiscard]] auto soup_pointers(const R& models) {
    std::vector<const soup_dict_t<R>*> out;
    for (const auto& m : models) out.push_back(std::addressof(soup_model(m)));
    return out;
}

/// The uniform soup of `models` as an owned state dict of `xt::xarray<E>`.
template <class D, class E = tensor_value_t<typename D::mapped_type>>
[[nodiscard]] std::map<std::string, xt::xarray<E>> uniform_soup_of(const char* method, std::span<const D* const> models) {
    std::map<std::string, xt::xarray<E>> soup;
    for (auto& [name, views] : soup_views(method, models)) {
        auto result = xt::xarray<E>::from_shape(views.front().shape);
        linear_into(views, any_mutable_tensor_view::of(result));
        soup.emplace(std::move(name), std::move(result));
    }
    return soup;
}

}  // namespace detail

/// A random-access range of models for the soups: state dicts, pointers to state dicts, or
/// `std::reference_wrapper`s of state dicts (all of one type).
template <class R>
concept model_range = std::ranges::random_access_range<const R> && requires(std::ranges::range_reference_t<const R> m) {
    { detail::soup_model(m) } -> detail::state_dict_ref;
};

/// The owned soup type of a model range: tensor name → `xt::xarray` of the models' element type.
template <model_range R>
using soup_t = std::map<std::string, xt::xarray<tensor_value_t<typename detail::soup_dict_t<R>::mapped_type>>>;

/// Uniform soup: for every tensor name of the first model, `linear` (equal weights, normalized) of that
/// tensor across all models. Throws `invalid_argument` for no models or a model lacking a tensor of the
/// first, `shape_error` (naming the tensor and model) when shapes differ. Tensors only later models have
/// are ignored.
template <model_range R>
[[nodiscard]] soup_t<R> uniform_soup(const R& models) {
    const auto pointers = detail::soup_pointers(models);
    return detail::uniform_soup_of<detail::soup_dict_t<R>>("uniform_soup", pointers);
}

/// Uniform soup written into a host state dict of mutable tensors (in its own storage, any dtype):
/// `out` must hold every tensor name of the first model with the same shape; its other tensors are left
/// untouched. Everything is checked before anything is written.
template <model_range R, state_dict Out>
    requires mutable_tensor<typename Out::mapped_type>
void uniform_soup_into(const R& models, Out& out) {
    const auto pointers = detail::soup_pointers(models);
    const auto all = detail::soup_views<detail::soup_dict_t<R>>("uniform_soup", pointers);
    std::vector<any_mutable_tensor_view> targets;
    for (const auto& [name, views] : all) {
        auto it = out.find(typename Out::key_type(std::string_view(name)));
        if (it == out.end()) throw invalid_argument{fmt::format("uniform_soup: output has no tensor '{}'", name)};
        targets.push_back(any_mutable_tensor_view::of(it->second));
        if (targets.back().shape != views.front().shape) {
            throw shape_error{fmt::format("uniform_soup: output tensor '{}' has shape [{}], the models have [{}]", name,
                                          fmt::join(targets.back().shape, ", "), fmt::join(views.front().shape, ", "))};
        }
    }
    for (std::size_t t = 0; t < all.size(); ++t) linear_into(all[t].second, targets[t]);
}

/// What `greedy_soup` returns.
template <class Soup>
struct greedy_soup_result {
    /// The uniform average of the kept ingredients.
    Soup soup;
    /// Ingredient indices sorted by score, descending; ties keep the lower index first.
    std::vector<std::size_t> order;
    /// Indices of the kept ingredients, in the order they joined (`order[0]` first).
    std::vector<std::size_t> kept;
    /// `evaluate` of each candidate soup, for `order[1]`, `order[2]`, … (size N - 1).
    std::vector<double> candidate_scores;
    /// The soup's score after considering `order[k]` (size N): `trajectory[0]` is the best ingredient's
    /// score, then the running best of the accepted candidates.
    std::vector<double> trajectory;
};

/// Greedy soup (Wortsman et al. 2022, Alg. 1, with the authors' strict comparison):
///   1. order = ingredients sorted by `score`, descending (stable: ties → lower index first);
///   2. soup = {order[0]}, best = score(order[0]);
///   3. for k = 1..N-1: candidate = uniform_soup(soup ∪ {order[k]}); s = evaluate(candidate);
///      if s > best: soup ← soup ∪ {order[k]}, best ← s.
/// `score` is either a callable `double(const D& ingredient)` (called once per ingredient) or a
/// random-access range of N numbers; `evaluate` is a callable `double(const soup_t<R>& candidate)`.
/// Both must measure the same held-out metric (higher is better): as in the authors' script, the
/// starting soup is not re-evaluated, its score is the best ingredient's. Throws `invalid_argument` for
/// no ingredients, a score count that differs from N, or a NaN score or evaluation.
template <model_range R, class Score, class Evaluate>
    requires std::invocable<Evaluate&, const soup_t<R>&>
[[nodiscard]] greedy_soup_result<soup_t<R>> greedy_soup(const R& ingredients, Score&& score, Evaluate&& evaluate) {
    using D = detail::soup_dict_t<R>;
    const auto pointers = detail::soup_pointers(ingredients);
    const std::size_t n = pointers.size();
    if (n == 0) throw invalid_argument{"greedy_soup: no ingredients"};
    std::vector<double> scores(n);
    if constexpr (std::invocable<Score&, const D&>) {
        for (std::size_t i = 0; i < n; ++i) scores[i] = static_cast<double>(std::invoke(score, *pointers[i]));
    } else {
        static_assert(std::ranges::random_access_range<Score>, "greedy_soup: score must be a callable or a range");
        if (std::ranges::size(score) != n) {
            throw invalid_argument{fmt::format("greedy_soup: {} scores for {} ingredients", std::ranges::size(score), n)};
        }
        for (std::size_t i = 0; i < n; ++i) scores[i] = static_cast<double>(std::ranges::begin(score)[i]);
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(scores[i])) throw invalid_argument{fmt::format("greedy_soup: score of ingredient {} is NaN", i)};
    }

    greedy_soup_result<soup_t<R>> result;
    result.order.resize(n);
    std::iota(result.order.begin(), result.order.end(), std::size_t{0});
    std::ranges::stable_sort(result.order, [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });

    std::vector<const D*> kept{pointers[result.order.front()]};
    result.kept.push_back(result.order.front());
    double best = scores[result.order.front()];
    result.trajectory.push_back(best);
    result.soup = detail::uniform_soup_of<D>("greedy_soup", std::span<const D* const>(kept));
    for (std::size_t k = 1; k < n; ++k) {
        const std::size_t index = result.order[k];
        kept.push_back(pointers[index]);
        auto candidate = detail::uniform_soup_of<D>("greedy_soup", std::span<const D* const>(kept));
        const auto s = static_cast<double>(std::invoke(evaluate, std::as_const(candidate)));
        if (std::isnan(s)) {
            throw invalid_argument{fmt::format("greedy_soup: evaluate returned NaN for the soup with ingredient {}", index)};
        }
        result.candidate_scores.push_back(s);
        if (s > best) {
            best = s;
            result.kept.push_back(index);
            result.soup = std::move(candidate);
        } else {
            kept.pop_back();
        }
        result.trajectory.push_back(best);
    }
    return result;
}

}  // namespace blend::merge
