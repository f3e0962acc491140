#pragma once
/// @file blend/io/detail/npy_header.hpp
/// The `.npy` preamble and header-dictionary parser behind `blend/io/npy.hpp` (see the format and the
/// grammar there), and the descr <-> dtype table the writer shares. Private: use `blend/io/npy.hpp`.

#include <blend/core/concepts.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace blend::io::detail {

inline constexpr std::string_view npy_magic = "\x93NUMPY";
inline constexpr std::size_t npy_max_dims = 64;
inline constexpr std::uint64_t npy_max_bytes = std::numeric_limits<std::int64_t>::max();

/// The `.npy` descr of each dtype numpy has (kind and size; the byte order is added by the caller).
struct npy_descr_entry {
    std::string_view kind_size;
    dtype type;
};
inline constexpr npy_descr_entry npy_descrs[] = {
    {"b1", dtype::boolean}, {"u1", dtype::u8},  {"i1", dtype::i8},  {"i2", dtype::i16},
    {"u2", dtype::u16},     {"f2", dtype::f16}, {"i4", dtype::i32}, {"u4", dtype::u32},
    {"f4", dtype::f32},     {"f8", dtype::f64}, {"i8", dtype::i64}, {"u8", dtype::u64}};

/// `text` (at most `max` bytes of it) as printable ASCII on one line, for messages.
[[nodiscard]] inline std::string npy_excerpt(std::string_view text, std::size_t max = 32) {
    std::string out;
    for (const char c : text.substr(0, max)) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n')
            out += "\\n";
        else if (c == '\\')
            out += "\\\\";
        else if (u < 0x20 || u >= 0x7f)
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    if (text.size() > max) out += "...";
    return out;
}

