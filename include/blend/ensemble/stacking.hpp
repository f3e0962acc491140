#pragma once
/// @file blend/ensemble/stacking.hpp
/// Stacked generalisation (Wolpert 1992) — METHODS.md §2 "Stacking", following scikit-learn 1.2.1's
/// `StackingClassifier` / `StackingRegressor`:
///   * folds: `stratified_folds` is `StratifiedKFold(k)` without shuffling (classes encoded in order of first
///     appearance, per-class fold sizes by round robin over the sorted labels, each class's rows given to
///     folds in blocks, in row order); `kfold_folds` is `KFold(k)` (the first n mod k folds one row longer);
///   * out-of-fold predictions: for each fold, a fresh host model is fitted on the other folds' rows and
///     predicts the fold's rows (`out_of_fold`, sklearn's `cross_val_predict`);
///   * meta-features: each member's predictions side by side, a two-column member contributing only its
///     positive column (sklearn drops the first `predict_proba` column for binary problems), then the raw
///     features when `passthrough`;
///   * meta-learner: multinomial/binomial logistic regression (C = 1, blend/ensemble/logistic.hpp) or ridge
///     (alpha = 1, blend/ensemble/ridge.hpp), fitted on the training rows' out-of-fold meta-features and
///     applied to the test rows' meta-features (from the base models refitted on all training rows);
///   * multi-layer: level L+1's models see level L's out-of-fold predictions (plus the raw features with
///     passthrough); the meta-learner sees the last level's.
/// A host model is `trainable`: `m.fit(x, y)` on row-major (N, d) float64 features and (N,) labels, then
/// `blend::predict(m, x)` returning a tensor of (N, C) or (N,) predictions.

#include <blend/core/concepts.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/ensemble/logistic.hpp>
#include <blend/ensemble/member_block.hpp>
#include <blend/ensemble/ridge.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <type_traits>
#include <vector>

