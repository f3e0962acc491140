// Tests for blend/ensemble/selection.hpp (METHODS.md §2 "Greedy ensemble selection").
#include <blend/ensemble/selection.hpp>
#include <blend/io/npy.hpp>
#include <blend/metrics/classification.hpp>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "selection_fixture.hpp"

#include <vector>

namespace {

using blend::ensemble::member_block;
using blend::ensemble::select_greedy;
using blend::ensemble::selection_metric;
using blend::ensemble::selection_mode;

/// M members stored back to back (float32 or float64), viewed as a member_block.
template <class E>
member_block block_of(const std::vector<std::vector<E>>& members, std::size_t rows, std::size_t columns) {
    member_block block{.rows = rows, .columns = columns, .vector_input = columns == 1, .members = {}};
    for (const auto& m : members) block.members.push_back({blend::dtype_of<E>, m.data()});
    return block;
}

/// auto-sklearn's test_ensemble.py::testEnsembleSelection data: y = 5.5, pred_i = i except rows 5i..5i+4.
std::vector<std::vector<float>> autosklearn_members() {
    std::vector<std::vector<float>> members;
    for (int i = 1; i < 20; ++i) {
        std::vector<float> p(100, static_cast<float>(i));
        for (int r = 5 * i; r < 5 * (i + 1) && r < 100; ++r)
            p[static_cast<std::size_t>(r)] = 5.5f * static_cast<float>(i);
        members.push_back(p);
    }
    return members;
}

using selection_fixture::load;

}  // namespace

TEST_CASE("auto-sklearn mode reproduces auto-sklearn's own ensemble selection test",
          "[ensemble][selection]") {
    const auto members = autosklearn_members();
    const std::vector<double> y(100, 5.5);
    const auto block = block_of(members, 100, 1);
    const auto r = select_greedy(block, {}, y, {.mode = selection_mode::autosklearn, .size = 10});
    CHECK(r.order == std::vector<std::size_t>{2, 3, 4, 1, 5, 6, 1, 7, 0, 2});
    const std::vector<double> trajectory{
        3.462296925452813,  2.679202306657711, 2.2748626436960375, 2.065717187806695,  1.7874562615598728,
        1.6983448128441783, 1.559451106330085, 1.5316326052614575, 1.3801950121782542, 1.3554980575295374};
    REQUIRE(r.trajectory.size() == trajectory.size());
    for (std::size_t i = 0; i < trajectory.size(); ++i)
        CHECK(r.trajectory[i] == Approx(trajectory[i]).margin(1e-6));
    CHECK(r.kept == 10);
    const std::vector<double> weights{0.1, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1};
    for (std::size_t m = 0; m < weights.size(); ++m) CHECK(r.weights[m] == Approx(weights[m]).epsilon(1e-15));
    for (std::size_t m = weights.size(); m < 19; ++m) CHECK(r.weights[m] == 0.0);
}

TEST_CASE("autogluon mode gives AutoGluon's EnsembleSelection order, trajectory and weights",
          "[ensemble][selection]") {
    for (const std::string name :
         {"digits_log_loss", "cancer_log_loss", "synthetic_log_loss", "diabetes_rmse"}) {
        INFO(name);
        const auto f = load(name);
        const auto r =
            select_greedy(f.block, f.classes, f.targets, {.size = f.expected["size"].get<std::size_t>()});
        CHECK(r.order == f.expected["order"].get<std::vector<std::size_t>>());
        const auto trajectory = f.expected["trajectory"].get<std::vector<double>>();
        REQUIRE(r.trajectory.size() == trajectory.size());
        for (std::size_t i = 0; i < trajectory.size(); ++i)
            CHECK(r.trajectory[i] == Approx(trajectory[i]).margin(1e-9));
        CHECK(r.kept == f.expected["kept"].get<std::size_t>());
        const auto weights = f.expected["weights"].get<std::vector<double>>();
        REQUIRE(r.weights.size() == weights.size());
        for (std::size_t m = 0; m < weights.size(); ++m)
            CHECK(r.weights[m] == Approx(weights[m]).epsilon(1e-15));
    }
}

TEST_CASE("the fast log-loss and Gram paths agree with the generic metrics", "[ensemble][selection]") {
    for (const std::string name : {"digits_log_loss", "cancer_log_loss", "synthetic_log_loss"}) {
        INFO(name);
        const auto f = load(name);
        for (const auto metric : {selection_metric::log_loss, selection_metric::brier}) {
            for (const auto mode : {selection_mode::autogluon, selection_mode::autosklearn}) {
                const auto fast =
                    select_greedy(f.block, f.classes, {}, {.mode = mode, .metric = metric, .size = 12});
                // The same metric through blend::metrics on the full float64 candidate (the generic path).
                const auto loss = blend::ensemble::detail::metric_loss(metric, f.block, f.classes, {});
                const auto slow =
                    select_greedy(f.block, f.classes, {}, {.mode = mode, .size = 12, .loss = loss});
                CHECK(fast.order == slow.order);
                for (std::size_t i = 0; i < fast.trajectory.size(); ++i)
                    CHECK(fast.trajectory[i] == Approx(slow.trajectory[i]).margin(1e-12));
            }
        }
    }
}

