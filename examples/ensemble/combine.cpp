// blend-ensemble combine: combine M members' predictions into one (CLI.md).
#include "cli.hpp"
#include "commands.hpp"

#include <blend/ensemble/combine.hpp>
#include <blend/ensemble/hard_vote.hpp>
#include <blend/ensemble/predictions.hpp>

#include <cmath>

namespace {

constexpr std::string_view usage =
    "usage: blend-ensemble combine --preds F.npy... [--weights W.json | --weights w1,w2,...]\n"
    "                              [--method soft|hard|logit|geometric|rank|median|trimmed|max] --out P.npy\n"
    "Combines the members of the prediction files (each (N,), (N, C) or (M, N, C)) into float64 (N, C)\n"
    "(or (N,) for single-column members); --method hard writes int64 (N,) labels. Default: soft, equal weights.\n";

}  // namespace

int run_combine(std::span<const std::string_view> args) {
    return blend::cli::guarded(usage, [&] {
        namespace ens = blend::ensemble;
        constexpr std::string_view known[] = {"preds", "weights", "method", "out"};
        constexpr std::string_view flags[] = {"quiet"};
        const blend::cli::options opts(args, known, flags);
        const auto method_name = opts.one_or("method", "soft");
        const auto method = ens::parse_combine_method(method_name);
        if (!method) throw blend::cli::usage_error{fmt::format("--method: unknown method '{}'", method_name)};
        const std::filesystem::path out = opts.one("out");
        const auto files = blend::cli::paths(opts.all("preds"));
        std::vector<double> weights;
        if (opts.has("weights")) weights = blend::cli::parse_weights(opts.one("weights"));

        const ens::prediction_set set = ens::load_predictions(files);
        if (!weights.empty() && weights.size() != set.block.size())
            throw blend::cli::usage_error{fmt::format("--weights: {} weights for {} members", weights.size(), set.block.size())};
        if (*method == ens::combine_method::hard) {
            ens::check_finite(set);
            blend::cli::write_output(out, ens::hard_vote(set.block, {.weights = weights}));
            return 0;
        }
        // sorting methods need finite values up front; the others propagate NaN/Inf into the result,
        // which is checked afterwards (no extra pass over the inputs when all is well)
        const bool sorts = *method == ens::combine_method::rank || *method == ens::combine_method::median ||
                           *method == ens::combine_method::trimmed || *method == ens::combine_method::max;
        if (sorts) ens::check_finite(set);
        const auto result = ens::combine(set.block, {.method = *method, .weights = weights});
        for (const double v : result) {
            if (!std::isfinite(v)) {
                ens::check_finite(set);
                throw blend::io_error{fmt::format("combine {}: the result is not finite: {}", method_name, v)};
            }
        }
        blend::cli::write_output(out, result);
        return 0;
    });
}