namespace blend::ensemble {

/// Row-major (N, d) float64 features as handed to host models.
using feature_view = tensor_view<const double>;
/// (N,) labels as handed to host models: int64 classes, or float64 targets for regression.
using label_view = tensor_view<const std::int64_t>;
using target_view = tensor_view<const double>;

/// Stacking refits host models that are `blend::trainable<M, feature_view, Y>` (core/concepts.hpp):
/// `m.fit(x, y)` on a `feature_view` (N, d) and (N,) labels, then `blend::predict(m, x)`.

/// scikit-learn's `StratifiedKFold(folds, shuffle=False)` test-fold index of every row. Throws
/// `invalid_argument` when folds < 2 or every class has fewer rows than folds (sklearn's error).
[[nodiscard]] inline std::vector<std::size_t> stratified_folds(std::span<const std::int64_t> labels,
                                                               std::size_t folds = 5) {
    if (folds < 2)
        throw invalid_argument{fmt::format("stratified_folds: need at least 2 folds, got {}", folds)};
    // Classes in order of first appearance (sklearn re-encodes them this way).
    std::vector<std::int64_t> seen;
    std::vector<std::size_t> encoded(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) {
        auto it = std::find(seen.begin(), seen.end(), labels[i]);
        if (it == seen.end()) it = seen.insert(seen.end(), labels[i]);
        encoded[i] = static_cast<std::size_t>(it - seen.begin());
    }
    const std::size_t classes = seen.size();
    std::vector<std::size_t> count(classes, 0);
    for (auto e : encoded) ++count[e];
    if (std::all_of(count.begin(), count.end(), [&](std::size_t c) { return c < folds; }))
        throw invalid_argument{
            fmt::format("stratified_folds: {} folds but no class has that many rows", folds)};
    // allocation[f][k]: rows of class k at positions p ≡ f (mod folds) of the sorted encoded labels.
    std::vector<std::size_t> out(labels.size());
    std::size_t start = 0;
    for (std::size_t k = 0; k < classes; ++k) {
        std::vector<std::size_t>
            fold_of_next;  // the class's fold sequence: fold f repeated allocation[f][k] times
        for (std::size_t f = 0; f < folds; ++f) {
            // positions p in [start, start + count[k]) with p mod folds == f
            const std::size_t first = start + (f + folds - start % folds) % folds;
            const std::size_t size =
                first < start + count[k] ? (start + count[k] - first + folds - 1) / folds : 0;
            fold_of_next.insert(fold_of_next.end(), size, f);
        }
        std::size_t next = 0;
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (encoded[i] == k) out[i] = fold_of_next[next++];
        start += count[k];
    }
    return out;
}

/// scikit-learn's `KFold(folds, shuffle=False)` test-fold index of every row.
[[nodiscard]] inline std::vector<std::size_t> kfold_folds(std::size_t rows, std::size_t folds = 5) {
    if (folds < 2 || folds > rows)
        throw invalid_argument{fmt::format("kfold_folds: cannot cut {} rows into {} folds", rows, folds)};
    std::vector<std::size_t> out(rows);
    std::size_t row = 0;
    for (std::size_t f = 0; f < folds; ++f)
        for (std::size_t i = 0; i < rows / folds + (f < rows % folds ? 1 : 0); ++i) out[row++] = f;
    return out;
}

namespace detail {

/// Rows of a row-major (N, width) matrix whose fold is (or is not) `fold`.
[[nodiscard]] inline std::vector<double> rows_where(std::span<const double> x, std::size_t width,
                                                    std::span<const std::size_t> folds, std::size_t fold,
                                                    bool in_fold) {
    std::vector<double> out;
    for (std::size_t i = 0; i < folds.size(); ++i)
        if ((folds[i] == fold) == in_fold)
            out.insert(out.end(), x.begin() + static_cast<std::ptrdiff_t>(i * width),
                       x.begin() + static_cast<std::ptrdiff_t>((i + 1) * width));
    return out;
}

/// Copies a prediction tensor into float64 values, returning its column count (1 for (N,)).
template <tensor T>
std::size_t copy_prediction(const T& t, std::size_t rows, std::vector<double>& out) {
    const auto shape = tensor_shape(t);
    if (shape.empty() || shape.size() > 2 || shape[0] != rows)
        throw shape_error{
            fmt::format("stacking: a model predicted {} dimensions for {} rows", shape.size(), rows)};
    const std::size_t columns = shape.size() == 2 ? shape[1] : 1;
    const auto* p = tensor_data(t);
    out.assign(rows * columns, 0.0);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
    return columns;
}

}  // namespace detail

/// Out-of-fold predictions (sklearn's `cross_val_predict`): for every fold f, `make()` builds a fresh model,
/// fitted on the rows outside f and predicting the rows in f. Returns N x C float64 (C = 1 for (N,)
/// predictions); `columns` receives C. `Y` is `label_view` or `target_view`.
template <class Factory, class E>
    requires trainable<std::invoke_result_t<Factory&>, feature_view, tensor_view<const E>>
[[nodiscard]] std::vector<double> out_of_fold(Factory&& make, std::span<const double> x, std::size_t features,
                                              std::span<const E> y, std::span<const std::size_t> folds,
                                              std::size_t& columns) {
    const std::size_t n = y.size();
    if (x.size() != n * features || folds.size() != n)
        throw shape_error{
            fmt::format("out_of_fold: {} feature values, {} labels and {} fold indices disagree", x.size(), n,
                        folds.size())};
    const std::size_t fold_count = n == 0 ? 0 : *std::max_element(folds.begin(), folds.end()) + 1;
    std::vector<double> oof;
    columns = 0;
    std::vector<double> predicted;
    for (std::size_t f = 0; f < fold_count; ++f) {
        const auto train_x = detail::rows_where(x, features, folds, f, false);
        const auto test_x = detail::rows_where(x, features, folds, f, true);
        std::vector<E> train_y;
        for (std::size_t i = 0; i < n; ++i)
            if (folds[i] != f) train_y.push_back(y[i]);
        auto model = make();
        model.fit(feature_view{std::span<const double>(train_x), {train_y.size(), features}},
                  tensor_view<const E>{std::span<const E>(train_y), {train_y.size()}});
        const std::size_t test_rows = test_x.size() / features;
        const std::size_t c = detail::copy_prediction(
            blend::predict(model, feature_view{std::span<const double>(test_x), {test_rows, features}}),
            test_rows, predicted);
        if (columns == 0) {
            columns = c;
            oof.assign(n * c, 0.0);
        } else if (c != columns) {
            throw shape_error{
                fmt::format("out_of_fold: fold {} predicted {} columns, fold 0 {}", f, c, columns)};
        }
        for (std::size_t i = 0, j = 0; i < n; ++i)
            if (folds[i] == f)
                std::copy_n(predicted.begin() + static_cast<std::ptrdiff_t>(j++ * c), c,
                            oof.begin() + static_cast<std::ptrdiff_t>(i * c));
    }
    return oof;
}

/// Meta-features of `members` (each member's columns side by side; a two-column member contributes column 1
/// only), followed by `passthrough` (N x passthrough_columns raw features) when non-empty. N x width
/// row-major; `width` receives the column count.
[[nodiscard]] inline std::vector<double> meta_features(const member_block& members,
                                                       std::span<const double> passthrough,
                                                       std::size_t passthrough_columns, std::size_t& width) {
    const std::size_t n = members.rows, c = members.columns, per = c == 2 ? 1 : c;
    if (passthrough.size() != n * passthrough_columns)
        throw shape_error{fmt::format("meta_features: {} passthrough values for {} rows of {} features",
                                      passthrough.size(), n, passthrough_columns)};
    width = members.size() * per + passthrough_columns;
    std::vector<double> out(n * width);
    for (std::size_t m = 0; m < members.size(); ++m) {
        with_member_data(members.members[m], [&](const auto* p) {
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t k = 0; k < per; ++k)
                    out[i * width + m * per + k] = static_cast<double>(p[i * c + (c == 2 ? 1 : k)]);
        });
    }
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t a = 0; a < passthrough_columns; ++a)
            out[i * width + members.size() * per + a] = passthrough[i * passthrough_columns + a];
    return out;
}

