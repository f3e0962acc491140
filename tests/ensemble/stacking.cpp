// Tests for blend/ensemble/stacking.hpp against scikit-learn 1.2.1's StackingClassifier
// (stacking_reference.py).
#include <blend/ensemble/stacking.hpp>

#include "stacking_fixture.hpp"
#include "support/catch.hpp"

#include <xtensor/xtensor.hpp>

#include <algorithm>
#include <cstring>

namespace {

using stacking_fixture::load;

/// Replays one sklearn base model: a model fitted on all folds but f predicts sklearn's fold_preds[m][f];
/// one fitted on every training row predicts the test rows' stored meta-features. The held-out fold is
/// recognised from the training rows it is given.
struct replay_model {
    const std::string* name;
    std::size_t model;
    std::size_t fold = 0;
    bool full = false;

    void fit(const blend::ensemble::feature_view& x, const blend::ensemble::label_view&) {
        const auto train = load<double>(*name, "x_train");
        const auto folds = load<std::int64_t>(*name, "folds");
        const std::size_t n = folds.values.size(), d = train.shape[1], rows = x.shape()[0];
        full = rows == n;
        std::vector<char> present(n, 0);
        for (std::size_t i = 0; i < rows; ++i) present[row_index(train.values, d, x.data() + i * d)] = 1;
        for (std::size_t i = 0; i < n; ++i)
            if (!present[i]) fold = static_cast<std::size_t>(folds.values[i]);
    }

    static std::size_t row_index(const std::vector<double>& table, std::size_t d, const double* row) {
        for (std::size_t i = 0; i * d < table.size(); ++i)
            if (std::memcmp(table.data() + i * d, row, d * sizeof(double)) == 0) return i;
        throw std::runtime_error("replay_model: unknown row");
    }

    [[nodiscard]] xt::xtensor<double, 2> predict(const blend::ensemble::feature_view& x) const {
        const std::size_t rows = x.shape()[0], d = x.shape()[1];
        const auto preds = load<double>(*name, "fold_preds");  // (models, folds, N, C)
        const std::size_t n = preds.shape[2], c = preds.shape[3];
        xt::xtensor<double, 2> out = xt::zeros<double>({rows, c});
        if (full) {  // test rows: columns of this model in test_meta (binary keeps the positive column only)
            const auto meta = load<double>(*name, "test_meta");
            const std::size_t width = meta.shape[1], per = c == 2 ? 1 : c;
            for (std::size_t i = 0; i < rows; ++i)
                for (std::size_t k = 0; k < per; ++k) {
                    const double v = meta.values[i * width + model * per + k];
                    if (c == 2)
                        out(i, 0) = 1.0 - v, out(i, 1) = v;
                    else
                        out(i, k) = v;
                }
            return out;
        }
        const auto train = load<double>(*name, "x_train");
        for (std::size_t i = 0; i < rows; ++i) {
            const std::size_t r = row_index(train.values, d, x.data() + i * d);
            for (std::size_t k = 0; k < c; ++k)
                out(i, k) = preds.values[((model * preds.shape[1] + fold) * n + r) * c + k];
        }
        return out;
    }
};

/// Predicts 1 for rows it was trained on, 0 otherwise: any leak of a row into its own fold's model shows.
struct memoriser {
    std::vector<double> seen;
    std::size_t d = 0;
    void fit(const blend::ensemble::feature_view& x, const blend::ensemble::label_view&) {
        d = x.shape()[1];
        seen.assign(x.data(), x.data() + x.size());
    }
    [[nodiscard]] xt::xtensor<double, 1> predict(const blend::ensemble::feature_view& x) const {
        xt::xtensor<double, 1> out = xt::zeros<double>({x.shape()[0]});
        for (std::size_t i = 0; i < x.shape()[0]; ++i)
            for (std::size_t j = 0; j * d < seen.size(); ++j)
                if (std::equal(seen.begin() + static_cast<std::ptrdiff_t>(j * d),
                               seen.begin() + static_cast<std::ptrdiff_t>((j + 1) * d), x.data() + i * d))
                    out(i) = 1.0;
        return out;
    }
};

/// A small real model: class centroids, p ∝ exp(-squared distance).
struct nearest_centroid {
    std::vector<double> centroids;
    std::size_t d = 0, classes = 0;
    void fit(const blend::ensemble::feature_view& x, const blend::ensemble::label_view& y) {
        d = x.shape()[1];
        classes = static_cast<std::size_t>(*std::max_element(y.data(), y.data() + y.size())) + 1;
        centroids.assign(classes * d, 0.0);
        std::vector<double> count(classes, 0.0);
        for (std::size_t i = 0; i < y.size(); ++i) {
            const auto k = static_cast<std::size_t>(y.data()[i]);
            count[k] += 1.0;
            for (std::size_t a = 0; a < d; ++a) centroids[k * d + a] += x.data()[i * d + a];
        }
        for (std::size_t k = 0; k < classes; ++k)
            for (std::size_t a = 0; a < d; ++a) centroids[k * d + a] /= std::max(count[k], 1.0);
    }
    [[nodiscard]] xt::xtensor<double, 2> predict(const blend::ensemble::feature_view& x) const {
        xt::xtensor<double, 2> out = xt::zeros<double>({x.shape()[0], classes});
        for (std::size_t i = 0; i < x.shape()[0]; ++i) {
            double total = 0.0;
            for (std::size_t k = 0; k < classes; ++k) {
                double dist = 0.0;
                for (std::size_t a = 0; a < d; ++a)
                    dist += std::pow(x.data()[i * d + a] - centroids[k * d + a], 2);
                total += (out(i, k) = std::exp(-0.1 * dist));
            }
            for (std::size_t k = 0; k < classes; ++k) out(i, k) /= total;
        }
        return out;
    }
};

static_assert(blend::trainable<nearest_centroid, blend::ensemble::feature_view, blend::ensemble::label_view>);
static_assert(blend::trainable<memoriser, blend::ensemble::feature_view, blend::ensemble::label_view>);
static_assert(!blend::trainable<int, blend::ensemble::feature_view, blend::ensemble::label_view>);

}  // namespace