TEST_CASE("the true-class log-loss kernel equals sklearn's log loss of the mix", "[ensemble][selection]") {
    // Unnormalised rows exercise the renormalisation; a tiny true-class value exercises the clip.
    const std::vector<std::vector<double>> members{{0.2, 0.3, 0.6, 0.5, 0.1, 0.1, 1e-17, 0.7, 0.3},
                                                   {0.5, 0.25, 0.25, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6}};
    const std::vector<std::int64_t> labels{2, 1, 0};
    const auto block = block_of(members, 3, 3);
    const auto table = blend::ensemble::detail::gather_true_class(block, labels);
    REQUIRE(table.row_sum.size() == 6);  // member 0's rows do not sum to 1
    for (const double a : {0.0, 0.4}) {
        const double b = 1.0 - a;
        std::vector<double> base(3), base_sum(3), mix(9);
        for (std::size_t r = 0; r < 3; ++r) {
            base[r] = a * members[1][r * 3 + static_cast<std::size_t>(labels[r])];
            base_sum[r] = a * (members[1][r * 3] + members[1][r * 3 + 1] + members[1][r * 3 + 2]);
        }
        for (std::size_t i = 0; i < 9; ++i) mix[i] = a * members[1][i] + b * members[0][i];
        for (std::size_t r = 0; r < 3; ++r) {  // the candidate's rows renormalised (AutoGluon)
            const double s = mix[r * 3] + mix[r * 3 + 1] + mix[r * 3 + 2];
            for (std::size_t c = 0; c < 3; ++c) mix[r * 3 + c] /= s;
        }
        const double fast =
            -blend::ensemble::detail::sum_log_mix(base, base_sum, table.p.data(), table.row_sum.data(), b) /
            3.0;
        const blend::tensor_view<const double> mv{std::span<const double>(mix), {3, 3}};
        const blend::tensor_view<const std::int64_t> lv{std::span<const std::int64_t>(labels), {3}};
        CHECK(fast == Approx(blend::metrics::log_loss(mv, lv)).epsilon(1e-13));
    }
}

TEST_CASE("the product-of-probabilities log sum is accurate over many rows", "[ensemble][selection]") {
    std::vector<double> base(1000), p(1000);
    double expected = 0.0;
    for (std::size_t r = 0; r < base.size(); ++r) {
        base[r] = 0.5 * (1e-9 + static_cast<double>((r * 7919) % 1000) / 1000.0);
        p[r] = static_cast<double>((r * 104729) % 997) / 997.0;
        expected += std::log(std::min(std::max(base[r] + 0.5 * p[r], 1e-15), 1.0 - 1e-15));
    }
    const double got = blend::ensemble::detail::sum_log_mix(base, {}, p.data(), nullptr, 0.5);
    CHECK(got == Approx(expected).epsilon(1e-14));
}

TEST_CASE("float32 members are selected in place like their float64 copies", "[ensemble][selection]") {
    const auto f = load("synthetic_log_loss");
    std::vector<std::vector<float>> narrow;
    std::vector<std::vector<double>> wide;
    const std::size_t size = f.block.rows * f.block.columns;
    for (const auto& m : f.block.members) {
        const auto* p = static_cast<const double*>(m.data);
        narrow.emplace_back(p, p + size);
        wide.emplace_back(narrow.back().begin(), narrow.back().end());
    }
    const auto a = select_greedy(block_of(narrow, f.block.rows, f.block.columns), f.classes, {});
    const auto b = select_greedy(block_of(wide, f.block.rows, f.block.columns), f.classes, {});
    CHECK(a.order == b.order);
    CHECK(a.weights == b.weights);
}

TEST_CASE("use_best keeps the steps up to the first minimum; weights sum to one", "[ensemble][selection]") {
    const auto f = load("cancer_log_loss");
    const auto r = select_greedy(f.block, f.classes, {});
    const auto first_min = std::min_element(r.trajectory.begin(), r.trajectory.end()) - r.trajectory.begin();
    CHECK(r.kept == static_cast<std::size_t>(first_min) + 1);
    CHECK(r.order.size() == 25);
    double total = 0.0;
    for (double w : r.weights) total += w;
    CHECK(total == Approx(1.0).epsilon(1e-15));
    const auto all = select_greedy(f.block, f.classes, {}, {.mode = selection_mode::autosklearn});
    CHECK(all.kept == 50);
    CHECK(all.order.size() == 50);
}

TEST_CASE("ties prefer a model already chosen, then the lowest index", "[ensemble][selection]") {
    // Members 1 and 2 are identical and best; member 0 is worse. AutoGluon would draw among 1 and 2.
    const std::vector<std::vector<double>> members{{0.3, 0.6, 0.2}, {0.9, 0.2, 0.8}, {0.9, 0.2, 0.8}};
    const std::vector<std::int64_t> labels{1, 0, 1};
    const auto r = select_greedy(block_of(members, 3, 1), labels, {}, {.size = 5});
    for (std::size_t i = 0; i < r.order.size(); ++i) CHECK(r.order[i] == 1);
    CHECK(r.weights == std::vector<double>{0.0, 1.0, 0.0});
}