/// The meta-learner of `stack`.
enum class stack_meta {
    logistic,
    ridge
};
/// Whether the levels after the first and the meta-learner also see the raw features.
enum class stack_passthrough {
    none,
    raw
};

/// Options of `stack` (sklearn's defaults: 5 stratified unshuffled folds for classification, plain `KFold`
/// for regression, logistic C = 1 / ridge alpha = 1, no passthrough).
struct stacking_options {
    std::size_t folds = 5;
    stack_meta meta = stack_meta::logistic;
    stack_passthrough passthrough = stack_passthrough::none;
    double c = 1.0;
    double alpha = 1.0;
    /// Classes of the logistic meta-learner; 0 means max(label) + 1.
    std::size_t classes = 0;
};

/// Everything `stack` computed: the meta-learner's training input (out-of-fold, N x width) and test input
/// (Nt x width), and its test predictions (Nt x columns: class probabilities, or 1 column for ridge).
struct stacking_result {
    std::vector<double> train_meta, test_meta, test_predictions;
    std::size_t width = 0, columns = 0;
};

/// Fits the meta-learner on `train_meta` (N x width) and applies it to `test_meta`, returning Nt x C
/// probabilities (logistic) or Nt values (ridge; `labels` are then read as targets through `targets`).
[[nodiscard]] inline std::vector<double> fit_predict_meta(std::span<const double> train_meta,
                                                          std::span<const double> test_meta,
                                                          std::span<const std::int64_t> labels,
                                                          std::span<const double> targets,
                                                          const stacking_options& options,
                                                          std::size_t& columns) {
    if (options.meta == stack_meta::ridge) {
        columns = 1;
        return fit_ridge(train_meta, targets, {.alpha = options.alpha}).predict(test_meta);
    }
    const auto model = fit_logistic(train_meta, labels, {.c = options.c, .classes = options.classes});
    if (!model.converged)
        throw error{fmt::format("stack: the logistic meta-learner did not converge (gradient {})",
                                model.gradient_norm)};
    columns = model.classes;
    return model.predict_proba(test_meta);
}

