// Tests for blend/io/idx.hpp. Fixtures in tests/io/data/idx/ were written by
// tests/reference/make_idx_fixtures.py: each valid <name>.idx has a <name>.npy beside it holding the same
// array as numpy saved it (little-endian), which parse_idx must reproduce byte for byte.
#include <blend/io/idx.hpp>
#include <blend/io/npy.hpp>

#include "support/catch.hpp"
#include "support/files.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using blend::dtype;
using blend::shape_type;

fs::path data_dir() { return blend::test::fixture_dir(__FILE__, "idx"); }
using blend::test::file_bytes;


blend::io::idx_array parse_file(const std::string& name) {
    const fs::path path = data_dir() / name;
    return blend::io::parse_idx(file_bytes(path), path.string());
}

std::vector<std::byte> bytes(std::initializer_list<int> values) {
    std::vector<std::byte> out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

}  // namespace

TEST_CASE("parse_idx reproduces numpy's arrays for every IDX element type", "[io][idx]") {
    struct expected {
        const char* name;
        dtype type;
        shape_type shape;
    };
    const std::vector<expected> cases = {
        {"u8_2x3", dtype::u8, {2, 3}},          {"i8_4", dtype::i8, {4}},
        {"i16_2x2", dtype::i16, {2, 2}},        {"i32_3", dtype::i32, {3}},
        {"f32_2x1x2", dtype::f32, {2, 1, 2}},   {"f64_2", dtype::f64, {2}},
        {"u8_0x5", dtype::u8, {0, 5}},          {"u8_images_2x4x4", dtype::u8, {2, 4, 4}},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        const auto a = parse_file(std::string{c.name} + ".idx");
        const auto reference = blend::io::read_npy(data_dir() / (std::string{c.name} + ".npy"));
        CHECK(a.type == c.type);
        CHECK(a.shape == c.shape);
        CHECK(reference.type == c.type);
        CHECK(reference.shape == c.shape);
        CHECK(a.data == reference.data);
        CHECK(a.view().size() == blend::shape_size(c.shape));
    }
}

TEST_CASE("parse_idx converts big-endian values to host order (hand-computed)", "[io][idx]") {
    // i16, shape [2]: 0xFED4 = -300, 0x0100 = 256.
    const auto a = blend::io::parse_idx(bytes({0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFE, 0xD4, 0x01, 0x00}), "hand.idx");
    REQUIRE(a.type == dtype::i16);
    REQUIRE(a.shape == shape_type{2});
    std::int16_t v[2];
    std::memcpy(v, a.data.data(), sizeof v);
    CHECK(v[0] == -300);
    CHECK(v[1] == 256);
    // f32 1.0 is 0x3F800000.
    const auto f = blend::io::parse_idx(bytes({0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0x80, 0, 0}), "hand.idx");
    float x = 0;
    std::memcpy(&x, f.data.data(), sizeof x);
    CHECK(x == 1.0f);
}

TEST_CASE("parse_idx rejects malformed files with a message naming the file and the rule", "[io][idx]") {
    const std::vector<std::pair<const char*, const char*>> cases = {
        {"too_short", "too short for its 4-byte magic number, bytes: 3"},
        {"bad_magic", "must start with two zero bytes, got: 0x0100"},
        {"unknown_type", "unknown IDX element type code: 0x0a"},
        {"no_dimensions", "has no dimensions"},
        {"extents_truncated", "header truncated: extents need bytes: 16, file has 10"},
        {"negative_extent", "IDX extent 0 is negative as a signed 32-bit integer: 2147483648"},
        {"data_truncated", "data truncated: expected bytes: 8 for shape [2, 2], found 7"},
        {"trailing_bytes", "trailing bytes after the data, count: 1"},
        {"size_overflow", "size overflows 64 bits"},
    };
    for (const auto& [name, fragment] : cases) {
        INFO(name);
        const std::string file = std::string{"malformed/"} + name + ".idx";
        CHECK_THROWS_AS(parse_file(file), blend::io_error);
        try {
            (void)parse_file(file);
        } catch (const blend::io_error& e) {
            const std::string message = e.what();
            CHECK_THAT(message, Catch::Matchers::Contains(fragment));
            CHECK_THAT(message, Catch::Matchers::Contains(name));  // the file's path
            CHECK(message.find('\n') == std::string::npos);
        }
    }
}

TEST_CASE("parse_idx accepts an empty array whose other extents would overflow", "[io][idx]") {
    // u8 [0, 2^31-1, 2^31-1]: zero elements, so no overflow and no data.
    const auto a = blend::io::parse_idx(
        bytes({0, 0, 0x08, 3, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF}), "empty.idx");
    CHECK(a.shape == shape_type{0, 0x7FFFFFFF, 0x7FFFFFFF});
    CHECK(a.data.empty());
}

TEST_CASE("parse_idx rejects every proper prefix of a valid file", "[io][idx]") {
    const auto whole = file_bytes(data_dir() / "u8_images_2x4x4.idx");
    for (std::size_t n = 0; n < whole.size(); ++n) {
        INFO(n);
        CHECK_THROWS_AS(blend::io::parse_idx(std::span(whole).first(n), "prefix.idx"), blend::io_error);
    }
}
