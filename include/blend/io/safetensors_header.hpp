#pragma once
/// @file blend/io/safetensors_header.hpp
/// The safetensors header: parsing with full validation, and the canonical serialization.
///
/// Format (huggingface/safetensors README, "Format"): 8 bytes N, a little-endian u64; N bytes of UTF-8
/// JSON, an object that MUST begin with `{` and MAY be padded at the end with spaces; then the data
/// section, the rest of the file. Each key of the object but `__metadata__` names a tensor:
/// `{"dtype": "F16", "shape": [1, 16, 256], "data_offsets": [BEGIN, END]}`, offsets relative to the
/// data section, END one past the last byte; `__metadata__` is a string → string map.
///
/// `parse_safetensors_header` accepts a file iff all of these hold (each violation is a
/// `blend::io_error`, one line, `"<file>: tensor '<name>': <rule>: <values>"`, or `"<file>: <rule>:
/// <values>"` for rules about the whole header):
///   1. the file has at least 8 bytes;
///   2. N ≤ 100'000'000 (the Rust reference's MAX_HEADER_SIZE) and 8 + N ≤ file size;
///   3. the header is valid UTF-8 (RFC 3629: no overlong forms, surrogates or code points > U+10FFFF);
///   4. its first byte is `{` and it is one JSON value (nlohmann_json's strict RFC 8259 parser; JSON
///      whitespace may follow it), hence an object;
///   5. no object key occurs twice, at the top level (tensor names, `__metadata__`), in a tensor's
///      entry, or in `__metadata__`;
///   6. `__metadata__`, when present, is an object whose values are all strings;
///   7. tensor names are non-empty; each entry is an object with exactly the keys `dtype` (a known
///      dtype name: BOOL U8 I8 I16 U16 F16 BF16 I32 U32 F32 F64 I64 U64 F8_E4M3 F8_E5M2), `shape` (an
///      array of integers in [0, 2^64)) and `data_offsets` (an array of two such integers, begin ≤ end);
///   8. product(shape) × size_of(dtype), computed left to right, fits in 64 bits (like the Rust
///      reference's checked multiplications) and equals end − begin;
///   9. end ≤ data section size (file size − 8 − N);
///  10. sorted by (begin, end), the tensors tile the data section exactly: the first begins at 0, each
///      begins where the previous ended (a smaller begin is an overlap, a larger one a gap), and the last
///      ends at the end of the file — trailing bytes are an error, as in the Rust reference
///      (`MetadataIncompleteBuffer`: last end + 8 + N must equal the file size), and a file without
///      tensors must have an empty data section.
///
/// Differences from the Rust reference (`safetensors/src/tensor.rs`, 0.4 to 0.8-dev), all deliberate:
///   - it accepts leading JSON whitespace before `{`; blend follows the README's MUST (rule 4);
///   - it ignores unknown keys in a tensor entry (serde's default); blend rejects them (rule 7);
///   - it keeps the last of duplicate keys (serde's HashMap); blend rejects them (rule 5, as the README
///     asks: "Duplicate keys are disallowed");
///   - it accepts `"__metadata__": null` (an Option) and an empty tensor name; blend rejects both;
///   - it knows the newer sub-byte and exotic dtypes (F4, F6_*, F8_E8M0, F8_*FNUZ, C64); blend has no
///     such dtype and rejects them as unknown.

#include <blend/core/concepts.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>
#include <blend/io/detail/json.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace blend::io {

/// One tensor of a safetensors file.
struct tensor_entry {
    std::string name;
    dtype type = dtype::f32;
    shape_type shape;
    std::uint64_t begin = 0;  ///< first byte, relative to the data section (as in the file)
    std::uint64_t end = 0;    ///< one past the last byte, relative to the data section

    /// Number of data bytes, end − begin.
    [[nodiscard]] std::uint64_t byte_size() const noexcept { return end - begin; }
};

/// A parsed and validated safetensors header.
struct safetensors_header {
    std::vector<tensor_entry> tensors;            ///< sorted by (begin, end): the data order
    std::map<std::string, std::string> metadata;  ///< `__metadata__` (empty when absent)
    std::uint64_t data_offset = 8;                ///< where the data section starts in the file: 8 + N
};

