// Tests for blend/ensemble/predictor_ensemble.hpp: an ensemble of predictors is a predictor (it nests),
// evaluates its members in parallel deterministically, and combines as `combine` does.
#include <blend/ensemble/predictor_ensemble.hpp>

#include "support/catch.hpp"

#include <functional>
#include <vector>

using namespace blend::ensemble;
using batch = xt::xtensor<double, 2>;

namespace {
/// A linear softmax model: p = softmax(x W), W (F, C) — a stand-in for a host classifier.
struct linear_model {
    xt::xtensor<double, 2> w;
    [[nodiscard]] xt::xarray<double> predict(const batch& x) const {
        const std::size_t n = x.shape()[0], f = x.shape()[1], c = w.shape()[1];
        xt::xarray<double> p = xt::zeros<double>({n, c});
        for (std::size_t i = 0; i < n; ++i) {
            double sum = 0;
            for (std::size_t k = 0; k < c; ++k) {
                double z = 0;
                for (std::size_t j = 0; j < f; ++j) z += x(i, j) * w(j, k);
                sum += (p(i, k) = std::exp(z));
            }
            for (std::size_t k = 0; k < c; ++k) p(i, k) /= sum;
        }
        return p;
    }
};
const batch inputs = {{1.0, 0.5}, {-0.5, 2.0}, {0.0, 0.0}, {3.0, -1.0}};
std::vector<linear_model> models() {
    return {{{{1.0, -1.0, 0.5}, {0.2, 0.3, -0.4}}}, {{{0.1, 0.9, -0.2}, {1.0, -0.5, 0.0}}}, {{{-0.3, 0.0, 0.6}, {0.5, 0.5, 0.5}}}};
}
}  // namespace

static_assert(blend::predictor<linear_model, batch>);
static_assert(blend::predictor<predictor_ensemble<linear_model>, batch>);
static_assert(blend::predictor<predictor_ensemble<predictor_ensemble<linear_model>>, batch>);
static_assert(!blend::predictor<predictor_ensemble<linear_model>, std::vector<double>>);

TEST_CASE("an ensemble of predictors predicts what combine gives on its members' outputs", "[ensemble][predictor]") {
    const auto ms = models();
    std::vector<xt::xarray<double>> outputs;
    for (const auto& m : ms) outputs.push_back(m.predict(inputs));
    for (auto method : {combine_method::soft, combine_method::geometric, combine_method::median}) {
        predictor_ensemble ensemble{ms, {.method = method, .weights = {1.0, 2.0, 0.5}}};
        const auto got = blend::predict(ensemble, inputs);
        const std::vector<double> w{1.0, 2.0, 0.5};
        const auto want = combine(outputs, {.method = method, .weights = w});
        REQUIRE(got.shape() == want.shape());
        for (std::size_t j = 0; j < want.size(); ++j) CHECK(got.data()[j] == want.data()[j]);
    }
}

TEST_CASE("ensembles nest and are deterministic for any thread count", "[ensemble][predictor]") {
    predictor_ensemble inner_a{models()}, inner_b{models(), {.weights = {3.0, 1.0, 1.0}}};
    predictor_ensemble outer{std::vector{inner_a, inner_b}, {.weights = {1.0, 1.0}}};
    blend::set_num_threads(1);
    const auto serial = outer.predict(inputs);
    blend::set_num_threads(4);
    const auto parallel = outer.predict(inputs);
    blend::set_num_threads(0);
    REQUIRE(serial.shape() == parallel.shape());
    for (std::size_t j = 0; j < serial.size(); ++j) CHECK(serial.data()[j] == parallel.data()[j]);
    // the soft vote of two soft votes with equal outer weights is the soft vote with averaged inner weights
    predictor_ensemble flat{models(), {.weights = {(1.0 / 3 + 3.0 / 5) / 2, (1.0 / 3 + 1.0 / 5) / 2, (1.0 / 3 + 1.0 / 5) / 2}}};
    const auto direct = flat.predict(inputs);
    for (std::size_t j = 0; j < serial.size(); ++j) CHECK(serial.data()[j] == Approx(direct.data()[j]).epsilon(1e-14));
}

TEST_CASE("type-erased members and error cases", "[ensemble][predictor]") {
    using any_model = std::function<xt::xarray<double>(const batch&)>;
    const auto ms = models();
    std::vector<any_model> mixed{[&](const batch& x) { return ms[0].predict(x); },
                                 [](const batch& x) { return xt::xarray<double>(xt::ones<double>({x.shape()[0], std::size_t{3}}) / 3.0); }};
    predictor_ensemble ensemble{mixed};
    const auto p = ensemble.predict(inputs);
    CHECK(p(0, 0) == Approx((ms[0].predict(inputs)(0, 0) + 1.0 / 3) / 2));
    CHECK_THROWS_AS(predictor_ensemble(models(), {.method = combine_method::hard}), blend::invalid_argument);
    CHECK_THROWS_AS(predictor_ensemble(models(), {.weights = {1.0}}), blend::invalid_argument);
    CHECK_THROWS_AS(predictor_ensemble(std::vector<linear_model>{}), blend::invalid_argument);
    std::vector<any_model> mismatched{mixed[0], [](const batch&) { return xt::xarray<double>(xt::ones<double>({2, 2})); }};
    predictor_ensemble bad{mismatched};
    CHECK_THROWS_AS(bad.predict(inputs), blend::shape_error);
}

TEST_CASE("evaluate_members runs each predictor once, in order, as float64", "[ensemble][predictor]") {
    auto ms = models();
    const auto outputs = evaluate_members(ms, inputs);
    REQUIRE(outputs.size() == 3);
    for (std::size_t m = 0; m < 3; ++m) {
        const auto want = ms[m].predict(inputs);
        REQUIRE(outputs[m].shape() == want.shape());
        for (std::size_t j = 0; j < want.size(); ++j) CHECK(outputs[m].data()[j] == want.data()[j]);
    }
    // float32 outputs widen exactly; a throwing member's exception reaches the caller
    using any_model = std::function<xt::xtensor<float, 1>(const batch&)>;
    std::vector<any_model> members{[](const batch&) { return xt::xtensor<float, 1>{0.1f, 0.2f, 0.3f, 0.4f}; },
                                   [](const batch&) -> xt::xtensor<float, 1> { throw blend::invalid_argument{"member 1 failed"}; }};
    CHECK_THROWS_WITH(evaluate_members(members, inputs), "member 1 failed");
    members.pop_back();
    CHECK(evaluate_members(members, inputs)[0](2) == static_cast<double>(0.3f));
}