/// The shape as Python writes a tuple: `()`, `(3,)`, `(3, 4)`.
[[nodiscard]] inline std::string npy_shape_repr(const shape_type& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

/// product(shape) x itemsize, or nullopt when it is 2^63 or more (a zero extent gives 0 regardless).
[[nodiscard]] inline std::optional<std::uint64_t> npy_byte_count(const shape_type& shape,
                                                                 std::size_t itemsize) {
    std::uint64_t bytes = itemsize;
    bool zero = false;
    for (const std::size_t e : shape) {
        if (e == 0)
            zero = true;
        else if (bytes > npy_max_bytes / e)
            return std::nullopt;
        else
            bytes *= e;
    }
    return zero ? 0 : bytes;
}

/// The dtype of a descr string; io_error naming the rule it breaks otherwise.
[[nodiscard]] inline dtype npy_dtype_from_descr(std::string_view descr, std::string_view file) {
    if (descr.size() >= 2) {
        const char order = descr[0];
        for (const auto& d : npy_descrs) {
            if (descr.substr(1) != d.kind_size) continue;
            if (order == '<' || (size_of(d.type) == 1 && (order == '|' || order == '>' || order == '=')))
                return d.type;
            if (order == '>')
                throw io_error{fmt::format("{}: big-endian not supported: descr '{}'", file, descr)};
            if (order == '|' || order == '=')
                throw io_error{fmt::format("{}: descr without little-endian byte order: '{}'", file, descr)};
        }
        const char kind = (order == '<' || order == '>' || order == '|' || order == '=') ? descr[1] : order;
        const char* what = kind == 'O'                                   ? "object arrays not supported"
                           : (kind == 'U' || kind == 'S' || kind == 'a') ? "string dtypes not supported"
                           : kind == 'V'                                 ? "structured dtypes not supported"
                           : kind == 'c'                                 ? "complex dtypes not supported"
                           : (kind == 'M' || kind == 'm')                ? "datetime dtypes not supported"
                                                                         : nullptr;
        if (what != nullptr)
            throw io_error{fmt::format("{}: {}: descr '{}'", file, what, npy_excerpt(descr))};
    }
    throw io_error{fmt::format("{}: unsupported descr: '{}'", file, npy_excerpt(descr))};
}

/// The descr blend writes for `t` ('<f4', '|u1', ...); nullopt for types numpy lacks (bf16, f8).
[[nodiscard]] constexpr std::optional<std::array<char, 3>> npy_descr_of(dtype t) noexcept {
    for (const auto& d : npy_descrs) {
        if (d.type == t)
            return std::array<char, 3>{size_of(t) == 1 ? '|' : '<', d.kind_size[0], d.kind_size[1]};
    }
    return std::nullopt;
}

/// The parsed header dictionary.
struct npy_header {
    dtype type = dtype::f32;
    shape_type shape;
    bool fortran_order = false;
};

/// Recursive-descent parser of the header grammar in the file comment.
class npy_header_parser {
public:
    npy_header_parser(std::string_view text, std::string_view file) : text_{text}, file_{file} {}

    [[nodiscard]] npy_header parse() {
        npy_header h;
        bool seen[3] = {false, false, false};  // descr, fortran_order, shape
        skip_ws();
        expect('{', "expected '{'");
        for (;;) {
            skip_ws();
            if (consume('}')) break;
            const std::string_view key = parse_string("expected a quoted key or '}'");
            const int index = key == "descr" ? 0 : key == "fortran_order" ? 1 : key == "shape" ? 2 : -1;
            if (index < 0)
                throw io_error{fmt::format("{}: unknown header key: '{}'", file_, npy_excerpt(key))};
            if (seen[index]) throw io_error{fmt::format("{}: duplicate header key: '{}'", file_, key)};
            seen[index] = true;
            skip_ws();
            expect(':', "expected ':' after a key");
            skip_ws();
            if (index == 0)
                h.type = parse_descr();
            else if (index == 1)
                h.fortran_order = parse_bool();
            else
                h.shape = parse_shape();
            skip_ws();
            if (consume(',')) continue;
            expect('}', "expected ',' or '}'");
            break;
        }
        skip_ws();
        if (pos_ != text_.size()) fail("trailing characters after the header dictionary");
        constexpr std::string_view names[3] = {"descr", "fortran_order", "shape"};
        for (int i = 0; i < 3; ++i) {
            if (!seen[i]) throw io_error{fmt::format("{}: missing header key: '{}'", file_, names[i])};
        }
        return h;
    }

private:
    [[noreturn]] void fail(std::string_view rule) const {
        std::string_view rest = text_.substr(pos_);
        while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\n')) rest.remove_suffix(1);
        if (rest.empty())
            throw io_error{fmt::format("{}: malformed .npy header: {} at the end", file_, rule)};
        throw io_error{fmt::format("{}: malformed .npy header: {} at byte {}: '{}'", file_, rule, pos_,
                                   npy_excerpt(rest))};
    }
    [[nodiscard]] bool at(char c) const noexcept { return pos_ < text_.size() && text_[pos_] == c; }
    bool consume(char c) noexcept {
        if (!at(c)) return false;
        ++pos_;
        return true;
    }
    void expect(char c, std::string_view rule) {
        if (!consume(c)) fail(rule);
    }
    void skip_ws() noexcept {
        while (at(' ') || at('\t') || at('\n') || at('\r')) ++pos_;
    }
    std::string_view parse_string(std::string_view rule) {
        if (!at('\'') && !at('"')) fail(rule);
        const char quote = text_[pos_++];
        const std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != quote) {
            if (text_[pos_] == '\\') fail("escape sequences not supported");
            if (text_[pos_] == '\n') break;
            ++pos_;
        }
        if (!at(quote)) {
            pos_ = start - 1;
            fail("unterminated string");
        }
        return text_.substr(start, pos_++ - start);
    }
    dtype parse_descr() {
        if (at('['))
            throw io_error{fmt::format("{}: structured dtypes not supported: descr is a list", file_)};
        if (at('('))
            throw io_error{fmt::format("{}: sub-array dtypes not supported: descr is a tuple", file_)};
        return npy_dtype_from_descr(parse_string("descr must be a quoted string"), file_);
    }
    bool parse_bool() {
        const std::string_view rest = text_.substr(pos_);
        for (const bool value : {true, false}) {
            const std::string_view word = value ? "True" : "False";
            const char next = rest.size() > word.size() ? rest[word.size()] : ' ';
            const bool word_char = (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
                                   (next >= '0' && next <= '9') || next == '_';
            if (rest.substr(0, word.size()) == word && !word_char) {
                pos_ += word.size();
                return value;
            }
        }
        fail("fortran_order must be True or False");
    }
    std::size_t parse_extent() {
        const std::size_t start = pos_;
        const bool negative = consume('-');
        const std::size_t first = pos_;
        std::uint64_t value = 0;
        bool too_large = false;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
            const auto digit = static_cast<std::uint64_t>(text_[pos_++] - '0');
            too_large = too_large || value > (npy_max_bytes - digit) / 10;
            if (!too_large) value = value * 10 + digit;
        }
        if (pos_ == first) fail("expected an integer in the shape");
        if (text_[first] == '0' && pos_ - first > 1) {
            pos_ = start;
            fail("integer with leading zeros");
        }
        const std::string_view digits = text_.substr(start, pos_ - start);
        if (negative && value != 0)
            throw io_error{fmt::format("{}: negative shape entry: {}", file_, digits)};
        if (too_large)
            throw io_error{fmt::format("{}: shape entry too large: {}", file_, npy_excerpt(digits))};
        return static_cast<std::size_t>(value);
    }
    shape_type parse_shape() {
        shape_type shape;
        expect('(', "shape must be a tuple");
        skip_ws();
        if (consume(')')) return shape;
        for (;;) {
            if (shape.size() == npy_max_dims)
                throw io_error{fmt::format("{}: too many dimensions: more than {}", file_, npy_max_dims)};
            shape.push_back(parse_extent());
            skip_ws();
            if (shape.size() == 1 && at(')')) fail("a shape of one entry needs a trailing comma, as in (3,)");
            if (consume(')')) break;
            expect(',', "expected ',' or ')' in the shape");
            skip_ws();
            if (consume(')')) break;
        }
        return shape;
    }

    std::string_view text_;
    std::string_view file_;
    std::size_t pos_ = 0;
};