TEST_CASE("stratified folds are sklearn's StratifiedKFold(5) without shuffling", "[ensemble][stacking]") {
    for (const std::string name : {"binary", "multiclass"}) {
        INFO(name);
        const auto y = load<std::int64_t>(name, "y_train");
        const auto expected = load<std::int64_t>(name, "folds");
        const auto folds = blend::ensemble::stratified_folds(y.values, 5);
        REQUIRE(folds.size() == expected.values.size());
        for (std::size_t i = 0; i < folds.size(); ++i)
            CHECK(folds[i] == static_cast<std::size_t>(expected.values[i]));
    }
    // By hand: labels in order of first appearance 1, 0; sorted encoded labels 0,0,0,1,1 → round robin
    // over 2 folds gives class "1" (3 rows) folds [0, 0, 1] and class "0" (2 rows) folds [0, 1].
    const std::vector<std::int64_t> y{1, 0, 1, 1, 0};
    CHECK(blend::ensemble::stratified_folds(y, 2) == std::vector<std::size_t>{0, 0, 0, 1, 1});
    CHECK_THROWS_AS(blend::ensemble::stratified_folds(y, 4), blend::invalid_argument);
    CHECK(blend::ensemble::kfold_folds(7, 3) == std::vector<std::size_t>{0, 0, 0, 1, 1, 2, 2});
}

TEST_CASE("out-of-fold predictions of replayed sklearn models are sklearn's cross_val_predict",
          "[ensemble][stacking]") {
    for (const std::string name : {"binary", "multiclass"}) {
        INFO(name);
        const auto x = load<double>(name, "x_train");
        const auto y = load<std::int64_t>(name, "y_train");
        const auto expected = load<double>(name, "train_meta");
        const auto folds = blend::ensemble::stratified_folds(y.values, 5);
        const std::size_t models = load<double>(name, "fold_preds").shape[0];
        const std::size_t width = expected.shape[1], per = width / models;
        for (std::size_t m = 0; m < models; ++m) {
            std::size_t columns = 0;
            const auto oof = blend::ensemble::out_of_fold(
                [&] {
                    return replay_model{&name, m};
                },
                x.values, x.shape[1], std::span<const std::int64_t>(y.values), folds, columns);
            for (std::size_t i = 0; i < y.values.size(); ++i)
                for (std::size_t k = 0; k < per; ++k)
                    CHECK(oof[i * columns + (columns == 2 ? 1 : k)] ==
                          Approx(expected.values[i * width + m * per + k]).margin(1e-14));
        }
    }
}

TEST_CASE("stack reproduces StackingClassifier's meta-features and test probabilities",
          "[ensemble][stacking]") {
    for (const std::string name : {"binary", "multiclass"}) {
        INFO(name);
        const auto x = load<double>(name, "x_train");
        const auto xt_ = load<double>(name, "x_test");
        const auto y = load<std::int64_t>(name, "y_train");
        const std::size_t models = load<double>(name, "fold_preds").shape[0];
        std::vector<std::function<replay_model()>> level;
        for (std::size_t m = 0; m < models; ++m)
            level.push_back([&name, m] { return replay_model{&name, m}; });
        const std::vector<std::vector<std::function<replay_model()>>> levels{level};
        const auto r = blend::ensemble::stack(std::span(levels), x.values, xt_.values, x.shape[1],
                                              std::span<const std::int64_t>(y.values));
        const auto train_meta = load<double>(name, "train_meta");
        const auto test_meta = load<double>(name, "test_meta");
        CHECK(r.width == train_meta.shape[1]);
        REQUIRE(r.train_meta.size() ==
                train_meta.values.size());  // (sklearn predicted fold rows in a different batch: ulps)
        for (std::size_t i = 0; i < r.train_meta.size(); ++i)
            CHECK(r.train_meta[i] == Approx(train_meta.values[i]).margin(1e-14));
        for (std::size_t i = 0; i < r.test_meta.size(); ++i)
            CHECK(r.test_meta[i] == Approx(test_meta.values[i]).margin(1e-15));
        const auto exact = load<double>(name, "exact_proba");
        const auto sklearn = load<double>(name, "test_proba");
        REQUIRE(r.test_predictions.size() == exact.values.size());
        for (std::size_t i = 0; i < exact.values.size(); ++i) {
            CHECK(r.test_predictions[i] == Approx(exact.values[i]).margin(1e-6));
            CHECK(r.test_predictions[i] == Approx(sklearn.values[i]).margin(name == "binary" ? 1e-6 : 1e-4));
        }
    }
}

