#pragma once
/// @file examples/demo/figures.hpp
/// The demo's two figures, drawn with svg.hpp: every row's test accuracy against its test NLL, and
/// the reliability diagram (blend::metrics::reliability_diagram, 15 bins) of one ensemble.

#include "methods.hpp"
#include "svg.hpp"

#include <blend/metrics/calibration_error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace demo {

/// Colour of a row kind (members grey, merges blue, ensembles orange).
[[nodiscard]] inline std::string kind_colour(const std::string& kind) {
    if (kind == "merge") return "#1f77b4";
    if (kind == "ensemble") return "#ff7f0e";
    return "#7f7f7f";
}

/// Scatter of test accuracy (y) against test NLL (x), one numbered point per row, the numbers
/// explained in a legend on the right (up and to the left is better).
inline void plot_accuracy_vs_nll(const std::vector<result_row>& rows, const std::filesystem::path& path) {
    double x_lo = rows.front().test.nll, x_hi = x_lo, y_lo = rows.front().test.accuracy, y_hi = y_lo;
    for (const auto& r : rows) {
        x_lo = std::min(x_lo, r.test.nll), x_hi = std::max(x_hi, r.test.nll);
        y_lo = std::min(y_lo, r.test.accuracy), y_hi = std::max(y_hi, r.test.accuracy);
    }
    const double x_pad = std::max(0.05 * (x_hi - x_lo), 1e-3), y_pad = std::max(0.05 * (y_hi - y_lo), 1e-3);
    svg::document doc(980, 600);
    svg::chart chart(doc, 90, 50, 540, 470, {x_lo - x_pad, x_hi + x_pad}, {y_lo - y_pad, y_hi + y_pad});
    chart.axes("test NLL (log loss, lower is better)", "test accuracy", "Fashion-MNIST: accuracy vs NLL per method", "{:.3f}", "{:.3f}");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        const double x = chart.px(r.test.nll), y = chart.py(r.test.accuracy);
        doc.circle(x, y, 6, {.fill = kind_colour(r.kind), .stroke = "white", .stroke_width = 1.5});
        doc.text(x + 8, y - 6, std::to_string(i + 1), {.size = 11, .fill = kind_colour(r.kind), .bold = true});
        const double ly = 70 + 22.0 * static_cast<double>(i);
        doc.circle(662, ly - 4, 5, {.fill = kind_colour(r.kind)});
        doc.text(674, ly, fmt::format("{:>2}  {}  ({:.4f}, {:.4f})", i + 1, r.name, r.test.accuracy, r.test.nll), {.size = 12});
    }
    double ly = 80 + 22.0 * static_cast<double>(rows.size());
    doc.text(662, ly, "(accuracy, NLL) on the test split;", {.size = 11, .fill = "#555"});
    doc.text(662, ly += 16, "best is up and to the left", {.size = 11, .fill = "#555"});
    const std::pair<const char*, const char*> kinds[] = {{"member", "members"}, {"merge", "weight merges"}, {"ensemble", "ensembles"}};
    for (const auto& [kind, label] : kinds) doc.text(662, ly += 18, label, {.size = 11, .fill = kind_colour(kind), .bold = true});
    doc.save(path);
}

/// Reliability diagram of `row` (15 equal-width confidence bins): per non-empty bin a bar of its
/// accuracy, the gap to its mean confidence in red, the diagonal of perfect calibration, and (when
/// given) the bins of `reference` as a grey line for comparison.
inline void plot_reliability(const result_row& row, const result_row* reference, const xt::xtensor<std::int64_t, 1>& y,
                             const std::filesystem::path& path) {
    const auto bins = blend::metrics::reliability_diagram(row.test_p, y, {.bins = 15});
    svg::document doc(640, 600);
    svg::chart chart(doc, 80, 50, 480, 470, {0.0, 1.0}, {0.0, 1.0});
    chart.axes("confidence (top-label probability)", "accuracy", fmt::format("Reliability: {} (test)", row.name), "{:.1f}", "{:.1f}");
    doc.line(chart.px(0), chart.py(0), chart.px(1), chart.py(1), {.stroke = "#444", .stroke_width = 1.5, .dash = "6,4"});
    for (const auto& b : bins) {
        if (b.count == 0) continue;
        const double x = chart.px(b.lo) + 1, w = chart.px(b.hi) - chart.px(b.lo) - 2;
        doc.rect(x, chart.py(b.accuracy), w, chart.py(0) - chart.py(b.accuracy), {.fill = "#1f77b4", .stroke = "#174a7c", .opacity = 0.85});
        const double top = std::max(b.accuracy, b.mean_confidence), bottom = std::min(b.accuracy, b.mean_confidence);
        doc.rect(x, chart.py(top), w, chart.py(bottom) - chart.py(top), {.fill = "#d62728", .stroke = "#d62728", .opacity = 0.35});
    }
    double legend_y = 80;
    doc.text(100, legend_y, fmt::format("ECE (15 bins) = {:.4f}", row.test.ece), {.size = 13, .bold = true});
    doc.text(100, legend_y += 20, "blue: accuracy per bin; red: gap to mean confidence", {.size = 11, .fill = "#555"});
    if (reference != nullptr) {
        std::vector<std::pair<double, double>> points;
        for (const auto& b : blend::metrics::reliability_diagram(reference->test_p, y, {.bins = 15})) {
            if (b.count != 0) points.emplace_back(chart.px(b.mean_confidence), chart.py(b.accuracy));
        }
        doc.polyline(points, {.stroke = "#555", .stroke_width = 2});
        for (const auto& [px, py] : points) doc.circle(px, py, 3, {.fill = "#555"});
        doc.text(100, legend_y += 18, fmt::format("grey line: {} (ECE {:.4f})", reference->name, reference->test.ece), {.size = 11, .fill = "#555"});
    }
    doc.save(path);
}

}  // namespace demo
