// Tests for blend/io/npy.hpp. Fixtures in tests/io/data/npy/ were written by numpy 1.24 with
// tests/reference/make_npy_fixtures.py, which also spells out the values checked here.
#include <blend/io/npy.hpp>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/scratch_dir.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using blend::test::directory_entries;
using blend::test::scratch_dir;

namespace fs = std::filesystem;
using blend::dtype;
using blend::shape_type;

fs::path data_dir() { return blend::test::fixture_dir(__FILE__, "npy"); }
using blend::test::file_bytes;


template <class T>
std::vector<std::byte> bytes_of(const std::vector<T>& values) {
    std::vector<std::byte> out(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
    return out;
}

template <class T>
std::vector<std::byte> arange_bytes(std::size_t n) {
    std::vector<T> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<T>(i);
    return bytes_of(v);
}


bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }
bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const blend::io_error& e) {
        return e.what();
    }
    return "(no io_error)";
}

constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

struct dtype_fixture {
    const char* file;
    dtype type;
    std::vector<std::byte> expected;
};

std::vector<dtype_fixture> dtype_fixtures() {
    return {
        {"dtype_bool", dtype::boolean, bytes_of<std::uint8_t>({1, 0, 1, 1, 0, 0})},
        {"dtype_uint8", dtype::u8, bytes_of<std::uint8_t>({0, 1, 2, 127, 128, 255})},
        {"dtype_int8", dtype::i8, bytes_of<std::int8_t>({0, 1, -1, 127, -128, 42})},
        {"dtype_uint16", dtype::u16, bytes_of<std::uint16_t>({0, 1, 2, 32767, 32768, 65535})},
        {"dtype_int16", dtype::i16, bytes_of<std::int16_t>({0, 1, -1, 32767, -32768, 42})},
        {"dtype_uint32", dtype::u32,
         bytes_of<std::uint32_t>({0, 1, 2, 2147483647u, 2147483648u, 4294967295u})},
        {"dtype_int32", dtype::i32, bytes_of<std::int32_t>({0, 1, -1, 2147483647, -2147483647 - 1, 42})},
        {"dtype_uint64", dtype::u64,
         bytes_of<std::uint64_t>({0, 1, 2, u64_max / 2, u64_max / 2 + 1, u64_max})},
        {"dtype_int64", dtype::i64, bytes_of<std::int64_t>({0, 1, -1, i64_max, i64_min, 42})},
        // 0, 1, -1.5, 65504 (largest), 2^-24 (smallest subnormal), -inf as float16 bit patterns.
        {"dtype_float16", dtype::f16,
         bytes_of<std::uint16_t>({0x0000, 0x3C00, 0xBE00, 0x7BFF, 0x0001, 0xFC00})},
        {"dtype_float32", dtype::f32,
         bytes_of<float>({0.0f, 1.0f, -1.5f, std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::infinity()})},
        {"dtype_float64", dtype::f64,
         bytes_of<double>({0.0, 1.0, -1.5, 0.1, std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::denorm_min()})},
    };
}

}  // namespace

TEST_CASE("read_npy reads every dtype numpy writes", "[io][npy]") {
    for (const auto& f : dtype_fixtures()) {
        INFO(f.file);
        const auto a = blend::io::read_npy(data_dir() / (std::string(f.file) + ".npy"));
        CHECK(a.type == f.type);
        CHECK(a.shape == shape_type{2, 3});
        CHECK(a.data == f.expected);
        const auto v = a.view();
        CHECK(v.type == f.type);
        CHECK(v.shape == shape_type{2, 3});
        CHECK(v.bytes.data() == a.data.data());
        CHECK(v.bytes.size() == a.data.size());
    }
}

TEST_CASE("read_npy reads header versions 1.0, 2.0 and 3.0", "[io][npy]") {
    const auto v1 = blend::io::read_npy(data_dir() / "version1_float32.npy");
    CHECK(v1.type == dtype::f32);
    CHECK(v1.shape == shape_type{3, 4});
    CHECK(v1.data == arange_bytes<float>(12));
    const auto v2 = blend::io::read_npy(data_dir() / "version2_float64.npy");
    CHECK(v2.type == dtype::f64);
    CHECK(v2.shape == shape_type{3, 4});
    CHECK(v2.data == arange_bytes<double>(12));
    const auto v3 = blend::io::read_npy(data_dir() / "version3_int32.npy");
    CHECK(v3.type == dtype::i32);
    CHECK(v3.shape == shape_type{3, 4});
    CHECK(v3.data == arange_bytes<std::int32_t>(12));
}

