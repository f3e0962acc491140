#pragma once
/// @file blend/ensemble/predictions.hpp
/// Prediction and label files as CLI.md's `blend-ensemble` reads them (shared by every subcommand and
/// by C++ hosts): `load_predictions` (one or more `.npy` files → M members), `load_labels`, and the
/// task detection `detect_task`.
///
/// Shape rules (CLI.md): a 1-D file (N,) is one single-column member (binary positive-class
/// probability / logit, or regression output); a 2-D file (N, C) is one member ((N, 1) is single
/// column); a 3-D file (M, N, C) is M members. Files are concatenated in order; every member must
/// have the same N and C. Predictions are little-endian float32 or float64 and are memory-mapped,
/// not copied (a Fortran-order or misaligned file is read into memory instead).
/// Task: regression when the labels are floating point; binary when the members are single-column
/// and the labels integers (0 or 1); multiclass otherwise (labels in [0, C); (N, 2) is multiclass).
///
/// Errors (all one line, naming the file and the offending value): `io_error` for a missing,
/// unreadable or malformed file, a dtype that is not allowed, or a label out of range; `shape_error`
/// for members or labels whose shapes do not fit together.

#include <blend/core/error.hpp>
#include <blend/core/finite.hpp>
#include <blend/ensemble/member_block.hpp>
#include <blend/io/npy.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace blend::ensemble {

/// What the labels say the members predict.
enum class task_kind { regression, binary, multiclass };

/// "regression", "binary" or "multiclass".
[[nodiscard]] constexpr std::string_view name(task_kind t) noexcept {
    return t == task_kind::regression ? "regression" : t == task_kind::binary ? "binary" : "multiclass";
}

/// Members loaded from files: the block (views into the mappings held here) and, per member, the
/// name used in messages (`file` for a one-member file, `file[m]` inside a 3-D file). Movable only.
struct prediction_set {
    member_block block;
    std::vector<std::string> member_names;
    std::deque<io::mapped_npy> mappings;  // deque: views stay valid as files are added
    std::deque<io::npy_array> copies;
};

namespace detail {

/// The float64 value of element `j` of a float32/float64 member.
[[nodiscard]] inline double member_value(const member_ref& m, std::size_t j) {
    return with_member_data(m, [j](const auto* p) { return static_cast<double>(p[j]); });
}

}  // namespace detail

/// Loads the members of `files` in order (see the file comment). Throws `invalid_argument` for an
/// empty list, `io_error` / `shape_error` as described there.
[[nodiscard]] inline prediction_set load_predictions(std::span<const std::filesystem::path> files) {
    if (files.empty()) throw invalid_argument{"no prediction files"};
    prediction_set set;
    bool first = true;
    for (const auto& path : files) {
        const std::string file = path.string();
        const auto& header = set.mappings.emplace_back(io::map_npy(path));
        const dtype type = header.type;  // copies: the mapping may be dropped below
        const shape_type s = header.shape;
        if (type != dtype::f32 && type != dtype::f64)
            throw io_error{fmt::format("{}: predictions must be float32 or float64, not {}", file, name(type))};
        if (s.empty() || s.size() > 3)
            throw shape_error{fmt::format("{}: predictions must be (N,), (N, C) or (M, N, C), not {}", file,
                                          io::shape_repr(s))};
        const std::size_t count = s.size() == 3 ? s[0] : 1;
        const std::size_t rows = s.size() == 3 ? s[1] : s[0];
        const std::size_t columns = s.size() == 1 ? 1 : s.back();
        if (rows == 0 || columns == 0 || count == 0)
            throw shape_error{fmt::format("{}: empty predictions: {}", file, io::shape_repr(s))};
        if (first) {
            set.block.rows = rows;
            set.block.columns = columns;
            set.block.vector_input = columns == 1;
            first = false;
        } else if (rows != set.block.rows || columns != set.block.columns) {
            throw shape_error{fmt::format("{}: predictions {} do not match the earlier members' (N, C) = ({}, {})",
                                          file, io::shape_repr(s), set.block.rows, set.block.columns)};
        }
        const std::size_t item = size_of(type);
        const std::byte* data = header.data.data();
        if ((header.fortran_order && s.size() > 1) || reinterpret_cast<std::uintptr_t>(data) % item != 0) {
            set.copies.push_back(io::read_npy(path));  // transposed to C order / aligned by the allocator
            data = set.copies.back().data.data();
            set.mappings.pop_back();
        }
        for (std::size_t m = 0; m < count; ++m) {
            set.block.members.push_back({type, data + m * rows * columns * item});
            set.member_names.push_back(s.size() == 3 ? fmt::format("{}[{}]", file, m) : file);
        }
    }
    return set;
}