/// The Rust reference's limit on N, the header's length in bytes.
inline constexpr std::uint64_t max_safetensors_header_size = 100'000'000;

namespace detail {

/// The message tail for a duplicate key in a safetensors header.
[[nodiscard]] inline std::string safetensors_duplicate(const std::string* outer, const std::string& key) {
    if (outer == nullptr) {
        return key == "__metadata__" ? std::string{"duplicate key '__metadata__'"}
                                     : fmt::format("tensor '{}': duplicate tensor name", printable(key));
    }
    if (*outer == "__metadata__") return fmt::format("__metadata__: duplicate key '{}'", printable(key));
    return fmt::format("tensor '{}': duplicate key '{}'", printable(*outer), printable(key));
}

/// product(shape) × size_of(type), multiplied left to right; `std::nullopt` when a step overflows 64 bits.
[[nodiscard]] inline std::optional<std::uint64_t> byte_size(const shape_type& shape, dtype type) noexcept {
    constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t bytes = 1;
    for (const std::uint64_t e : shape) {
        if (e != 0 && bytes > max / e) return std::nullopt;
        bytes *= e;
    }
    if (bytes > max / size_of(type)) return std::nullopt;
    return bytes * size_of(type);
}

/// One tensor entry, rules 7–9 of the file comment.
[[nodiscard]] inline tensor_entry parse_tensor_entry(const std::string& name, const nlohmann::json& v,
                                                     std::uint64_t data_size, std::string_view file) {
    const auto fail = [&](std::string_view rule, const std::string& values) -> io_error {
        return io_error{fmt::format("{}: tensor '{}': {}: {}", file, printable(name), rule, values)};
    };
    if (name.empty()) throw io_error{fmt::format("{}: tensor '': empty tensor name", file)};
    if (!v.is_object()) throw fail("entry is not a JSON object", printable_json(v));
    for (const auto& [key, ignored] : v.items()) {
        if (key != "dtype" && key != "shape" && key != "data_offsets") {
            throw fail("unexpected key", fmt::format("'{}'", printable(key)));
        }
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        if (!v.contains(key)) throw fail("missing key", fmt::format("'{}'", key));
    }
    tensor_entry entry;
    entry.name = name;

    const auto& dt = v["dtype"];
    if (!dt.is_string()) throw fail("dtype is not a string", printable_json(dt));
    const auto parsed = dtype_from_safetensors_name(dt.get_ref<const std::string&>());
    if (!parsed) throw fail("unknown dtype", printable_json(dt));
    entry.type = *parsed;

    const auto& shape = v["shape"];
    if (!shape.is_array()) throw fail("shape is not an array", printable_json(shape));
    entry.shape.reserve(shape.size());
    for (const auto& extent : shape) {
        std::uint64_t e = 0;
        if (!json_u64(extent, e))
            throw fail("shape is not an array of non-negative integers", printable_json(shape));
        entry.shape.push_back(static_cast<std::size_t>(e));
    }

    const auto& offsets = v["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !json_u64(offsets[0], entry.begin) ||
        !json_u64(offsets[1], entry.end)) {
        throw fail("data_offsets is not an array of two non-negative integers", printable_json(offsets));
    }
    if (entry.begin > entry.end) {
        throw fail("data_offsets begin > end", fmt::format("[{}, {}]", entry.begin, entry.end));
    }

    const auto size = byte_size(entry.shape, entry.type);
    if (!size) {
        throw fail(
            "shape × dtype size overflows 64 bits",
            fmt::format("shape [{}] of {}", fmt::join(entry.shape, ", "), safetensors_name(entry.type)));
    }
    const std::uint64_t bytes = *size;
    if (bytes != entry.end - entry.begin) {
        throw fail("shape and dtype do not match the byte size",
                   fmt::format("shape [{}] of {} needs {} bytes, data_offsets [{}, {}] hold {}",
                               fmt::join(entry.shape, ", "), safetensors_name(entry.type), bytes, entry.begin,
                               entry.end, entry.end - entry.begin));
    }
    if (entry.end > data_size) {
        throw fail("data_offsets out of bounds", fmt::format("[{}, {}] but the data section has {} bytes",
                                                             entry.begin, entry.end, data_size));
    }
    return entry;
}

}  // namespace detail

