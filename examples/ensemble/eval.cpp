// blend-ensemble eval: score one model's predictions against labels (CLI.md), JSON on stdout.
#include "cli.hpp"
#include "commands.hpp"

#include <blend/core/tensor_view.hpp>
#include <blend/ensemble/predictions.hpp>
#include <blend/metrics/calibration_error.hpp>
#include <blend/metrics/classification.hpp>
#include <blend/metrics/regression.hpp>

namespace {

constexpr std::string_view usage =
    "usage: blend-ensemble eval --preds F.npy --labels Y.npy\n"
    "Prints {\"n\", \"accuracy\", \"balanced_accuracy\", \"nll\", \"brier\", \"ece\"} (+ \"roc_auc\" for binary)\n"
    "for classification (integer labels) or {\"n\", \"rmse\"} for regression (float labels).\n";

/// The metrics of CLI.md `eval` for predictions `p` (a tensor_view of float or double).
template <class P>
blend::cli::json_object evaluate(const P& p, const blend::ensemble::label_set& labels, blend::ensemble::task_kind task) {
    namespace metrics = blend::metrics;
    blend::cli::json_object json;
    json.add_integer("n", static_cast<long long>(labels.size()));
    if (task == blend::ensemble::task_kind::regression) {
        const blend::tensor_view<const double> y(std::span(labels.values), {labels.values.size()});
        json.add("rmse", metrics::rmse(p, y));
        return json;
    }
    const blend::tensor_view<const std::int64_t> y(std::span(labels.classes), {labels.classes.size()});
    json.add("accuracy", metrics::accuracy(p, y));
    json.add("balanced_accuracy", metrics::balanced_accuracy(p, y));
    json.add("nll", metrics::log_loss(p, y));
    json.add("brier", metrics::brier_score(p, y));
    json.add("ece", metrics::expected_calibration_error(p, y, {.bins = 15}));
    if (task == blend::ensemble::task_kind::binary) json.add("roc_auc", metrics::roc_auc(p, y));
    return json;
}

}  // namespace

int run_eval(std::span<const std::string_view> args) {
    return blend::cli::guarded(usage, [&] {
        namespace ens = blend::ensemble;
        constexpr std::string_view known[] = {"preds", "labels"};
        constexpr std::string_view flags[] = {"quiet"};
        const blend::cli::options opts(args, known, flags);
        const std::filesystem::path files[] = {opts.one("preds")};
        const std::filesystem::path label_file = opts.one("labels");
        const ens::prediction_set set = ens::load_predictions(files);
        if (set.block.size() != 1)
            throw blend::cli::usage_error{fmt::format("{}: eval scores one model, but the file holds {} members (combine them first)",
                                                      files[0].string(), set.block.size())};
        const ens::label_set labels = ens::load_labels(label_file);
        const ens::task_kind task = ens::detect_task(set.block, labels);
        ens::check_finite(set);
        const auto& b = set.block;
        const blend::shape_type shape = b.single_column() ? blend::shape_type{b.rows} : blend::shape_type{b.rows, b.columns};
        const auto json = ens::with_member_data(b.members[0], [&](const auto* data) {
            using E = std::remove_cvref_t<decltype(*data)>;
            const blend::tensor_view<const E> p(std::span(data, b.rows * b.columns), shape);
            return evaluate(p, labels, task);
        });
        blend::cli::print(json.str());
        return 0;
    });
}
