// blend-ensemble select: ensemble weights by greedy selection or CMA-ES (CLI.md), JSON on stdout (and --out).
#include "cli.hpp"
#include "commands.hpp"

#include <blend/ensemble/cmaes.hpp>
#include <blend/ensemble/predictions.hpp>
#include <blend/ensemble/selection.hpp>

#include <charconv>

namespace {

constexpr std::string_view usage =
    "usage: blend-ensemble select --preds F.npy... --labels Y.npy [--method greedy|cmaes]\n"
    "         [--metric log_loss|accuracy|balanced_accuracy|brier|roc_auc|rmse] [--size S]\n"
    "         [--mode autogluon|autosklearn] [--out W.json]\n"
    "Prints {\"weights\": [...], \"order\": [...], \"trajectory\": [...], \"kept\": k}. Greedy ensemble selection\n"
    "(Caruana 2004) in AutoGluon's semantics (default: 25 steps, use_best) or auto-sklearn's (50 steps);\n"
    "metric log_loss (classification) or rmse (regression) by default. cmaes: softmax weights by CMA-ES,\n"
    "order empty, trajectory = best loss per generation, kept 0.\n";

std::size_t parse_size(const std::string& text) {
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0)
        throw blend::cli::usage_error{fmt::format("--size: expected a positive integer, got '{}'", text)};
    return value;
}

}  // namespace

int run_select(std::span<const std::string_view> args) {
    return blend::cli::guarded(usage, [&] {
        namespace ens = blend::ensemble;
        constexpr std::string_view known[] = {"preds", "labels", "method", "metric", "size", "mode", "out"};
        constexpr std::string_view flags[] = {"quiet"};
        const blend::cli::options opts(args, known, flags);
        const auto files = blend::cli::paths(opts.all("preds"));
        const std::string method = opts.one_or("method", "greedy");
        if (method != "greedy" && method != "cmaes")
            throw blend::cli::usage_error{
                fmt::format("--method: unknown method '{}' (expected greedy or cmaes)", method)};
        const std::string mode_name = opts.one_or("mode", "autogluon");
        if (mode_name != "autogluon" && mode_name != "autosklearn")
            throw blend::cli::usage_error{
                fmt::format("--mode: unknown mode '{}' (expected autogluon or autosklearn)", mode_name)};
        const auto mode =
            mode_name == "autogluon" ? ens::selection_mode::autogluon : ens::selection_mode::autosklearn;
        const auto metric = opts.has("metric") ? ens::parse_selection_metric(opts.one("metric"))
                                               : ens::selection_metric::automatic;
        const std::size_t size = opts.has("size") ? parse_size(opts.one("size")) : 0;

        const ens::prediction_set set = ens::load_predictions(files);
        const ens::label_set labels = ens::load_labels(opts.one("labels"));
        const ens::task_kind task = ens::detect_task(set.block, labels);
        ens::check_finite(set);
        if (metric == ens::selection_metric::roc_auc && task != ens::task_kind::binary)
            throw blend::invalid_argument{
                fmt::format("--metric roc_auc needs a binary task, got {}", ens::name(task))};
        const std::span<const std::int64_t> classes =
            labels.floating ? std::span<const std::int64_t>{} : std::span(labels.classes);
        const std::span<const double> targets =
            labels.floating ? std::span(labels.values) : std::span<const double>{};

        const ens::selection_result r =
            method == "greedy" ? ens::select_greedy(set.block, classes, targets,
                                                    {.mode = mode, .metric = metric, .size = size})
                               : ens::select_cmaes(set.block, classes, targets, {.metric = metric});
        std::vector<std::int64_t> order(r.order.begin(), r.order.end());
        blend::cli::json_object json;
        json.add("weights", std::span<const double>(r.weights));
        json.add("order", std::span<const std::int64_t>(order));
        json.add("trajectory", std::span<const double>(r.trajectory));
        json.add_integer("kept", static_cast<long long>(r.kept));
        const std::string text = json.str();
        if (opts.has("out")) blend::cli::write_text(opts.one("out"), text);
        blend::cli::print(text);
        return 0;
    });
}
