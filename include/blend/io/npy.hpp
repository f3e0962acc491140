#pragma once
/// @file blend/io/npy.hpp
/// Reading and writing numpy `.npy` files: `read_npy`, `parse_npy`, `write_npy`.
///
/// Format (numpy's `numpy/lib/format.py` docstring, the current form of NEP 1):
///   bytes 0-5   magic `\x93NUMPY`
///   byte  6, 7  format version major, minor: 1.0, 2.0 or 3.0
///   then        header length HEADER_LEN, little-endian: u16 in 1.0, u32 in 2.0 and 3.0
///   then        HEADER_LEN bytes of header: a Python dict literal, latin-1 (1.0, 2.0) or UTF-8 (3.0),
///               `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`, padded with spaces and
///               ending in '\n' so that the data starts at a multiple of 64 (16 in numpy < 1.9)
///   then        the data, product(shape) x itemsize bytes (`shape == ()` is a scalar, one element),
///               in C order, or in Fortran order when `fortran_order` is True.
///
/// Header grammar accepted (exactly what numpy writes, in any key order, nothing else):
///   header  := ws '{' ws [ entry ws ( ',' ws entry ws )* [ ',' ws ] ] '}' ws
///   entry   := string ws ':' ws value            keys 'descr', 'fortran_order', 'shape', each once
///   string  := "'" chars "'" | '"' chars '"'     no backslash escapes, no newline
///   value   := string (descr) | 'True' | 'False' (fortran_order) | tuple (shape)
///   tuple   := '(' ws ')' | '(' ws int ws ',' ws ( int ws ',' ws )* [ int ws ] ')'    at most 64 ints
///   int     := ['-'] digits                      no leading zeros; negative values are rejected
///   ws      := ( ' ' | '\t' | '\n' | '\r' )*
/// Alignment of the data offset is not required (numpy does not require it either).
///
/// descr accepted: `<f2 <f4 <f8 <i2 <i4 <i8 <u2 <u4 <u8` and the one-byte `i1 u1 b1` with any of the
/// byte-order marks `| < > =` (numpy writes `|`). Rejected with a message naming the rule: big-endian
/// (`>f4`), multi-byte types without `<` (`=f4`, `|f4`), object (`|O`), strings (`<U5`, `|S5`),
/// void/structured (a list, `|V8`), sub-arrays (a tuple), complex, datetime and anything else.
/// `fortran_order: True` is supported: the data is transposed into C order on reading.
///
/// Differences from numpy's reader, all stricter: unknown and duplicate keys, bytes after the data,
/// more than 64 dimensions, extents of 2^63 and more and arrays of 2^63 bytes and more are errors
/// (numpy ignores trailing bytes and keeps the last of duplicate keys); Python 2 `3L` integers are not
/// accepted. Every error is a one-line `blend::io_error`: "<file>: <rule>: <value>".
///
/// Data is kept little-endian as in the file, which is the host order on every platform blend supports.

#include <blend/core/concepts.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/io/atomic_file.hpp>
#include <blend/io/detail/npy_header.hpp>
#include <blend/io/mapped_file.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static_assert(std::endian::native == std::endian::little, "blend's .npy I/O assumes a little-endian host");

namespace blend::io {

/// An array read from a `.npy` file, owning its data: C order, little-endian, bool bytes 0 or 1.
struct npy_array {
    dtype type = dtype::f32;
    shape_type shape;
    std::vector<std::byte> data;

