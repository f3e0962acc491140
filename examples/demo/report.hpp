#pragma once
/// @file examples/demo/report.hpp
/// The demo's outputs in words and numbers: the table printed on stdout, a short summary comparing the
/// best single member with the soups and the best ensemble, and OUT/results.json.

#include "members.hpp"
#include "methods.hpp"

#include <blend/io/atomic_file.hpp>
#include <blend/metrics/calibration_error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace demo {

/// What "best" means for `best_row`.
enum class rank_by { accuracy, nll };

/// Selects rows for `best_row`.
using row_filter = std::function<bool(const result_row&)>;

/// The rows of one kind ("member", "merge", "ensemble").
[[nodiscard]] inline row_filter of_kind(std::string kind) {
    return [kind = std::move(kind)](const result_row& r) { return r.kind == kind; };
}

/// The soup ingredients (the members the merges combine).
[[nodiscard]] inline row_filter ingredients() {
    return [](const result_row& r) { return r.ingredient; };
}

/// The row with the best test value among the rows `filter` accepts: highest accuracy, or lowest NLL.
/// Null when there is none.
[[nodiscard]] inline const result_row* best_row(const std::vector<result_row>& rows, const row_filter& filter, rank_by by) {
    const result_row* best = nullptr;
    for (const auto& r : rows) {
        if (!filter(r)) continue;
        if (best == nullptr || (by == rank_by::nll ? r.test.nll < best->test.nll : r.test.accuracy > best->test.accuracy)) best = &r;
    }
    return best;
}

/// The row named `name`, or null.
[[nodiscard]] inline const result_row* find_row(const std::vector<result_row>& rows, const std::string& name) {
    for (const auto& r : rows)
        if (r.name == name) return &r;
    return nullptr;
}

/// Prints the table and the summary on stdout.
inline void print_table(const std::vector<result_row>& rows, const splits& data) {
    fmt::print("\nFashion-MNIST, {} training / {} validation / {} test rows. Scores on the test split;\n"
               "every choice (soup ingredients, lambda, density, selection weights, T, stacking) made on validation.\n\n",
               data.train.rows(), data.val.rows(), data.test.rows());
    fmt::print("{:<26} {:<9} {:>9} {:>8} {:>8}   {}\n", "method", "kind", "accuracy", "NLL", "ECE", "details");
    fmt::print("{:-<26} {:-<9} {:->9} {:->8} {:->8}   {:-<40}\n", "", "", "", "", "", "");
    std::string previous_kind = rows.empty() ? "" : rows.front().kind;
    for (const auto& r : rows) {
        if (r.kind != previous_kind) fmt::print("\n");
        previous_kind = r.kind;
        fmt::print("{:<26} {:<9} {:>9.4f} {:>8.4f} {:>8.4f}   {}\n", r.name, r.kind, r.test.accuracy, r.test.nll, r.test.ece, r.detail);
    }
    const auto* member = best_row(rows, of_kind("member"), rank_by::accuracy);
    const auto* ingredient = best_row(rows, ingredients(), rank_by::accuracy);
    const auto* uniform = find_row(rows, "uniform soup");
    const auto* greedy = find_row(rows, "greedy soup");
    const auto* merge = best_row(rows, of_kind("merge"), rank_by::accuracy);
    const auto* ensemble = best_row(rows, of_kind("ensemble"), rank_by::accuracy);
    const auto versus = [](const result_row* r, const result_row* reference) {
        return fmt::format("{:.4f} ({:+.4f})", r->test.accuracy, r->test.accuracy - reference->test.accuracy);
    };
    fmt::print("\nTest accuracy (difference to the reference in brackets):\n"
               "  soups vs the best ingredient, {} {:.4f}: uniform soup {}, greedy soup {}, best merge ({}) {}\n"
               "  ensembles vs the best single member, {} {:.4f}: best ensemble ({}) {}\n",
               ingredient->name, ingredient->test.accuracy, versus(uniform, ingredient), versus(greedy, ingredient), merge->name,
               versus(merge, ingredient), member->name, member->test.accuracy, ensemble->name, versus(ensemble, member));
}

/// What results.json records besides the rows.
struct run_record {
    experiment_config config;
    bool quick = false;
    std::map<std::string, double> seconds;  ///< phase → wall-clock seconds
    std::vector<std::string> models;        ///< safetensors files written, relative to OUT
    std::vector<std::string> figures;       ///< SVG files written, relative to OUT
    std::string reliability_of;             ///< the row whose reliability diagram was drawn
};

/// Writes OUT/results.json (atomically): the configuration, every row's scores, the summary, the
/// reliability bins of the plotted row, timings and the files written.
inline void write_results(const std::filesystem::path& path, const std::vector<result_row>& rows, const splits& data,
                          const run_record& record) {
    using nlohmann::json;
    const auto row_json = [](const result_row& r) {
        return json{{"name", r.name}, {"kind", r.kind}, {"detail", r.detail}, {"accuracy", r.test.accuracy}, {"nll", r.test.nll}, {"ece", r.test.ece}, {"ingredient", r.ingredient}};
    };
    json out;
    out["dataset"] = {{"name", "Fashion-MNIST"},
                      {"source", record.config.data_dir.string()},
                      {"train_rows", data.train.rows()},
                      {"val_rows", data.val.rows()},
                      {"test_rows", data.test.rows()}};
    out["config"] = {{"quick", record.quick},          {"seed", record.config.seed},     {"ingredients", record.config.ingredients},
                     {"hidden", record.config.hidden}, {"epochs", record.config.epochs}, {"stacking", "held-out validation split (not k-fold)"}};
    out["rows"] = json::array();
    for (const auto& r : rows) out["rows"].push_back(row_json(r));
    out["summary"] = {{"best_member", row_json(*best_row(rows, of_kind("member"), rank_by::accuracy))},
                      {"best_ingredient", row_json(*best_row(rows, ingredients(), rank_by::accuracy))},
                      {"uniform_soup", row_json(*find_row(rows, "uniform soup"))},
                      {"greedy_soup", row_json(*find_row(rows, "greedy soup"))},
                      {"best_merge", row_json(*best_row(rows, of_kind("merge"), rank_by::accuracy))},
                      {"best_ensemble", row_json(*best_row(rows, of_kind("ensemble"), rank_by::accuracy))}};
    json bins = json::array();
    const auto* plotted = find_row(rows, record.reliability_of);
    for (const auto& b : blend::metrics::reliability_diagram(plotted->test_p, data.test.y, {.bins = 15})) {
        bins.push_back({{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}, {"mean_confidence", b.mean_confidence}, {"accuracy", b.accuracy}});
    }
    out["reliability"] = {{"method", record.reliability_of}, {"bins", std::move(bins)}};
    out["seconds"] = record.seconds;
    out["files"] = {{"models", record.models}, {"figures", record.figures}};
    const std::string text = out.dump(2) + "\n";
    blend::io::write_file_atomically(path, std::as_bytes(std::span(text.data(), text.size())));
}

}  // namespace demo