TEST_CASE("row subsampling is seeded and deterministic", "[ensemble][selection]") {
    const auto f = load("synthetic_log_loss");
    const auto a = select_greedy(f.block, f.classes, {}, {.max_rows = 200, .seed = 3});
    const auto b = select_greedy(f.block, f.classes, {}, {.max_rows = 200, .seed = 3});
    CHECK(a.order == b.order);
    CHECK(a.trajectory == b.trajectory);
    const auto rows = blend::ensemble::detail::draw_rows(400, 200, 3);
    CHECK(rows.size() == 200);
    CHECK(std::adjacent_find(rows.begin(), rows.end(), [](auto x, auto y) { return x >= y; }) == rows.end());
    // The same as selecting on those rows copied out by hand.
    std::vector<std::vector<double>> members;
    std::vector<std::int64_t> labels;
    for (std::size_t r : rows) labels.push_back(f.classes[r]);
    for (const auto& m : f.block.members) {
        const auto* p = static_cast<const double*>(m.data);
        auto& out = members.emplace_back();
        for (std::size_t r : rows)
            out.insert(out.end(), p + r * f.block.columns, p + (r + 1) * f.block.columns);
    }
    const auto by_hand = select_greedy(block_of(members, rows.size(), f.block.columns), labels, {});
    CHECK(by_hand.order == a.order);
    CHECK(by_hand.weights == a.weights);
    const auto c = select_greedy(f.block, f.classes, {}, {.max_rows = 200, .seed = 4});
    CHECK(c.trajectory != a.trajectory);  // another seed, another subset
}

TEST_CASE("selection on accuracy runs through the generic metric", "[ensemble][selection]") {
    const auto f = load("digits_log_loss");
    const auto r = select_greedy(f.block, f.classes, {}, {.metric = selection_metric::accuracy, .size = 5});
    REQUIRE(r.order.size() == 5);
    // The first pick is the most accurate member (lowest index among ties).
    std::vector<double> errors;
    for (const auto& m : f.block.members) {
        const blend::tensor_view<const double> pv{
            std::span<const double>(static_cast<const double*>(m.data), f.block.rows * f.block.columns),
            {f.block.rows, f.block.columns}};
        const blend::tensor_view<const std::int64_t> lv{std::span<const std::int64_t>(f.classes),
                                                        {f.block.rows}};
        errors.push_back(1.0 - blend::metrics::accuracy(pv, lv));
    }
    CHECK(r.order[0] ==
          static_cast<std::size_t>(std::min_element(errors.begin(), errors.end()) - errors.begin()));
}

TEST_CASE("selection rejects bad labels and metrics", "[ensemble][selection]") {
    const std::vector<std::vector<double>> members{{0.3, 0.6}, {0.9, 0.2}};
    const auto block = block_of(members, 2, 1);
    const std::vector<std::int64_t> bad{0, 2}, short_labels{1};
    CHECK_THROWS_AS(select_greedy(block, bad, {}), blend::invalid_argument);
    CHECK_THROWS_AS(select_greedy(block, short_labels, {}), blend::shape_error);
    const std::vector<std::int64_t> labels{0, 1};
    CHECK_THROWS_AS(select_greedy(block, labels, {}, {.metric = selection_metric::rmse}),
                    blend::invalid_argument);
    CHECK_THROWS_AS(blend::ensemble::parse_selection_metric("f1"), blend::invalid_argument);
}

TEST_CASE("the dispatched float32 screen equals the portable kernel bit for bit", "[ensemble][selection]") {
    // On an AVX2 CPU `screen_log_affine` runs the 256-bit kernel; lanes and rounding match the SSE2 one.
    std::vector<double> u(1003), v(1003);
    std::vector<float> p(1003);
    for (std::size_t r = 0; r < u.size(); ++r) {
        u[r] = 0.3 * static_cast<double>((r * 7919) % 1000) / 1000.0;
        v[r] = 0.5 + 0.1 * static_cast<double>(r % 3);
        p[r] = static_cast<float>((r * 104729) % 997) / 997.0f;
    }
    p[5] = 0.0f;  // q = u = 0 at row 0 would clip; make one clip explicitly
    u[5] = 0.0;
    const double portable = blend::ensemble::detail::sum_log_affine(u.data(), v.data(), p.data(), u.size());
    CHECK(blend::ensemble::detail::screen_log_affine(u.data(), v.data(), p.data(), u.size()) == portable);
    double direct = 0.0;
    for (std::size_t r = 0; r < u.size(); ++r)
        direct += std::log(std::min(std::max(u[r] + v[r] * static_cast<double>(p[r]), 1e-15), 1.0 - 1e-15));
    CHECK(portable == Approx(direct).epsilon(1e-13));
}