TEST_CASE("read_npy reads scalars, vectors and zero-size arrays", "[io][npy]") {
    const auto scalar = blend::io::read_npy(data_dir() / "scalar_float64.npy");
    CHECK(scalar.type == dtype::f64);
    CHECK(scalar.shape.empty());
    CHECK(scalar.data == bytes_of<double>({3.25}));
    const auto vector = blend::io::read_npy(data_dir() / "vector_int64.npy");
    CHECK(vector.shape == shape_type{5});
    CHECK(vector.data == arange_bytes<std::int64_t>(5));
    const auto empty = blend::io::read_npy(data_dir() / "empty_float32_0x3.npy");
    CHECK(empty.type == dtype::f32);
    CHECK(empty.shape == shape_type{0, 3});
    CHECK(empty.data.empty());
    CHECK(empty.view().size() == 0);
}

TEST_CASE("read_npy transposes Fortran-order data into C order", "[io][npy]") {
    const auto a = blend::io::read_npy(data_dir() / "fortran_int32_2x3x4.npy");
    CHECK(a.shape == shape_type{2, 3, 4});
    CHECK(a.data == arange_bytes<std::int32_t>(24));
    const auto b = blend::io::read_npy(data_dir() / "fortran_float64_3x2.npy");
    CHECK(b.shape == shape_type{3, 2});
    CHECK(b.data == arange_bytes<double>(6));
}

TEST_CASE("read_npy accepts every header spelling numpy accepts within the grammar", "[io][npy]") {
    for (const char* name : {"handmade_reordered", "handmade_double_quotes", "handmade_whitespace",
                             "handmade_align16", "handmade_no_newline"}) {
        INFO(name);
        const auto a = blend::io::read_npy(data_dir() / (std::string(name) + ".npy"));
        CHECK(a.type == dtype::f32);
        CHECK(a.shape == shape_type{2, 3});
        CHECK(a.data == arange_bytes<float>(6));
    }
    const auto i8 = blend::io::read_npy(data_dir() / "handmade_int8_lt.npy");
    CHECK(i8.type == dtype::i8);
    CHECK(i8.data == arange_bytes<std::int8_t>(6));
    // numpy reads any nonzero byte as True; blend normalizes the stored bytes to 0/1.
    const auto b = blend::io::read_npy(data_dir() / "handmade_bool_nonzero.npy");
    CHECK(b.data == bytes_of<std::uint8_t>({0, 1, 1}));
}

TEST_CASE("parse_npy of a file's bytes equals read_npy of the file", "[io][npy]") {
    for (const char* name : {"version3_int32", "fortran_int32_2x3x4", "scalar_float64", "dtype_float16"}) {
        INFO(name);
        const fs::path path = data_dir() / (std::string(name) + ".npy");
        const auto bytes = file_bytes(path);
        const auto a = blend::io::parse_npy(bytes, "memory");
        const auto b = blend::io::read_npy(path);
        CHECK(a.type == b.type);
        CHECK(a.shape == b.shape);
        CHECK(a.data == b.data);
    }
}

TEST_CASE("map_npy views the data of read_npy in place and rejects what read_npy rejects", "[io][npy]") {
    for (const char* name : {"version3_int32", "scalar_float64", "dtype_float16"}) {
        INFO(name);
        const fs::path path = data_dir() / (std::string(name) + ".npy");
        const auto mapped = blend::io::map_npy(path);
        const auto b = blend::io::read_npy(path);
        CHECK(mapped.type == b.type);
        CHECK(mapped.shape == b.shape);
        CHECK_FALSE(mapped.fortran_order);
        REQUIRE(mapped.data.size() == b.data.size());
        CHECK(std::equal(mapped.data.begin(), mapped.data.end(), b.data.begin()));
        CHECK(mapped.data.data() > mapped.file.bytes().data());  // a view into the mapping, past the header
    }
    CHECK(blend::io::map_npy(data_dir() / "fortran_int32_2x3x4.npy").fortran_order);
    CHECK(blend::io::shape_repr({3}) == "(3,)");
    const scratch_dir dir{"map-malformed"};
    { std::ofstream empty(dir.path / "empty.npy"); }
    CHECK(message_of([&] { (void)blend::io::map_npy(dir.path / "empty.npy"); }) ==
          (dir.path / "empty.npy").string() + ": truncated .npy preamble: file of 0 bytes");
}

