// Tests for blend/merge/soup.hpp (model soups, Wortsman et al. 2022).
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/linear.hpp>
#include <blend/merge/soup.hpp>

#include "support/catch.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace {

using state = std::map<std::string, xt::xarray<float>>;

xt::xarray<float> random_tensor(std::uint64_t key, std::vector<std::size_t> shape) {
    blend::random_stream rng(5, key);
    xt::xarray<float> x = xt::xarray<float>::from_shape(shape);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform_float(i) * 2.f - 1.f;
    return x;
}

std::vector<state> random_models(std::size_t count, std::size_t n) {
    std::vector<state> models;
    for (std::uint64_t m = 0; m < count; ++m) {
        models.push_back({{"emb", random_tensor(2 * m, {n})}, {"head", random_tensor(2 * m + 1, {3, 7})}});
    }
    return models;
}

/// Negative Euclidean distance of the soup's tensor "w" to `target` (higher is better).
double negative_distance(const xt::xarray<float>& w, const std::vector<double>& target) {
    double s = 0.0;
    for (std::size_t i = 0; i < target.size(); ++i) s += (w.data()[i] - target[i]) * (w.data()[i] - target[i]);
    return -std::sqrt(s);
}

}  // namespace

TEST_CASE("uniform soup equals linear with equal weights, tensor by tensor", "[merge][soup]") {
    const auto models = random_models(3, 1000);
    const auto soup = blend::merge::uniform_soup(models);
    REQUIRE(soup.size() == 2);
    for (const std::string name : {"emb", "head"}) {
        const std::vector<xt::xarray<float>> tensors{models[0].at(name), models[1].at(name), models[2].at(name)};
        CHECK((soup.at(name) == blend::merge::linear(tensors)));
    }
    // (1 + 2 + 6) / 3 = 3: a hand-computed case
    const std::vector<state> small{{{"w", {1.f, 0.f}}}, {{"w", {2.f, 3.f}}}, {{"w", {6.f, -6.f}}}};
    CHECK((blend::merge::uniform_soup(small).at("w") == xt::xarray<float>{3.f, -1.f}));
}

TEST_CASE("uniform soup takes models by pointer or reference and fills a host state dict", "[merge][soup]") {
    const auto models = random_models(2, 50);
    const auto expected = blend::merge::uniform_soup(models);
    const std::vector<const state*> pointers{&models[0], &models[1]};
    CHECK(blend::merge::uniform_soup(pointers) == expected);
    const std::vector<std::reference_wrapper<const state>> refs{models[0], models[1]};
    CHECK(blend::merge::uniform_soup(refs) == expected);

    state host{{"emb", xt::xarray<float>::from_shape({50})}, {"head", xt::xarray<float>::from_shape({3, 7})}};
    const float* storage = host["emb"].data();
    blend::merge::uniform_soup_into(models, host);
    CHECK(host["emb"].data() == storage);
    CHECK(host == expected);

    state wrong{{"emb", xt::xarray<float>::from_shape({49})}, {"head", xt::xarray<float>::from_shape({3, 7})}};
    CHECK_THROWS_AS(blend::merge::uniform_soup_into(models, wrong), blend::shape_error);
}

TEST_CASE("uniform soup rejects missing tensors and mismatched shapes by name", "[merge][soup]") {
    const std::vector<state> missing{{{"w", {1.f}}, {"b", {1.f}}}, {{"w", {2.f}}}};
    CHECK_THROWS_WITH(blend::merge::uniform_soup(missing), "uniform_soup: model 1 has no tensor 'b'");
    const std::vector<state> shapes{{{"w", {1.f}}}, {{"w", {2.f, 3.f}}}};
    CHECK_THROWS_WITH(blend::merge::uniform_soup(shapes),
                      "uniform_soup: tensor 'w' of model 1 has shape [2], model 0 has [1]");
    CHECK_THROWS_AS(blend::merge::uniform_soup(std::vector<state>{}), blend::invalid_argument);
}