TEST_CASE("out-of-fold predictions never come from a model that saw the row", "[ensemble][stacking]") {
    const std::vector<double> x{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const std::vector<std::int64_t> y{0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    const auto folds = blend::ensemble::stratified_folds(y, 5);
    std::size_t columns = 0;
    const auto oof = blend::ensemble::out_of_fold([] { return memoriser{}; }, x, 1,
                                                  std::span<const std::int64_t>(y), folds, columns);
    CHECK(columns == 1);
    CHECK(oof == std::vector<double>(10, 0.0));
}

TEST_CASE("multi-layer stacking feeds each level the previous level's out-of-fold predictions",
          "[ensemble][stacking]") {
    const auto x = load<double>("multiclass", "x_train");
    const auto xt_ = load<double>("multiclass", "x_test");
    const auto y = load<std::int64_t>("multiclass", "y_train");
    const std::vector<std::function<nearest_centroid()>> level{[] { return nearest_centroid{}; },
                                                               [] { return nearest_centroid{}; }};
    const std::vector<std::vector<std::function<nearest_centroid()>>> two{level, level};
    const auto raw = blend::ensemble::stack(std::span(two), x.values, xt_.values, x.shape[1],
                                            std::span<const std::int64_t>(y.values));
    CHECK(raw.width == 2 * 3);
    const auto pass = blend::ensemble::stack(std::span(two), x.values, xt_.values, x.shape[1],
                                             std::span<const std::int64_t>(y.values),
                                             {.passthrough = blend::ensemble::stack_passthrough::raw});
    CHECK(pass.width == 2 * 3 + x.shape[1]);
    // Level 2's out-of-fold input equals level 1's out-of-fold predictions, computed directly.
    const auto folds = blend::ensemble::stratified_folds(y.values, 5);
    std::size_t c = 0;
    const auto level1 = blend::ensemble::out_of_fold([] { return nearest_centroid{}; }, x.values, x.shape[1],
                                                     std::span<const std::int64_t>(y.values), folds, c);
    std::vector<double> twice;
    for (std::size_t i = 0; i < y.values.size(); ++i)
        for (int copy = 0; copy < 2; ++copy)
            twice.insert(twice.end(), level1.begin() + static_cast<std::ptrdiff_t>(i * 3),
                         level1.begin() + static_cast<std::ptrdiff_t>(i * 3 + 3));
    const auto level2 = blend::ensemble::out_of_fold([] { return nearest_centroid{}; }, twice, 6,
                                                     std::span<const std::int64_t>(y.values), folds, c);
    for (std::size_t i = 0; i < y.values.size(); ++i)
        for (std::size_t k = 0; k < 3; ++k)
            CHECK(raw.train_meta[i * 6 + k] == Approx(level2[i * 3 + k]).epsilon(1e-14));
    double accuracy = 0.0;
    for (std::size_t i = 0; i < xt_.shape[0]; ++i) {
        const auto* row = raw.test_predictions.data() + i * 3;
        CHECK(row[0] + row[1] + row[2] == Approx(1.0));
        accuracy += 1.0;
    }
    CHECK(accuracy == static_cast<double>(xt_.shape[0]));
}

TEST_CASE("meta-features keep a binary member's positive column and append passthrough features",
          "[ensemble][stacking]") {
    const std::vector<double> a{0.2, 0.8, 0.6, 0.4}, b{0.1, 0.9, 0.7, 0.3};
    blend::ensemble::member_block block{
        .rows = 2,
        .columns = 2,
        .vector_input = false,
        .members = {{blend::dtype::f64, a.data()}, {blend::dtype::f64, b.data()}}};
    const std::vector<double> raw{5.0, 6.0};
    std::size_t width = 0;
    const auto meta = blend::ensemble::meta_features(block, raw, 1, width);
    CHECK(width == 3);
    CHECK(meta == std::vector<double>{0.8, 0.9, 5.0, 0.4, 0.3, 6.0});
}