/// Parses and validates the header of the safetensors file whose bytes are `file_bytes` (the whole
/// file: the tiling rule needs its size), naming `file_name_for_errors` in every error. Returns the
/// tensors in data order and the metadata; the rules and the differences from the Rust reference are
/// in this file's comment. Throws `blend::io_error` on the first violation found.
[[nodiscard]] inline safetensors_header parse_safetensors_header(std::span<const std::byte> file_bytes,
                                                                 std::string_view file_name_for_errors) {
    const std::string_view file = file_name_for_errors;
    const std::uint64_t size = file_bytes.size();
    if (size < 8) {
        throw io_error{fmt::format("{}: file too small for a safetensors header: {} bytes, need at least 8",
                                   file, size)};
    }
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | static_cast<std::uint8_t>(file_bytes[static_cast<std::size_t>(i)]);
    if (n > max_safetensors_header_size) {
        throw io_error{fmt::format("{}: header length too large: {} bytes, the limit is {}", file, n,
                                   max_safetensors_header_size)};
    }
    if (n > size - 8) {
        throw io_error{fmt::format(
            "{}: header extends beyond the end of the file: 8 + {} bytes of header, the file has {}", file, n,
            size)};
    }
    const auto header = file_bytes.subspan(8, static_cast<std::size_t>(n));
    if (const std::size_t bad = detail::invalid_utf8_at(header); bad != header.size()) {
        throw io_error{fmt::format("{}: header is not valid UTF-8: byte 0x{:02x} at header offset {}", file,
                                   static_cast<unsigned>(header[bad]), bad)};
    }
    if (header.empty() || header[0] != std::byte{'{'}) {
        throw io_error{fmt::format("{}: header is not a JSON object: it must begin with '{{', not {}", file,
                                   header.empty()
                                       ? std::string{"nothing"}
                                       : fmt::format("0x{:02x}", static_cast<unsigned>(header[0])))};
    }
    const std::string_view text(reinterpret_cast<const char*>(header.data()), header.size());
    auto parsed = detail::parse_json_object(text, file, "header", detail::safetensors_duplicate);

    safetensors_header result;
    result.data_offset = 8 + n;
    const std::uint64_t data_size = size - 8 - n;
    result.tensors.reserve(parsed.keys.size());
    for (const std::string& key : parsed.keys) {  // document order: ties in the sort keep it
        const nlohmann::json& value = *parsed.value.find(key);
        if (key == "__metadata__") {
            if (!value.is_object()) {
                throw io_error{fmt::format("{}: __metadata__ is not a JSON object: {}", file,
                                           detail::printable_json(value))};
            }
            for (const auto& [k, v] : value.items()) {
                if (!v.is_string()) {
                    throw io_error{fmt::format("{}: __metadata__: value of key '{}' is not a string: {}",
                                               file, detail::printable(k), detail::printable_json(v))};
                }
                result.metadata.emplace(k, v.get<std::string>());
            }
            continue;
        }
        result.tensors.push_back(detail::parse_tensor_entry(key, value, data_size, file));
    }

    std::stable_sort(result.tensors.begin(), result.tensors.end(),
                     [](const tensor_entry& a, const tensor_entry& b) {
                         return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
                     });
    std::uint64_t expected = 0;
    const tensor_entry* previous = nullptr;
    for (const tensor_entry& t : result.tensors) {
        if (t.begin < expected) {
            throw io_error{fmt::format(
                "{}: tensor '{}': overlaps tensor '{}': data_offsets [{}, {}] begin before {}", file,
                detail::printable(t.name), detail::printable(previous->name), t.begin, t.end, expected)};
        }
        if (t.begin > expected) {
            throw io_error{
                fmt::format("{}: tensor '{}': gap before the tensor: data bytes [{}, {}) belong to no tensor",
                            file, detail::printable(t.name), expected, t.begin)};
        }
        expected = t.end;
        previous = &t;
    }
    if (expected != data_size) {
        throw io_error{fmt::format(
            "{}: data section not fully covered by tensors: data bytes [{}, {}) belong to no tensor", file,
            expected, data_size)};
    }
    return result;
}

