// blend-ensemble: prediction ensembling from the command line (CLI.md). Each subcommand lives in its
// own file (combine.cpp, eval.cpp, calibrate.cpp, select.cpp, stack.cpp) behind commands.hpp.
#include "cli.hpp"
#include "commands.hpp"

#include <cstdio>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view usage =
    "usage: blend-ensemble SUBCOMMAND [options]   (blend-ensemble SUBCOMMAND --help for its options)\n"
    "  combine    combine members' predictions (soft, hard, logit, geometric, rank, median, trimmed, max)\n"
    "  eval       accuracy, balanced accuracy, NLL, Brier, ECE (+ ROC-AUC for binary) or RMSE as JSON\n"
    "  calibrate  fit temperature or vector scaling on validation logits\n"
    "  select     greedy (Caruana) or CMA-ES ensemble selection\n"
    "  stack      fit a meta-learner on out-of-fold predictions and apply it\n";

[[maybe_unused]] int not_built(std::string_view name) {
    std::fprintf(stderr, "blend-ensemble: error: subcommand '%.*s' is not built in this version\n",
                 static_cast<int>(name.size()), name.data());
    return 2;
}

}  // namespace

#ifndef BLEND_ENSEMBLE_HAS_SELECT
int run_select(std::span<const std::string_view>) { return not_built("select"); }
#endif
#ifndef BLEND_ENSEMBLE_HAS_STACK
int run_stack(std::span<const std::string_view>) { return not_built("stack"); }
#endif

int main(int argc, char** argv) {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::fprintf(stderr, "blend-ensemble: error: missing subcommand (see --help)\n");
        return 2;
    }
    const std::string_view command = args[0];
    const std::span<const std::string_view> rest(args.data() + 1, args.size() - 1);
    if (command == "--help" || command == "-h") {
        std::fwrite(usage.data(), 1, usage.size(), stdout);
        return 0;
    }
    if (command == "combine") return run_combine(rest);
    if (command == "eval") return run_eval(rest);
    if (command == "calibrate") return run_calibrate(rest);
    if (command == "select") return run_select(rest);
    if (command == "stack") return run_stack(rest);
    std::fprintf(stderr, "blend-ensemble: error: unknown subcommand '%.*s' (see --help)\n", static_cast<int>(command.size()),
                 command.data());
    return 2;
}