/// Multi-layer stacking with refittable host models: `levels[L]` are factories of the models of level L.
/// Level 0 sees the raw features; level L+1 sees level L's out-of-fold predictions on the training rows
/// (and, on the test rows, the predictions of level L's models refitted on all training rows), plus the raw
/// features with passthrough); the meta-learner sees the last level's. Classification: `y` are int64 labels
/// (stratified folds, meta logistic); regression: float64 targets (KFold; set `meta` to ridge).
template <class Factory, class E>
[[nodiscard]] stacking_result stack(std::span<const std::vector<Factory>> levels,
                                    std::span<const double> x_train, std::span<const double> x_test,
                                    std::size_t features, std::span<const E> y,
                                    const stacking_options& options = {}) {
    constexpr bool regression = std::is_floating_point_v<E>;
    using view = tensor_view<const E>;
    const std::size_t n = y.size();
    if (levels.empty()) throw invalid_argument{"stack: no levels"};
    if (features == 0 || x_train.size() != n * features || x_test.size() % features != 0)
        throw shape_error{
            fmt::format("stack: {} training / {} test feature values for {} rows of {} features",
                        x_train.size(), x_test.size(), n, features)};
    const std::size_t nt = x_test.size() / features;
    std::vector<std::size_t> folds;
    if constexpr (regression)
        folds = kfold_folds(n, options.folds);
    else
        folds = stratified_folds(y, options.folds);
    std::vector<double> in_train(x_train.begin(), x_train.end()), in_test(x_test.begin(), x_test.end());
    std::size_t width = features;
    for (const auto& level : levels) {
        std::vector<std::vector<double>> train_parts, test_parts;
        std::vector<std::size_t> part_columns;
        for (const auto& factory : level) {
            std::size_t c = 0;
            auto oof = out_of_fold(factory, in_train, width, y, folds, c);
            auto model = factory();
            model.fit(feature_view{std::span<const double>(in_train), {n, width}}, view{y, {n}});
            std::vector<double> test_pred;
            const std::size_t ct = detail::copy_prediction(
                blend::predict(model, feature_view{std::span<const double>(in_test), {nt, width}}), nt,
                test_pred);
            if (ct != c)
                throw shape_error{
                    fmt::format("stack: a model predicted {} columns on test rows, {} out of fold", ct, c)};
            train_parts.push_back(std::move(oof));
            test_parts.push_back(std::move(test_pred));
            part_columns.push_back(c);
        }
        auto assemble = [&](const std::vector<std::vector<double>>& parts, std::size_t rows,
                            std::span<const double> raw, std::size_t& out_width) {
            std::size_t total = 0;
            for (std::size_t m = 0; m < parts.size(); ++m)
                total += part_columns[m] == 2 ? 1 : part_columns[m];
            const std::size_t extra = options.passthrough == stack_passthrough::raw ? features : 0;
            out_width = total + extra;
            std::vector<double> out(rows * out_width);
            for (std::size_t i = 0; i < rows; ++i) {
                std::size_t col = 0;
                for (std::size_t m = 0; m < parts.size(); ++m) {
                    const std::size_t c = part_columns[m];
                    if (c == 2)
                        out[i * out_width + col++] = parts[m][i * 2 + 1];
                    else
                        for (std::size_t k = 0; k < c; ++k) out[i * out_width + col++] = parts[m][i * c + k];
                }
                for (std::size_t a = 0; a < extra; ++a) out[i * out_width + col++] = raw[i * features + a];
            }
            return out;
        };
        std::size_t next_width = 0;
        in_train = assemble(train_parts, n, x_train, next_width);
        in_test = assemble(test_parts, nt, x_test, next_width);
        width = next_width;
    }
    stacking_result result;
    result.width = width;
    if constexpr (regression)
        result.test_predictions = fit_predict_meta(in_train, in_test, {}, y, options, result.columns);
    else
        result.test_predictions = fit_predict_meta(in_train, in_test, y, {}, options, result.columns);
    result.train_meta = std::move(in_train);
    result.test_meta = std::move(in_test);
    return result;
}

}  // namespace blend::ensemble