/// The canonical header for `tensors` (in data order) and `metadata`: the N bytes that follow the
/// 8-byte length in the file. Compact JSON, `__metadata__` first (omitted when `metadata` is empty,
/// its keys in sorted order), then each tensor as `{"dtype":…,"shape":[…],"data_offsets":[b,e]}` in
/// the given order, padded with spaces so that 8 + N is a multiple of 8 (CLI.md "canonical layout").
/// Strings are escaped as nlohmann_json and serde_json both do (`\"`, `\\`, `\b\f\n\r\t`, other
/// control characters as `\u00xx`, non-ASCII UTF-8 as is).
///
/// Versus the Python `safetensors` library (which writes through the Rust crate's `prepare`): the same
/// compact form, key order within an entry (dtype, shape, data_offsets), `__metadata__` placement and
/// space padding to a multiple of 8; but it orders the tensors itself (by descending dtype alignment,
/// then name), while this function keeps the caller's order, and it writes the metadata keys in
/// HashMap (random) order, while this function sorts them.
///
/// Throws `blend::invalid_argument` when the result would not parse back: an empty, duplicate,
/// `__metadata__` or non-UTF-8 name or metadata string, offsets that do not tile [0, total) in the
/// given order, a byte size that does not match shape × dtype, or a header over 100'000'000 bytes.
[[nodiscard]] inline std::string serialize_safetensors_header(
    std::span<const tensor_entry> tensors, const std::map<std::string, std::string>& metadata) {
    const auto check_utf8 = [](const std::string& s, std::string_view what) {
        const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(s.data()), s.size());
        if (detail::invalid_utf8_at(bytes) != bytes.size()) {
            throw invalid_argument{fmt::format("serialize_safetensors_header: {} '{}' is not valid UTF-8",
                                               what, detail::printable(s))};
        }
    };
    const auto quoted = [](const std::string& s) { return nlohmann::json(s).dump(); };

    std::string out = "{";
    if (!metadata.empty()) {
        out += "\"__metadata__\":{";
        for (const auto& [k, v] : metadata) {
            check_utf8(k, "metadata key");
            check_utf8(v, "metadata value");
            out += fmt::format("{}{}:{}", out.back() == '{' ? "" : ",", quoted(k), quoted(v));
        }
        out += '}';
    }
    std::set<std::string_view> names;
    std::uint64_t expected = 0;
    for (const tensor_entry& t : tensors) {
        const auto fail = [&](std::string_view what) {
            return invalid_argument{fmt::format("serialize_safetensors_header: tensor '{}': {}",
                                                detail::printable(t.name), what)};
        };
        if (t.name.empty() || t.name == "__metadata__") throw fail("reserved or empty name");
        check_utf8(t.name, "tensor name");
        if (!names.insert(t.name).second) throw fail("duplicate name");
        if (t.begin != expected || t.end < t.begin) {
            throw fail(fmt::format("data_offsets [{}, {}] do not start where the previous tensor ends ({})",
                                   t.begin, t.end, expected));
        }
        if (detail::byte_size(t.shape, t.type) != t.end - t.begin) {
            throw fail(fmt::format("shape [{}] of {} does not fill data_offsets [{}, {}]",
                                   fmt::join(t.shape, ", "), safetensors_name(t.type), t.begin, t.end));
        }
        expected = t.end;
        if (out.size() > 1) out += ',';
        out += quoted(t.name);
        out += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                           safetensors_name(t.type), fmt::join(t.shape, ","), t.begin, t.end);
    }
    out += '}';
    out.append((8 - out.size() % 8) % 8, ' ');
    if (out.size() > max_safetensors_header_size) {
        throw invalid_argument{
            fmt::format("serialize_safetensors_header: header of {} bytes exceeds the limit of {}",
                        out.size(), max_safetensors_header_size)};
    }
    return out;
}

}  // namespace blend::io
