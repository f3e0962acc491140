// Tests for blend/ensemble/hard_vote.hpp: scikit-learn 1.2.1 VotingClassifier(voting="hard") on
// load_digits (tests/reference/ensemble_reference.py), the numpy bincount reference, and tie rules.
#include <blend/ensemble/hard_vote.hpp>

#include "ensemble/fixtures.hpp"

#include <vector>

using blend::ensemble::hard_vote;
using blend::test::fixture_values;
using blend::test::load_fixture;
using blend::test::stacked_block;

namespace {
void check_labels(const xt::xarray<std::int64_t>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("row " << i);
        CHECK(static_cast<double>(got(i)) == want[i]);
    }
}
}  // namespace

TEST_CASE("hard vote reproduces scikit-learn's VotingClassifier on load_digits", "[ensemble][hard_vote]") {
    const auto members = load_fixture("digits_members.npy");
    const auto block = stacked_block(members);
    check_labels(hard_vote(block), fixture_values(load_fixture("digits_hard.npy")));
    const std::vector<double> weights{2, 1, 1.5};
    check_labels(hard_vote(block, {.weights = weights}), fixture_values(load_fixture("digits_hard_w.npy")));
}

TEST_CASE("hard vote matches the numpy reference for multi-class and single-column members", "[ensemble][hard_vote]") {
    const auto weights = fixture_values(load_fixture("synth_weights.npy"));
    const auto synth = load_fixture("synth_probs.npy");
    check_labels(hard_vote(stacked_block(synth), {.weights = weights}), fixture_values(load_fixture("synth_hard.npy")));
    const auto binary = load_fixture("bin_probs.npy");
    check_labels(hard_vote(stacked_block(binary), {.weights = weights}), fixture_values(load_fixture("bin_hard.npy")));
}

TEST_CASE("hard vote ties go to the smallest label", "[ensemble][hard_vote]") {
    // three members voting 2, 0, 1 (each row's argmax; the first row of member 0 ties 1 and 2 -> 1)
    const std::vector<xt::xtensor<double, 2>> members{{{0.1, 0.2, 0.7}, {0.2, 0.4, 0.4}},
                                                      {{0.8, 0.1, 0.1}, {0.1, 0.1, 0.8}},
                                                      {{0.2, 0.5, 0.3}, {0.1, 0.1, 0.8}}};
    const auto equal = hard_vote(members);
    CHECK(equal(0) == 0);  // 1 vote each -> smallest label
    CHECK(equal(1) == 2);  // member 0 votes 1 (tie -> lowest index), members 1, 2 vote 2
    const std::vector<double> weights{1, 1, 2};
    CHECK(hard_vote(members, {.weights = weights})(0) == 1);
    // single-column members: p > 0.5 votes 1, p = 0.5 votes 0; a 1-1 tie gives 0
    const std::vector<xt::xtensor<float, 1>> binary{{0.5f, 0.9f}, {0.6f, 0.2f}};
    const auto b = hard_vote(binary);
    CHECK(b(0) == 0);
    CHECK(b(1) == 0);
}