TEST_CASE("greedy soup on a toy problem: kept set and trajectory by hand", "[merge][soup]") {
    // evaluate(soup) = -|w - target|, target (0, 0); the scores are the same function of each ingredient.
    //   0: A = (3, 0)   score -3
    //   1: B = (-1, 0)  score -1   (best; tie with D, lower index first)
    //   2: C = (0, 2)   score -2
    //   3: D = (1, 0)   score -1
    // order: B, D, C, A.  Soup {B}, best -1.
    //   + D: mean(B, D) = (0, 0), -0 > -1 → kept, best 0
    //   + C: mean(B, D, C) = (0, 2/3), -2/3 < 0 → rejected
    //   + A: mean(B, D, A) = (1, 0), -1 < 0 → rejected
    const std::vector<double> target{0.0, 0.0};
    const std::vector<state> ingredients{
        {{"w", {3.f, 0.f}}}, {{"w", {-1.f, 0.f}}}, {{"w", {0.f, 2.f}}}, {{"w", {1.f, 0.f}}}};
    int evaluations = 0;
    const auto result = blend::merge::greedy_soup(
        ingredients, [&](const state& s) { return negative_distance(s.at("w"), target); },
        [&](const state& soup) {
            ++evaluations;
            return negative_distance(soup.at("w"), target);
        });
    CHECK(result.order == std::vector<std::size_t>{1, 3, 2, 0});
    CHECK(result.kept == std::vector<std::size_t>{1, 3});
    CHECK(evaluations == 3);
    REQUIRE(result.candidate_scores.size() == 3);
    CHECK(result.candidate_scores[0] == 0.0);
    CHECK(result.candidate_scores[1] == -static_cast<double>(static_cast<float>(2.0 / 3.0)));
    CHECK(result.candidate_scores[2] == -1.0);
    CHECK(result.trajectory == std::vector<double>{-1.0, 0.0, 0.0, 0.0});
    CHECK((result.soup.at("w") == xt::xarray<float>{0.f, 0.f}));

    // the same with the scores passed as numbers
    const std::vector<double> scores{-3.0, -1.0, -2.0, -1.0};
    const auto again = blend::merge::greedy_soup(ingredients, scores, [&](const state& soup) {
        return negative_distance(soup.at("w"), target);
    });
    CHECK(again.kept == result.kept);
    CHECK(again.trajectory == result.trajectory);
}

TEST_CASE("greedy soup keeps an ingredient only when the score strictly improves", "[merge][soup]") {
    // Two identical ingredients: the candidate soup equals the first, its score is equal → not kept.
    const std::vector<state> twins{{{"w", {1.f}}}, {{"w", {1.f}}}};
    const std::vector<double> scores{-1.0, -1.0};
    const auto evaluate = [](const state& soup) { return -std::abs(static_cast<double>(soup.at("w")(0))); };
    const auto result = blend::merge::greedy_soup(twins, scores, evaluate);
    CHECK(result.kept == std::vector<std::size_t>{0});
    CHECK(result.trajectory == std::vector<double>{-1.0, -1.0});
    CHECK((result.soup.at("w") == xt::xarray<float>{1.f}));

    // One ingredient: the soup is that ingredient, nothing is evaluated.
    const std::vector<state> one{{{"w", {0.25f, -2.f}}}};
    const std::vector<double> single{0.5};
    const auto alone = blend::merge::greedy_soup(one, single, [](const state&) -> double {
        FAIL("evaluate must not be called");
        return 0.0;
    });
    CHECK(alone.kept == std::vector<std::size_t>{0});
    CHECK((alone.soup.at("w") == xt::xarray<float>{0.25f, -2.f}));
}

TEST_CASE("greedy soup rejects bad scores", "[merge][soup]") {
    const std::vector<state> two{{{"w", {1.f}}}, {{"w", {2.f}}}};
    const auto zero = [](const state&) { return 0.0; };
    CHECK_THROWS_WITH(blend::merge::greedy_soup(two, std::vector<double>{1.0}, zero),
                      "greedy_soup: 1 scores for 2 ingredients");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(blend::merge::greedy_soup(two, std::vector<double>{1.0, nan}, zero), blend::invalid_argument);
    CHECK_THROWS_AS(blend::merge::greedy_soup(two, std::vector<double>{1.0, 0.0}, [&](const state&) { return nan; }),
                    blend::invalid_argument);
    CHECK_THROWS_AS(blend::merge::greedy_soup(std::vector<state>{}, std::vector<double>{}, zero),
                    blend::invalid_argument);
}

TEST_CASE("soups are identical for 1 and 2 threads", "[merge][soup]") {
    const auto models = random_models(4, 100003);
    // score = evaluate = minus the squared norm of "emb": averaging independent noise shrinks it, so
    // candidates are kept
    const auto evaluate = [](const state& soup) {
        double s = 0.0;
        for (float v : soup.at("emb")) s += static_cast<double>(v) * v;
        return -s;
    };
    const std::size_t previous = blend::num_threads();
    blend::set_num_threads(1);
    const auto uniform_one = blend::merge::uniform_soup(models);
    const auto greedy_one = blend::merge::greedy_soup(models, evaluate, evaluate);
    blend::set_num_threads(2);
    const auto uniform_two = blend::merge::uniform_soup(models);
    const auto greedy_two = blend::merge::greedy_soup(models, evaluate, evaluate);
    blend::set_num_threads(previous);
    CHECK(uniform_one == uniform_two);
    CHECK(greedy_one.soup == greedy_two.soup);
    CHECK(greedy_one.kept == greedy_two.kept);
    CHECK(greedy_one.candidate_scores == greedy_two.candidate_scores);
    CHECK(greedy_one.kept.size() > 1);
}