    /// A view of the array (valid while the `npy_array` lives and its data is not reallocated).
    [[nodiscard]] any_tensor_view view() const { return {type, shape, data}; }
};

namespace detail {

/// Puts freshly read data into canonical form: C order (transposing Fortran order), bools 0 or 1.
inline void npy_canonicalize(npy_array& a, bool fortran_order) {
    const std::size_t n = shape_size(a.shape);
    const std::size_t rank = a.shape.size();
    if (fortran_order && n > 1 && rank > 1) {
        const std::size_t k = size_of(a.type);
        std::vector<std::size_t> stride(rank), index(rank, 0);  // Fortran strides, in elements
        for (std::size_t d = 0, s = 1; d < rank; s *= a.shape[d], ++d) stride[d] = s;
        std::vector<std::byte> out(a.data.size());
        std::size_t src = 0;
        for (std::size_t i = 0; i < n; ++i) {
            std::memcpy(out.data() + i * k, a.data.data() + src * k, k);
            for (std::size_t d = rank; d-- > 0;) {  // next C-order index: last axis fastest
                if (++index[d] < a.shape[d]) {
                    src += stride[d];
                    break;
                }
                src -= (a.shape[d] - 1) * stride[d];
                index[d] = 0;
            }
        }
        a.data = std::move(out);
    }
    if (a.type == dtype::boolean) {
        for (std::byte& b : a.data) b = b == std::byte{0} ? std::byte{0} : std::byte{1};
    }
}

}  // namespace detail

/// Parses a whole `.npy` file held in memory, copying its data. `name_for_errors` starts every
/// message. Throws `blend::io_error` on any violation of the format (see the file comment).
[[nodiscard]] inline npy_array parse_npy(std::span<const std::byte> bytes, std::string_view name_for_errors) {
    const auto p = detail::parse_npy_preamble(bytes.first(std::min<std::size_t>(bytes.size(), 12)),
                                              bytes.size(), name_for_errors);
    const std::string_view text{reinterpret_cast<const char*>(bytes.data()) + p.header_offset,
                                p.header_length};
    const auto data = bytes.subspan(p.header_offset + p.header_length);
    detail::npy_header h = detail::parse_npy_header(text, data.size(), name_for_errors);
    npy_array out{h.type, std::move(h.shape), std::vector<std::byte>(data.begin(), data.end())};
    detail::npy_canonicalize(out, h.fortran_order);
    return out;
}

/// A `.npy` file mapped into memory with its header parsed: `data` views the array's bytes in place
/// (not copied; C or Fortran order as `fortran_order` says; possibly unaligned for the dtype).
/// Movable; the view stays valid while the `mapped_npy` lives.
struct mapped_npy {
    mapped_file file;
    dtype type = dtype::f32;
    shape_type shape;
    bool fortran_order = false;
    std::span<const std::byte> data;
};

/// Maps `path` and validates its header like `read_npy` (same errors, naming the file), without
/// reading the data: large prediction files are then read straight from the page cache.
[[nodiscard]] inline mapped_npy map_npy(const std::filesystem::path& path) {
    mapped_npy out{mapped_file{path}, dtype::f32, {}, false, {}};
    const std::string file = path.string();
    const auto bytes = out.file.bytes();
    const auto p = detail::parse_npy_preamble(bytes.first(std::min<std::size_t>(bytes.size(), 12)), bytes.size(), file);
    const std::size_t offset = p.header_offset + p.header_length;
    const std::string_view text{reinterpret_cast<const char*>(bytes.data()) + p.header_offset, p.header_length};
    detail::npy_header h = detail::parse_npy_header(text, bytes.size() - offset, file);
    out.type = h.type;
    out.shape = std::move(h.shape);
    out.fortran_order = h.fortran_order;
    out.data = bytes.subspan(offset);
    return out;
}

/// The shape as numpy prints it: `(3,)`, `(2, 5)`, `()`.
[[nodiscard]] inline std::string shape_repr(const shape_type& shape) { return detail::npy_shape_repr(shape); }

/// Reads a `.npy` file (the header first, then the data straight into the array: the file is read
/// once and never held twice, except for the transposition of Fortran-order data). Throws
/// `blend::io_error` naming the file when it is missing, unreadable or malformed.
[[nodiscard]] inline npy_array read_npy(const std::filesystem::path& path) {
    const std::string file = path.string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw io_error{fmt::format("{}: cannot open: {}", file, std::strerror(errno))};
    struct closer {
        int fd;
        explicit closer(int f) noexcept : fd{f} {}
        closer(const closer&) = delete;
        closer& operator=(const closer&) = delete;
        closer(closer&&) = delete;
        closer& operator=(closer&&) = delete;
        ~closer() { ::close(fd); }
    } const guard{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw io_error{fmt::format("{}: cannot stat: {}", file, std::strerror(errno))};
    if (!S_ISREG(st.st_mode))
        throw io_error{fmt::format("{}: not a regular file: mode {:o}", file, st.st_mode)};
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const auto read_at = [&](std::uint64_t offset, std::span<std::byte> out) {
        while (!out.empty()) {
            const ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw io_error{fmt::format("{}: read failed: {}", file, std::strerror(errno))};
            if (n == 0)
                throw io_error{fmt::format("{}: file shrank while reading: at offset {}", file, offset)};
            out = out.subspan(static_cast<std::size_t>(n));
            offset += static_cast<std::uint64_t>(n);
        }
    };
    std::array<std::byte, 12> head{};
    const auto head_size = static_cast<std::size_t>(std::min<std::uint64_t>(size, head.size()));
    read_at(0, std::span(head).first(head_size));
    const auto p = detail::parse_npy_preamble(std::span(head).first(head_size), size, file);
    std::string text(p.header_length, '\0');
    read_at(p.header_offset, std::as_writable_bytes(std::span(text)));
    const std::uint64_t data_offset = p.header_offset + p.header_length;
    detail::npy_header h = detail::parse_npy_header(text, size - data_offset, file);
    npy_array out{h.type, std::move(h.shape), std::vector<std::byte>(size - data_offset)};
    read_at(data_offset, out.data);
    detail::npy_canonicalize(out, h.fortran_order);
    return out;
}

/// Writes `t` as a C-order `.npy` file, atomically (a `.blend-tmp-` file renamed into place), byte for
/// byte as numpy 1.24's `np.save` writes the same array: version 1.0, keys sorted, numpy's 21-digit
/// growth padding after the dict, then spaces and '\n' up to a 64-byte boundary. Throws
/// `blend::invalid_argument` for bf16 and f8 (numpy has no such dtype), more than 64 dimensions (what
/// numpy 2 allows; `read_npy` refuses more) or bytes that do not match the shape, and `blend::io_error`
/// when the file cannot be written.
inline void write_npy(const std::filesystem::path& path, const any_tensor_view& t) {
    const auto descr = detail::npy_descr_of(t.type);
    if (!descr)
        throw invalid_argument{
            fmt::format("{}: dtype has no .npy equivalent: {}", path.string(), name(t.type))};
    if (t.shape.size() > detail::npy_max_dims)
        throw invalid_argument{fmt::format("{}: too many dimensions for .npy: {} (at most {})", path.string(),
                                           t.shape.size(), detail::npy_max_dims)};
    const auto bytes = detail::npy_byte_count(t.shape, size_of(t.type));
    if (!bytes || *bytes != t.bytes.size())
        throw invalid_argument{
            fmt::format("{}: tensor bytes do not match its shape: shape {} of {} with {} bytes",
                        path.string(), detail::npy_shape_repr(t.shape), name(t.type), t.bytes.size())};
    std::string dict =
        fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                    std::string_view(descr->data(), descr->size()), detail::npy_shape_repr(t.shape));
    if (!t.shape.empty()) dict.append(21 - std::to_string(t.shape[0]).size(), ' ');
    // Always version 1.0: 64 extents of at most 20 digits make a header far below its 65535-byte limit
    // (numpy itself falls back to 2.0 only for structured dtypes with very many fields).
    const std::size_t length = dict.size() + 1 + (64 - (10 + dict.size() + 1) % 64);
    static_assert(100 + detail::npy_max_dims * 22 + 64 < 0xFFFF);
    std::string header{detail::npy_magic};
    header += '\x01';
    header += '\0';
    header += static_cast<char>(length & 0xFF);
    header += static_cast<char>(length >> 8);
    header += dict;
    header.append(length - dict.size() - 1, ' ');
    header += '\n';
    temp_file out{path};
    out.write_at(0, std::as_bytes(std::span(header)));
    out.write_at(header.size(), t.bytes);
    out.commit();
}

/// Writes any blend `tensor` (an xtensor container, a `tensor_view`, ...) as `.npy`; see above.
template <tensor T>
void write_npy(const std::filesystem::path& path, const T& t) {
    write_npy(path, any_tensor_view::of(t));
}

}  // namespace blend::io