/// The first entry of `set` that is NaN or infinite, as an `io_error` naming the member, row and
/// value; does nothing when every entry is finite.
inline void check_finite(const prediction_set& set) {
    const std::size_t n = set.block.rows * set.block.columns;
    for (std::size_t m = 0; m < set.block.size(); ++m) {
        const std::size_t bad = with_member_data(set.block.members[m], [n](const auto* p) {
            return first_non_finite(std::span(p, n));
        });
        if (bad < n)
            throw io_error{fmt::format("{}: prediction is not finite at row {} column {}: {}", set.member_names[m],
                                       bad / set.block.columns, bad % set.block.columns,
                                       detail::member_value(set.block.members[m], bad))};
    }
}

/// Labels read from a 1-D `.npy` file: integers of any width (kept as int64) or floating point
/// (regression targets, as float64).
struct label_set {
    std::string file;
    bool floating = false;
    std::vector<std::int64_t> classes;  // integer labels
    std::vector<double> values;         // floating labels
    [[nodiscard]] std::size_t size() const noexcept { return floating ? values.size() : classes.size(); }
};

/// Reads labels: a 1-D `.npy` of any integer dtype (bool included) or float16/32/64. Throws
/// `io_error` for a missing/malformed file, another dtype, a negative or too large integer label, or a
/// non-finite float label; `shape_error` when the file is not 1-D.
[[nodiscard]] inline label_set load_labels(const std::filesystem::path& path) {
    const io::npy_array a = io::read_npy(path);
    label_set out{.file = path.string(), .floating = is_floating(a.type), .classes = {}, .values = {}};
    if (a.shape.size() != 1)
        throw shape_error{fmt::format("{}: labels must be 1-D (N,), not {}", out.file, io::shape_repr(a.shape))};
    const std::size_t n = a.shape[0];
    const auto read = [&]<class T>(T, std::size_t j) {
        T v;
        std::memcpy(&v, a.data.data() + j * sizeof(T), sizeof(T));
        return v;
    };
    for (std::size_t j = 0; j < n; ++j) {
        if (out.floating) {
            double v = 0;
            if (a.type == dtype::f64) v = read(double{}, j);
            else if (a.type == dtype::f32) v = read(float{}, j);
            else throw io_error{fmt::format("{}: labels must be integers, float32 or float64, not {}", out.file, name(a.type))};
            if (!std::isfinite(v)) throw io_error{fmt::format("{}: label {} is not finite: {}", out.file, j, v)};
            out.values.push_back(v);
            continue;
        }
        std::int64_t v = 0;
        switch (a.type) {
            case dtype::boolean:
            case dtype::u8: v = read(std::uint8_t{}, j); break;
            case dtype::i8: v = read(std::int8_t{}, j); break;
            case dtype::i16: v = read(std::int16_t{}, j); break;
            case dtype::u16: v = read(std::uint16_t{}, j); break;
            case dtype::i32: v = read(std::int32_t{}, j); break;
            case dtype::u32: v = read(std::uint32_t{}, j); break;
            case dtype::i64: v = read(std::int64_t{}, j); break;
            case dtype::u64: {
                const auto u = read(std::uint64_t{}, j);
                if (u > static_cast<std::uint64_t>(INT64_MAX))
                    throw io_error{fmt::format("{}: label {} is out of range: {}", out.file, j, u)};
                v = static_cast<std::int64_t>(u);
                break;
            }
            default: throw io_error{fmt::format("{}: labels must be integers, float32 or float64, not {}", out.file, name(a.type))};
        }
        if (v < 0) throw io_error{fmt::format("{}: label {} is negative: {}", out.file, j, v)};
        out.classes.push_back(v);
    }
    return out;
}

/// The task of `block` with `labels` (see the file comment), after checking that they fit: the same
/// N (`shape_error`), regression members single-column (`shape_error`), class labels within
/// [0, C) or {0, 1} for binary (`io_error` naming the label file, row and value).
[[nodiscard]] inline task_kind detect_task(const member_block& block, const label_set& labels) {
    if (labels.size() != block.rows)
        throw shape_error{fmt::format("{}: {} labels for {} prediction rows", labels.file, labels.size(), block.rows)};
    if (labels.floating) {
        if (!block.single_column())
            throw shape_error{fmt::format("{}: regression labels need (N,) predictions, not (N, C) with C = {}",
                                          labels.file, block.columns)};
        return task_kind::regression;
    }
    const auto limit = static_cast<std::int64_t>(block.single_column() ? 2 : block.columns);
    for (std::size_t i = 0; i < labels.classes.size(); ++i)
        if (labels.classes[i] >= limit)
            throw io_error{fmt::format("{}: label {} at row {} is not a class of {}-column predictions", labels.file,
                                       labels.classes[i], i, block.columns)};
    return block.single_column() ? task_kind::binary : task_kind::multiclass;
}

}  // namespace blend::ensemble
