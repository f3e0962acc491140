#pragma once
/// @file blend/io/idx.hpp
/// Parsing IDX files (the MNIST / Fashion-MNIST container) held in memory: `parse_idx`.
///
/// Format (Y. LeCun, C. Cortes, C. Burges, "THE MNIST DATABASE of handwritten digits", section
/// "FILE FORMATS FOR THE MNIST DATABASE"; the same files ship in Debian's `dataset-fashion-mnist`):
///   bytes 0, 1   zero
///   byte  2      element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
///   byte  3      number of dimensions D
///   then         D extents, each a 32-bit big-endian integer
///   then         product(extents) elements, big-endian, in C order (last index fastest).
/// The files are distributed gzip-compressed; this parser takes the *decompressed* bytes, so blend
/// itself needs no zlib (the demo, examples/demo/, inflates them with zlib first).
///
/// Validation (every violation is a one-line `blend::io_error` "<file>: <rule>: <value>"):
/// fewer than 4 bytes; non-zero bytes 0-1; an unknown type code; D == 0 (the format is for arrays, and
/// a scalar IDX file is not something any known writer produces); extents missing; an extent of 2^31
/// or more (the format's integers are signed, and such an extent cannot be a count); an element count
/// or byte size that overflows 64 bits; data shorter or longer than product(extents) x element size
/// (the reference readers ignore trailing bytes; blend refuses them, as it does for `.npy`).
///
/// The result is converted to host (little-endian) byte order, so `view()` is an ordinary blend tensor.

#include <blend/core/concepts.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

static_assert(std::endian::native == std::endian::little, "blend's IDX reader assumes a little-endian host");

namespace blend::io {

/// An array read from an IDX file, owning its data: C order, host (little-endian) byte order.
struct idx_array {
    dtype type = dtype::u8;
    shape_type shape;
    std::vector<std::byte> data;

    /// A view of the array (valid while the `idx_array` lives and its data is not reallocated).
    [[nodiscard]] any_tensor_view view() const { return {type, shape, data}; }
};

namespace detail {

/// The dtype of an IDX type code, or nothing for an unknown code.
[[nodiscard]] constexpr std::optional<dtype> idx_dtype(std::uint8_t code) noexcept {
    switch (code) {
    case 0x08: return dtype::u8;
    case 0x09: return dtype::i8;
    case 0x0B: return dtype::i16;
    case 0x0C: return dtype::i32;
    case 0x0D: return dtype::f32;
    case 0x0E: return dtype::f64;
    default: return std::nullopt;
    }
}

/// The big-endian unsigned 32-bit integer at `p`.
[[nodiscard]] inline std::uint32_t idx_be32(const std::byte* p) noexcept {
    return (std::uint32_t{std::to_integer<std::uint8_t>(p[0])} << 24) |
           (std::uint32_t{std::to_integer<std::uint8_t>(p[1])} << 16) |
           (std::uint32_t{std::to_integer<std::uint8_t>(p[2])} << 8) | std::uint32_t{std::to_integer<std::uint8_t>(p[3])};
}

}  // namespace detail

/// Parses a whole, already decompressed IDX file held in memory (see the file comment for the format
/// and every rule checked), copying its data into host byte order. `name_for_errors` starts every
/// message (the file's path, say). Throws `blend::io_error`.
[[nodiscard]] inline idx_array parse_idx(std::span<const std::byte> bytes, std::string_view name_for_errors) {
    const auto fail = [&](std::string_view rule, const auto& value) {
        return io_error{fmt::format("{}: {}: {}", name_for_errors, rule, value)};
    };
    if (bytes.size() < 4) throw fail("IDX file too short for its 4-byte magic number, bytes", bytes.size());
    const auto byte_at = [&](std::size_t i) { return std::to_integer<std::uint8_t>(bytes[i]); };
    if (byte_at(0) != 0 || byte_at(1) != 0) {
        throw fail("IDX magic number must start with two zero bytes, got", fmt::format("0x{:02x}{:02x}", byte_at(0), byte_at(1)));
    }
    const auto type = detail::idx_dtype(byte_at(2));
    if (!type) throw fail("unknown IDX element type code", fmt::format("0x{:02x}", byte_at(2)));
    const std::size_t rank = byte_at(3);
    if (rank == 0) throw fail("IDX file has no dimensions, count", rank);
    const std::size_t header = 4 + 4 * rank;
    if (bytes.size() < header) {
        throw fail("IDX header truncated: extents need bytes", fmt::format("{}, file has {}", header, bytes.size()));
    }
    idx_array out{*type, shape_type(rank), {}};
    const std::size_t element = size_of(*type);
    std::size_t count = 1;
    bool overflow = false;
    for (std::size_t d = 0; d < rank; ++d) {
        const std::uint32_t extent = detail::idx_be32(bytes.data() + 4 + 4 * d);
        if (extent > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) {
            throw fail(fmt::format("IDX extent {} is negative as a signed 32-bit integer", d), extent);
        }
        out.shape[d] = extent;
        if (extent != 0 && count > std::numeric_limits<std::size_t>::max() / extent) overflow = true;
        count *= extent;
    }
    // An overflowing product is only an error when no extent is zero (then the array is empty).
    if (count != 0 && (overflow || count > std::numeric_limits<std::size_t>::max() / element)) {
        throw fail("IDX array size overflows 64 bits, shape", fmt::format("[{}]", fmt::join(out.shape, ", ")));
    }
    const std::size_t expected = count * element;
    const std::size_t available = bytes.size() - header;
    if (available < expected) {
        throw fail("IDX data truncated: expected bytes", fmt::format("{} for shape [{}], found {}", expected,
                                                                     fmt::join(out.shape, ", "), available));
    }
    if (available > expected) {
        throw fail("IDX file has trailing bytes after the data, count", available - expected);
    }
    out.data.resize(expected);
    const std::byte* src = bytes.data() + header;
    if (element == 1) {
        std::copy_n(src, expected, out.data.begin());
    } else {
        for (std::size_t i = 0; i < count; ++i) {  // big-endian → host order: reverse each element's bytes
            std::reverse_copy(src + i * element, src + (i + 1) * element, out.data.begin() + static_cast<std::ptrdiff_t>(i * element));
        }
    }
    return out;
}

}  // namespace blend::io