TEST_CASE("read_npy rejects each malformed file with a one-line message naming file and rule", "[io][npy]") {
    struct malformed_case {
        const char* file;
        const char* fragment;
    };
    const malformed_case cases[] = {
        {"bad_magic", "not a .npy file (bad magic): '\\x93NUMPX'"},
        {"bad_version", "unsupported .npy version: 4.0"},
        {"bad_minor_version", "unsupported .npy version: 1.1"},
        {"truncated_preamble", "truncated .npy preamble: file of 9 bytes"},
        {"truncated_header",
         "header extends beyond the end of the file: 118 bytes at offset 10, file of 40 bytes"},
        {"header_beyond_file", "header extends beyond the end of the file: 65535 bytes at offset 10"},
        {"empty_header", "malformed .npy header: expected '{' at the end"},
        {"not_a_dict", "malformed .npy header: expected '{' at byte 0: '['descr', 'shape']'"},
        {"missing_key", "missing header key: 'shape'"},
        {"unknown_key", "unknown header key: 'extra'"},
        {"duplicate_key", "duplicate header key: 'descr'"},
        {"missing_colon",
         "malformed .npy header: expected ':' after a key at byte 9: ''<f4', 'fortran_order'"},
        {"unterminated_string", "malformed .npy header: unterminated string at byte 10: ''<f4\\n, 'fortran"},
        {"unclosed_dict", "malformed .npy header: expected a quoted key or '}' at the end"},
        {"trailing_garbage",
         "malformed .npy header: trailing characters after the header dictionary at byte 60: 'x'"},
        {"bad_bool", "malformed .npy header: fortran_order must be True or False at byte 34: 'false, "},
        {"bool_as_int", "fortran_order must be True or False at byte 34: '0, "},
        {"shape_not_tuple", "malformed .npy header: shape must be a tuple at byte 50: '[2, 3], }'"},
        {"shape_int_in_parens", "a shape of one entry needs a trailing comma, as in (3,) at byte 52: '), }'"},
        {"shape_float", "expected ',' or ')' in the shape at byte 52: '.0, 3), }'"},
        {"negative_shape", "negative shape entry: -2"},
        {"shape_overflow", "array too large: shape (4294967296, 4294967296)"},
        {"shape_entry_huge", "shape entry too large: 99999999999999999999999"},
        {"data_truncated", "data truncated: shape (2, 3) of float32 needs 24 bytes, the file has 20"},
        {"data_trailing",
         "trailing bytes after the data: shape (2, 3) of float32 needs 24 bytes, the file has 28"},
        {"bad_descr", "unsupported descr: '<x4'"},
        {"descr_not_string", "malformed .npy header: descr must be a quoted string at byte 10: '4,"},
        {"big_endian", "big-endian not supported: descr '>f4'"},
        {"native_order", "descr without little-endian byte order: '=f4'"},
        {"complex", "complex dtypes not supported: descr '<c8'"},
        {"object", "object arrays not supported: descr '|O'"},
        {"unicode_string", "string dtypes not supported: descr '<U1'"},
        {"structured", "structured dtypes not supported: descr is a list"},
        {"escape_in_string", "escape sequences not supported at byte 13: '\\\\x34'"},
    };
    const fs::path dir = data_dir() / "malformed";
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) files += e.path().extension() == ".npy";
    CHECK(files == std::size(cases));  // every file in the corpus has a row here
    for (const auto& c : cases) {
        const fs::path path = dir / (std::string(c.file) + ".npy");
        INFO(path.string());
        REQUIRE(fs::exists(path));
        const std::string from_file = message_of([&] { (void)blend::io::read_npy(path); });
        INFO(from_file);
        CHECK(starts_with(from_file, path.string() + ": "));
        CHECK(contains(from_file, c.fragment));
        CHECK(from_file.find('\n') == std::string::npos);
        const auto bytes = file_bytes(path);
        const std::string from_memory = message_of([&] { (void)blend::io::parse_npy(bytes, "buffer.npy"); });
        CHECK(from_memory == "buffer.npy: " + from_file.substr(path.string().size() + 2));
    }
}

TEST_CASE("read_npy names the file when it is missing or not a file", "[io][npy]") {
    const scratch_dir dir{"missing"};
    const fs::path missing = dir.path / "nope.npy";
    CHECK(message_of([&] { (void)blend::io::read_npy(missing); }) ==
          missing.string() + ": cannot open: No such file or directory");
    CHECK(starts_with(message_of([&] { (void)blend::io::read_npy(dir.path); }),
                      dir.path.string() + ": not a regular file"));
    { std::ofstream empty(dir.path / "empty.npy"); }
    CHECK(message_of([&] { (void)blend::io::read_npy(dir.path / "empty.npy"); }) ==
          (dir.path / "empty.npy").string() + ": truncated .npy preamble: file of 0 bytes");
}

TEST_CASE("write_npy writes exactly the bytes numpy's np.save writes", "[io][npy]") {
    const scratch_dir dir{"numpy-bytes"};
    std::vector<std::string> names;
    for (const auto& f : dtype_fixtures()) names.push_back(f.file);
    for (const char* n : {"version1_float32", "scalar_float64", "vector_int64", "empty_float32_0x3"})
        names.push_back(n);
    for (const auto& name : names) {
        INFO(name);
        const fs::path original = data_dir() / (name + ".npy");
        const fs::path copy = dir.path / (name + ".npy");
        blend::io::write_npy(copy, blend::io::read_npy(original).view());
        CHECK(file_bytes(copy) == file_bytes(original));
    }
    CHECK(directory_entries(dir.path).size() == names.size());  // no temporary file left behind
}