/// Where the header is: parsed from the first min(12, file size) bytes of a file of `file_size` bytes.
struct npy_preamble {
    std::size_t header_offset = 0;
    std::size_t header_length = 0;
};

[[nodiscard]] inline npy_preamble parse_npy_preamble(std::span<const std::byte> head, std::uint64_t file_size,
                                                     std::string_view file) {
    const std::string_view text{reinterpret_cast<const char*>(head.data()), head.size()};
    const std::size_t n = std::min(text.size(), npy_magic.size());
    if (text.substr(0, n) != npy_magic.substr(0, n))
        throw io_error{
            fmt::format("{}: not a .npy file (bad magic): '{}'", file, npy_excerpt(text.substr(0, 6)))};
    if (file_size < 10)
        throw io_error{fmt::format("{}: truncated .npy preamble: file of {} bytes", file, file_size)};
    const auto major = static_cast<unsigned char>(text[6]);
    const auto minor = static_cast<unsigned char>(text[7]);
    if (major < 1 || major > 3 || minor != 0)
        throw io_error{fmt::format("{}: unsupported .npy version: {}.{}", file, major, minor)};
    const std::size_t width = major == 1 ? 2 : 4;
    if (file_size < 8 + width)
        throw io_error{fmt::format("{}: truncated .npy preamble: file of {} bytes", file, file_size)};
    std::size_t length = 0;
    for (std::size_t i = width; i-- > 0;) length = length * 256 + static_cast<unsigned char>(text[8 + i]);
    const npy_preamble p{8 + width, length};
    if (p.header_offset + p.header_length > file_size)
        throw io_error{fmt::format(
            "{}: header extends beyond the end of the file: {} bytes at offset {}, file of {} bytes", file,
            p.header_length, p.header_offset, file_size)};
    return p;
}

/// Parses the header text and checks it against the `data_size` bytes that follow it.
[[nodiscard]] inline npy_header parse_npy_header(std::string_view text, std::uint64_t data_size,
                                                 std::string_view file) {
    npy_header h = npy_header_parser{text, file}.parse();
    const auto expected = npy_byte_count(h.shape, size_of(h.type));
    if (!expected)
        throw io_error{fmt::format("{}: array too large: shape {}", file, npy_shape_repr(h.shape))};
    if (*expected != data_size)
        throw io_error{fmt::format("{}: {}: shape {} of {} needs {} bytes, the file has {}", file,
                                   data_size < *expected ? "data truncated" : "trailing bytes after the data",
                                   npy_shape_repr(h.shape), name(h.type), *expected, data_size)};
    return h;
}

}  // namespace blend::io::detail
