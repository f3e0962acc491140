// blend-ensemble stack: fit a meta-learner on out-of-fold predictions and apply it to test predictions
// (CLI.md).
#include "cli.hpp"
#include "commands.hpp"

#include <blend/core/convert.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/ensemble/predictions.hpp>
#include <blend/ensemble/stacking.hpp>

#include <fmt/ranges.h>

#include <cmath>
#include <cstring>

namespace {

constexpr std::string_view usage =
    "usage: blend-ensemble stack --train-preds F.npy... --train-labels Y.npy --test-preds F.npy...\n"
    "         [--train-features X.npy --test-features X.npy] [--meta logistic|ridge] --out P.npy\n"
    "Fits the meta-learner on the members' out-of-fold predictions for the training rows and writes its\n"
    "predictions for the test rows: logistic (default for classification; sklearn's objective, C = 1)\n"
    "writes (N, C) probabilities, ridge (regression; alpha = 1) writes (N,). A two-column member contributes\n"
    "its positive column only; --train-features/--test-features append raw features (passthrough).\n";

/// Raw features (N, F) or (N,) of any float dtype as float64; `columns` receives F.
std::vector<double> load_features(const std::filesystem::path& path, std::size_t rows, std::size_t& columns) {
    const auto npy = blend::io::read_npy(path);
    if (npy.shape.empty() || npy.shape.size() > 2 || npy.shape[0] != rows)
        throw blend::shape_error{fmt::format("{}: features of shape [{}] do not fit {} prediction rows",
                                             path.string(), fmt::join(npy.shape, ", "), rows)};
    if (npy.type != blend::dtype::f32 && npy.type != blend::dtype::f64)
        throw blend::io_error{fmt::format("{}: features must be float32 or float64, got {}", path.string(),
                                          blend::name(npy.type))};
    columns = npy.shape.size() == 2 ? npy.shape[1] : 1;
    std::vector<double> out(rows * columns);
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (npy.type == blend::dtype::f32) {
            float v;
            std::memcpy(&v, npy.data.data() + i * 4, 4);
            out[i] = v;
        } else {
            std::memcpy(&out[i], npy.data.data() + i * 8, 8);
        }
        if (!std::isfinite(out[i]))
            throw blend::io_error{
                fmt::format("{}: non-finite feature {} at row {}", path.string(), out[i], i / columns)};
    }
    return out;
}

}  // namespace

int run_stack(std::span<const std::string_view> args) {
    return blend::cli::guarded(usage, [&] {
        namespace ens = blend::ensemble;
        constexpr std::string_view known[] = {"train-preds",   "train-labels", "test-preds", "train-features",
                                              "test-features", "meta",         "out"};
        constexpr std::string_view flags[] = {"quiet"};
        const blend::cli::options opts(args, known, flags);
        const std::filesystem::path out = opts.one("out");
        if (opts.has("train-features") != opts.has("test-features"))
            throw blend::cli::usage_error{"--train-features and --test-features go together"};
        const ens::prediction_set train = ens::load_predictions(blend::cli::paths(opts.all("train-preds")));
        const ens::prediction_set test = ens::load_predictions(blend::cli::paths(opts.all("test-preds")));
        const ens::label_set labels = ens::load_labels(opts.one("train-labels"));
        const ens::task_kind task = ens::detect_task(train.block, labels);
        ens::check_finite(train);
        ens::check_finite(test);
        if (test.block.size() != train.block.size() || test.block.columns != train.block.columns)
            throw blend::shape_error{
                fmt::format("--test-preds: {} members of {} columns, but --train-preds has {} of {}",
                            test.block.size(), test.block.columns, train.block.size(), train.block.columns)};
        const bool regression = task == ens::task_kind::regression;
        const std::string meta = opts.one_or("meta", regression ? "ridge" : "logistic");
        if (meta != "logistic" && meta != "ridge")
            throw blend::cli::usage_error{
                fmt::format("--meta: unknown meta-learner '{}' (expected logistic or ridge)", meta)};
        if ((meta == "ridge") != regression)
            throw blend::invalid_argument{
                fmt::format("--meta {} does not fit a {} task", meta, ens::name(task))};

        std::size_t f_train = 0, f_test = 0;
        std::vector<double> x_train, x_test;
        if (opts.has("train-features")) {
            x_train = load_features(opts.one("train-features"), train.block.rows, f_train);
            x_test = load_features(opts.one("test-features"), test.block.rows, f_test);
            if (f_train != f_test)
                throw blend::shape_error{
                    fmt::format("--test-features has {} columns, --train-features {}", f_test, f_train)};
        }
        std::size_t width = 0;
        const auto train_meta = ens::meta_features(train.block, x_train, f_train, width);
        const auto test_meta = ens::meta_features(test.block, x_test, f_test, width);
        const std::size_t classes = task == ens::task_kind::multiclass ? train.block.columns : 2;
        std::size_t columns = 0;
        const auto predictions =
            ens::fit_predict_meta(train_meta, test_meta, labels.classes, labels.values,
                                  {.meta = regression ? ens::stack_meta::ridge : ens::stack_meta::logistic,
                                   .classes = regression ? 0 : classes},
                                  columns);
        const std::size_t rows = test.block.rows;
        const blend::shape_type shape =
            columns == 1 ? blend::shape_type{rows} : blend::shape_type{rows, columns};
        blend::cli::write_output(out, blend::tensor_view<const double>(std::span(predictions), shape));
        return 0;
    });
}
