#pragma once
/// @file examples/demo/svg.hpp
/// blend's small SVG writer for the demo's figures: a document of lines, rectangles, circles,
/// polylines and text (SVG 1.1, https://www.w3.org/TR/SVG11/), and a linear chart frame with "nice"
/// ticks on which figures are drawn in data coordinates. No Debian package offers a plotting library
/// that a header-only C++ project could depend on, so the demo draws its own (docs/demo.md).

#include <blend/io/atomic_file.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace demo::svg {

/// `text` with the five XML special characters escaped.
[[nodiscard]] inline std::string escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default: out += c;
        }
    }
    return out;
}

/// Paint of a shape: SVG `fill`, `stroke`, `stroke-width`, `opacity`, `stroke-dasharray`.
struct paint {
    std::string fill = "none";
    std::string stroke = "none";
    double stroke_width = 1.0;
    double opacity = 1.0;
    std::string dash{};
};

/// Look of a text: size in px, `text-anchor` (start, middle, end), fill, bold, rotation in degrees.
struct font {
    double size = 12.0;
    std::string anchor = "start";
    std::string fill = "#222";
    bool bold = false;
    double rotate = 0.0;
};

/// An SVG document of fixed pixel size; shapes are appended in drawing order.
class document {
public:
    /// An empty white document of `width` x `height` pixels.
    document(double width, double height) : width_{width}, height_{height} {}

    /// A line segment from (x1, y1) to (x2, y2).
    void line(double x1, double y1, double x2, double y2, const paint& p) {
        body_ += fmt::format(R"svg(<line x1="{:.2f}" y1="{:.2f}" x2="{:.2f}" y2="{:.2f}"{}/>)svg", x1, y1, x2, y2, attributes(p)) + "\n";
    }
    /// A rectangle with top-left corner (x, y); negative sizes draw nothing.
    void rect(double x, double y, double w, double h, const paint& p) {
        body_ += fmt::format(R"svg(<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}"{}/>)svg", x, y, std::max(w, 0.0),
                             std::max(h, 0.0), attributes(p)) + "\n";
    }
    /// A circle of radius r around (cx, cy).
    void circle(double cx, double cy, double r, const paint& p) {
        body_ += fmt::format(R"svg(<circle cx="{:.2f}" cy="{:.2f}" r="{:.2f}"{}/>)svg", cx, cy, r, attributes(p)) + "\n";
    }
    /// An open polyline through `points`.
    void polyline(std::span<const std::pair<double, double>> points, const paint& p) {
        std::string list;
        for (const auto& [x, y] : points) list += fmt::format("{}{:.2f},{:.2f}", list.empty() ? "" : " ", x, y);
        body_ += fmt::format(R"svg(<polyline points="{}"{}/>)svg", list, attributes(p)) + "\n";
    }
    /// `content` (escaped) anchored at (x, y) on its baseline.
    void text(double x, double y, std::string_view content, const font& f = {}) {
        std::string extra = f.bold ? R"svg( font-weight="bold")svg" : "";
        if (f.rotate != 0.0) extra += fmt::format(R"svg( transform="rotate({:.1f} {:.2f} {:.2f})")svg", f.rotate, x, y);
        body_ += fmt::format(R"svg(<text x="{:.2f}" y="{:.2f}" font-size="{:.1f}" text-anchor="{}" fill="{}"{}>{}</text>)svg", x, y, f.size,
                             f.anchor, f.fill, extra, escape(content)) + "\n";
    }

    /// The whole document.
    [[nodiscard]] std::string str() const {
        return fmt::format(R"svg(<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<rect x="0" y="0" width="{0}" height="{1}" fill="white"/>
{2}</svg>
)svg",
                           width_, height_, body_);
    }

    /// Writes the document to `path` atomically (blend::io::write_file_atomically).
    void save(const std::filesystem::path& path) const {
        const std::string text = str();
        blend::io::write_file_atomically(path, std::as_bytes(std::span(text.data(), text.size())));
    }

private:
    [[nodiscard]] static std::string attributes(const paint& p) {
        std::string out = fmt::format(R"svg( fill="{}" stroke="{}" stroke-width="{:.2f}")svg", p.fill, p.stroke, p.stroke_width);
        if (p.opacity != 1.0) out += fmt::format(R"svg( opacity="{:.2f}")svg", p.opacity);
        if (!p.dash.empty()) out += fmt::format(R"svg( stroke-dasharray="{}")svg", p.dash);
        return out;
    }

    double width_, height_;
    std::string body_;
};

/// Tick positions covering [lo, hi] with a step of 1, 2 or 5 times a power of ten, about `count` ticks.
[[nodiscard]] inline std::vector<double> nice_ticks(double lo, double hi, int count = 5) {
    if (!(hi > lo)) return {lo};
    const double raw = (hi - lo) / count;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 10.0 * power;
    for (const double m : {1.0, 2.0, 5.0}) {
        if (m * power >= raw * (1.0 - 1e-9)) {
            step = m * power;
            break;
        }
    }
    std::vector<double> out;
    for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    return out;
}

/// A chart frame: the plot area inside a document, a linear map of [x0, x1] x [y0, y1] onto it, and
/// its axes, grid, tick labels, axis titles and title.
class chart {
public:
    struct range {
        double lo = 0.0, hi = 1.0;
    };

    /// The frame of the plot area (left, top, width, height) in `doc`, mapping data ranges `x`, `y` onto it.
    chart(document& doc, double left, double top, double width, double height, range x, range y)
        : doc_{doc}, left_{left}, top_{top}, width_{width}, height_{height}, x_{x}, y_{y} {}

    /// Pixel coordinates of data coordinates.
    [[nodiscard]] double px(double x) const { return left_ + (x - x_.lo) / (x_.hi - x_.lo) * width_; }
    [[nodiscard]] double py(double y) const { return top_ + height_ - (y - y_.lo) / (y_.hi - y_.lo) * height_; }

    /// Grid, frame, ticks with labels (`x_format`/`y_format` are fmt specs such as "{:.2f}"), titles.
    void axes(std::string_view x_title, std::string_view y_title, std::string_view title, std::string_view x_format,
              std::string_view y_format) {
        const paint grid{.stroke = "#ddd"};
        for (const double t : nice_ticks(x_.lo, x_.hi)) {
            doc_.line(px(t), top_, px(t), top_ + height_, grid);
            doc_.text(px(t), top_ + height_ + 16, fmt::format(fmt::runtime(x_format), t), {.size = 11, .anchor = "middle"});
        }
        for (const double t : nice_ticks(y_.lo, y_.hi)) {
            doc_.line(left_, py(t), left_ + width_, py(t), grid);
            doc_.text(left_ - 6, py(t) + 4, fmt::format(fmt::runtime(y_format), t), {.size = 11, .anchor = "end"});
        }
        doc_.rect(left_, top_, width_, height_, {.stroke = "#444"});
        doc_.text(left_ + width_ / 2, top_ + height_ + 36, x_title, {.size = 13, .anchor = "middle"});
        doc_.text(left_ - 50, top_ + height_ / 2, y_title, {.size = 13, .anchor = "middle", .rotate = -90});
        doc_.text(left_ + width_ / 2, top_ - 14, title, {.size = 15, .anchor = "middle", .bold = true});
    }

private:
    document& doc_;
    double left_, top_, width_, height_;
    range x_, y_;
};

}  // namespace demo::svg
