// blend-ensemble calibrate: temperature or vector scaling fitted on validation logits (CLI.md).
#include "cli.hpp"
#include "commands.hpp"

#include <blend/ensemble/calibration.hpp>
#include <blend/ensemble/predictions.hpp>

namespace {

constexpr std::string_view usage =
    "usage: blend-ensemble calibrate --logits Z.npy --labels Y.npy [--method temperature|vector]\n"
    "Prints {\"temperature\": T} or {\"scale\": [...], \"bias\": [...]} (bias with mean 0), minimising the NLL\n"
    "of softmax(z / T) or softmax(scale * z + bias). Binary (N,) logits are supported by temperature scaling.\n";

}  // namespace

int run_calibrate(std::span<const std::string_view> args) {
    return blend::cli::guarded(usage, [&] {
        namespace ens = blend::ensemble;
        constexpr std::string_view known[] = {"logits", "labels", "method"};
        constexpr std::string_view flags[] = {"quiet"};
        const blend::cli::options opts(args, known, flags);
        const std::string method = opts.one_or("method", "temperature");
        if (method != "temperature" && method != "vector")
            throw blend::cli::usage_error{fmt::format("--method: unknown method '{}' (temperature or vector)", method)};
        const std::filesystem::path files[] = {opts.one("logits")};
        const std::filesystem::path label_file = opts.one("labels");
        const ens::prediction_set set = ens::load_predictions(files);
        if (set.block.size() != 1)
            throw blend::cli::usage_error{fmt::format("{}: calibrate fits one model's logits, but the file holds {} members",
                                                      files[0].string(), set.block.size())};
        const ens::label_set labels = ens::load_labels(label_file);
        if (labels.floating)
            throw blend::io_error{fmt::format("{}: calibration needs integer class labels, not floating point", labels.file)};
        (void)ens::detect_task(set.block, labels);  // row count and label range, with the file names
        ens::check_finite(set);
        const ens::logit_data data{.logits = set.block.members[0], .rows = set.block.rows,
                                   .columns = set.block.columns, .labels = labels.classes};
        blend::cli::json_object json;
        if (method == "temperature") {
            json.add("temperature", ens::fit_temperature(data).temperature);
        } else {
            if (set.block.single_column())
                throw blend::cli::usage_error{fmt::format("{}: vector scaling needs (N, C) logits, C >= 2", files[0].string())};
            const auto fit = ens::fit_vector_scaling(data);
            if (!fit.converged)
                std::fprintf(stderr, "blend-ensemble: warning: vector scaling stopped after %d iterations with gradient %g\n",
                             fit.iterations, fit.gradient_norm);
            json.add("scale", fit.scale);
            json.add("bias", fit.bias);
        }
        blend::cli::print(json.str());
        return 0;
    });
}