TEST_CASE("write_npy then read_npy round-trips every numpy dtype and shape", "[io][npy]") {
    const scratch_dir dir{"round-trip"};
    std::mt19937_64 rng{42};
    const shape_type shapes[] = {{}, {0}, {7}, {3, 0, 2}, {2, 3, 4}, {1, 1, 1, 1, 5}};
    for (const dtype t : blend::all_dtypes) {
        if (t == dtype::bf16 || t == dtype::f8_e4m3 || t == dtype::f8_e5m2) continue;
        for (const auto& shape : shapes) {
            INFO(blend::name(t) << " rank " << shape.size());
            std::vector<std::byte> data(blend::shape_size(shape) * blend::size_of(t));
            for (auto& b : data) b = static_cast<std::byte>(t == dtype::boolean ? rng() & 1 : rng() & 0xFF);
            const fs::path path = dir.path / "a.npy";
            blend::io::write_npy(path, blend::any_tensor_view{t, shape, data});
            const auto back = blend::io::read_npy(path);
            CHECK(back.type == t);
            CHECK(back.shape == shape);
            CHECK(back.data == data);
        }
    }
    CHECK(directory_entries(dir.path) == std::vector<std::string>{"a.npy"});
}

TEST_CASE("write_npy takes any blend tensor", "[io][npy]") {
    const scratch_dir dir{"tensor"};
    const xt::xtensor<double, 2> a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
    blend::io::write_npy(dir.path / "a.npy", a);
    const auto back = blend::io::read_npy(dir.path / "a.npy");
    CHECK(back.type == dtype::f64);
    CHECK(back.shape == shape_type{2, 3});
    CHECK(back.data == bytes_of<double>({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}));

    std::vector<std::int16_t> storage{-1, 2, -3};
    const blend::tensor_view<const std::int16_t> view(std::span<const std::int16_t>(storage), {3});
    blend::io::write_npy(dir.path / "b.npy", view);
    CHECK(blend::io::read_npy(dir.path / "b.npy").data == bytes_of(storage));
}

TEST_CASE("write_npy replaces an existing file and leaves nothing behind on error", "[io][npy]") {
    const scratch_dir dir{"errors"};
    const fs::path path = dir.path / "p.npy";
    blend::io::write_npy(path, xt::xtensor<float, 1>{1.0f, 2.0f});
    blend::io::write_npy(path, xt::xtensor<float, 1>{3.0f});
    CHECK(blend::io::read_npy(path).data == bytes_of<float>({3.0f}));

    const std::vector<std::byte> two(2);
    CHECK_THROWS_AS(
        blend::io::write_npy(dir.path / "bf16.npy", blend::any_tensor_view{dtype::bf16, {1}, two}),
        blend::invalid_argument);
    CHECK_THROWS_WITH(
        blend::io::write_npy(dir.path / "bad.npy", blend::any_tensor_view{dtype::f32, {2}, two}),
        (dir.path / "bad.npy").string() +
            ": tensor bytes do not match its shape: shape (2,) of float32 with 2 bytes");
    CHECK_THROWS_AS(
        blend::io::write_npy(dir.path / "deep.npy",
                             blend::any_tensor_view{dtype::u8, shape_type(65, 1), std::span(two).first(1)}),
        blend::invalid_argument);
    CHECK_THROWS_AS(blend::io::write_npy(dir.path / "no-such-dir" / "x.npy", xt::xtensor<float, 1>{1.0f}),
                    blend::io_error);
    CHECK(directory_entries(dir.path) == std::vector<std::string>{"p.npy"});
}

TEST_CASE("parse_npy accepts 64 dimensions and rejects 65", "[io][npy]") {
    const auto file = [](std::size_t rank) {
        std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (";
        for (std::size_t i = 0; i < rank; ++i) dict += "1, ";
        dict += "), }\n";
        std::string text = std::string("\x93NUMPY\x01", 7) + '\0' + static_cast<char>(dict.size() & 0xFF) +
                           static_cast<char>(dict.size() >> 8) + dict + 'x';
        std::vector<std::byte> out(text.size());
        std::memcpy(out.data(), text.data(), text.size());
        return out;
    };
    CHECK(blend::io::parse_npy(file(64), "deep.npy").shape == shape_type(64, 1));
    CHECK(message_of([&] { (void)blend::io::parse_npy(file(65), "deep.npy"); }) ==
          "deep.npy: too many dimensions: more than 64");
}
