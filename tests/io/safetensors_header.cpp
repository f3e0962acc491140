// Tests for blend/io/safetensors_header.hpp: parsing (valid layouts, every rule, the malformed corpus
// written by tests/reference/make_malformed_safetensors.py) and the canonical serialization.
#include <blend/io/safetensors_header.hpp>

#include "support/catch.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

using blend::dtype;
using blend::io::parse_safetensors_header;
using blend::io::serialize_safetensors_header;
using blend::io::tensor_entry;
using bytes = std::vector<std::byte>;

/// 8-byte little-endian length + `header` (padded with spaces to a multiple of 8 when `pad`) + `data`.
bytes make_file(std::string header, const bytes& data = {}, bool pad = true) {
    if (pad) header.append((8 - header.size() % 8) % 8, ' ');
    bytes out(8);
    std::uint64_t n = header.size();
    for (int i = 0; i < 8; ++i)
        out[static_cast<std::size_t>(i)] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
    for (char c : header) out.push_back(static_cast<std::byte>(c));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

bytes zeros(std::size_t n) { return bytes(n, std::byte{0}); }

std::string entry(std::string_view dtype_name, std::string_view shape, std::uint64_t begin,
                  std::uint64_t end) {
    return fmt::format(R"({{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})", dtype_name, shape, begin,
                       end);
}

blend::io::safetensors_header parse(const bytes& file) {
    return parse_safetensors_header(file, "t.safetensors");
}

std::string parse_error(const bytes& file) {
    try {
        (void)parse(file);
    } catch (const blend::io_error& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("safetensors header: every dtype parses with its size and offsets", "[io][safetensors]") {
    std::string header = "{";
    std::uint64_t offset = 0;
    for (dtype t : blend::all_dtypes) {
        const std::uint64_t size = 3 * blend::size_of(t);
        if (header.size() > 1) header += ',';
        header += fmt::format(R"("{}":{})", blend::safetensors_name(t),
                              entry(blend::safetensors_name(t), "3", offset, offset + size));
        offset += size;
    }
    header += '}';
    const auto h = parse(make_file(header, zeros(offset)));
    REQUIRE(h.tensors.size() == std::size(blend::all_dtypes));
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < h.tensors.size(); ++i) {
        const auto& t = h.tensors[i];
        CHECK(t.type == blend::all_dtypes[i]);
        CHECK(t.name == blend::safetensors_name(t.type));
        CHECK(t.shape == blend::shape_type{3});
        CHECK(t.begin == expected);
        CHECK(t.byte_size() == 3 * blend::size_of(t.type));
        expected = t.end;
    }
    CHECK(h.data_offset == 8 + (header.size() + 7) / 8 * 8);
    CHECK(h.metadata.empty());
}

TEST_CASE("safetensors header: tensors come back in data order, not key order", "[io][safetensors]") {
    const auto h = parse(make_file(R"({"a":)" + entry("F32", "1", 8, 12) + R"(,"b":)" +
                                       entry("U8", "8", 0, 8) + R"(,"c":)" + entry("I16", "2", 12, 16) + "}",
                                   zeros(16)));
    REQUIRE(h.tensors.size() == 3);
    CHECK(h.tensors[0].name == "b");
    CHECK(h.tensors[1].name == "a");
    CHECK(h.tensors[2].name == "c");
}

TEST_CASE("safetensors header: scalars, zero-size tensors and unaligned offsets", "[io][safetensors]") {
    // A U8 tensor of 3 bytes puts the F32 after it at data offset 3; zero-size tensors hold no bytes and
    // keep their document order among themselves.
    const auto h =
        parse(make_file(R"({"s":)" + entry("F64", "", 7, 15) + R"(,"z2":)" + entry("F32", "0,3", 3, 3) +
                            R"(,"z1":)" + entry("BF16", "4,0", 3, 3) + R"(,"b":)" + entry("U8", "3", 0, 3) +
                            R"(,"f":)" + entry("F32", "1", 3, 7) + "}",
                        zeros(15)));
    REQUIRE(h.tensors.size() == 5);
    CHECK(h.tensors[0].name == "b");
    CHECK(h.tensors[1].name == "z2");
    CHECK(h.tensors[2].name == "z1");
    CHECK(h.tensors[3].name == "f");
    CHECK(h.tensors[3].begin == 3);
    CHECK(h.tensors[4].name == "s");
    CHECK(h.tensors[4].shape.empty());
    CHECK(h.tensors[4].byte_size() == 8);
    CHECK(h.tensors[1].shape == blend::shape_type{0, 3});
}

TEST_CASE("safetensors header: zero-size tensors may have huge extents", "[io][safetensors]") {
    const auto h = parse(make_file(R"({"z":)" + entry("F64", "0,18446744073709551615", 0, 0) + "}"));
    REQUIRE(h.tensors.size() == 1);
    CHECK(h.tensors[0].shape == blend::shape_type{0, 18446744073709551615u});
}

TEST_CASE("safetensors header: metadata, escapes and whitespace", "[io][safetensors]") {
    const auto h =
        parse(make_file("{ \"__metadata__\" : {\"format\": \"pt\", \"note\": \"a\\nb\\u00e9\"},\n"
                        "  \"w\\\"x\" : " +
                            entry("U8", "2", 0, 2) + "\n}\t\r\n",
                        zeros(2)));
    CHECK(h.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"note", "a\nb\xC3\xA9"}});
    REQUIRE(h.tensors.size() == 1);
    CHECK(h.tensors[0].name == "w\"x");
}

TEST_CASE("safetensors header: an empty model is '{}' and no data", "[io][safetensors]") {
    const auto h = parse(make_file("{}"));
    CHECK(h.tensors.empty());
    CHECK(h.data_offset == 16);
    CHECK(parse_error(make_file("{}", zeros(1))) ==
          "t.safetensors: data section not fully covered by tensors: data bytes [0, 1) belong to no tensor");
}

TEST_CASE("safetensors header: violations name the file, the tensor, the rule and the values",
          "[io][safetensors]") {
    CHECK(parse_error(bytes(7)) ==
          "t.safetensors: file too small for a safetensors header: 7 bytes, need at least 8");
    CHECK(
        parse_error(make_file(R"({"a":)" + entry("F32", "2,3", 0, 20) + "}", zeros(20))) ==
        "t.safetensors: tensor 'a': shape and dtype do not match the byte size: shape [2, 3] of F32 needs 24 bytes, "
        "data_offsets [0, 20] hold 20");
    CHECK(parse_error(make_file(
              R"({"a":)" + entry("F32", "2", 0, 8) + R"(,"b":)" + entry("U8", "4", 4, 8) + "}", zeros(8))) ==
          "t.safetensors: tensor 'b': overlaps tensor 'a': data_offsets [4, 8] begin before 8");
    CHECK(
        parse_error(make_file(R"({"a\n":)" + entry("U8", "9", 0, 9) + "}", zeros(8))) ==
        "t.safetensors: tensor 'a\\x0a': data_offsets out of bounds: [0, 9] but the data section has 8 bytes");
    CHECK(parse_error(make_file(
              R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"data_offsets":[0,1]}})", zeros(1))) ==
          "t.safetensors: tensor 'a': duplicate key 'data_offsets'");
    CHECK(parse_error(make_file(R"({"__metadata__":{},"__metadata__":{}})")) ==
          "t.safetensors: duplicate key '__metadata__'");
    // Duplicates deeper down are caught by the shape rules, not confused with the entry's own keys.
    CHECK(parse_error(make_file(R"({"a":{"dtype":"U8","shape":[{"x":1,"x":1}],"data_offsets":[0,0]}})")) ==
          R"(t.safetensors: tensor 'a': shape is not an array of non-negative integers: [{"x":1}])");
    // The header length is read as little-endian: 0x0102 = 258 > 8 + 0 bytes of file.
    bytes le(8, std::byte{0});
    le[0] = std::byte{0x02};
    le[1] = std::byte{0x01};
    CHECK(
        parse_error(le) ==
        "t.safetensors: header extends beyond the end of the file: 8 + 258 bytes of header, the file has 8");
    bytes huge(16, std::byte{0xFF});
    CHECK(parse_error(huge) ==
          "t.safetensors: header length too large: 18446744073709551615 bytes, the limit is 100000000");
}

TEST_CASE("safetensors header: deep nesting and many tensors stay cheap", "[io][safetensors]") {
    // A million nested arrays: no recursion in parsing, message building or destruction.
    const std::size_t depth = 1'000'000;
    CHECK(parse_error(make_file(R"({"a":{"dtype":"U8","shape":)" + std::string(depth, '[') +
                                std::string(depth, ']') + R"(,"data_offsets":[0,0]}})")) ==
          "t.safetensors: tensor 'a': shape is not an array of non-negative integers: [[[[[...]]]]]");
    // 50'000 tensors: linear, not quadratic, in the number of entries.
    std::string header = "{";
    for (int i = 0; i < 50'000; ++i) {
        header += fmt::format(R"({}"layers.{}.weight":)", i == 0 ? "" : ",", i) +
                  entry("BF16", "2", 4u * i, 4u * i + 4);
    }
    const auto h = parse(make_file(header + "}", zeros(200'000)));
    CHECK(h.tensors.size() == 50'000);
    CHECK(h.tensors.back().name == "layers.49999.weight");
}

TEST_CASE("safetensors header: every file of the malformed corpus is rejected with its rule",
          "[io][safetensors]") {
    struct expectation {
        const char* file;
        const char* fragment;
    };
    // One row per file written by tests/reference/make_malformed_safetensors.py.
    const expectation table[] = {
        {"truncated", ": file too small for a safetensors header: 5 bytes"},
        {"header_too_large", ": header length too large: 100000001 bytes, the limit is 100000000"},
        {"header_beyond_file",
         ": header extends beyond the end of the file: 8 + 4096 bytes of header, the file has 16"},
        {"header_truncated", ": header extends beyond the end of the file"},
        {"empty_header", ": header is not a JSON object: it must begin with '{', not nothing"},
        {"header_not_json", ": header is not valid JSON: [json.exception.parse_error.101]"},
        {"invalid_utf8", ": header is not valid UTF-8: byte 0xff at header offset 3"},
        {"not_an_object", ": header is not a JSON object: it must begin with '{', not 0x5b"},
        {"leading_whitespace", ": header is not a JSON object: it must begin with '{', not 0x20"},
        {"nul_padding", ": header is not valid JSON: NUL byte at offset 54"},
        {"duplicate_names", ": tensor 'a': duplicate tensor name"},
        {"duplicate_key_in_entry", ": tensor 'a': duplicate key 'dtype'"},
        {"duplicate_metadata_key", ": __metadata__: duplicate key 'k'"},
        {"empty_name", ": tensor '': empty tensor name"},
        {"metadata_not_string", ": __metadata__: value of key 'format' is not a string: 1"},
        {"metadata_not_object", ": __metadata__ is not a JSON object: [\"pt\"]"},
        {"metadata_null", ": __metadata__ is not a JSON object: null"},
        {"entry_not_object", ": tensor 'a': entry is not a JSON object: [0,8]"},
        {"missing_data_offsets", ": tensor 'a': missing key: 'data_offsets'"},
        {"unexpected_key", ": tensor 'a': unexpected key: 'offsets'"},
        {"unknown_dtype", ": tensor 'a': unknown dtype: \"F17\""},
        {"dtype_not_string", ": tensor 'a': dtype is not a string: 32"},
        {"shape_not_array", ": tensor 'a': shape is not an array: 2"},
        {"negative_shape", ": tensor 'a': shape is not an array of non-negative integers: [-2]"},
        {"float_shape", ": tensor 'a': shape is not an array of non-negative integers: [2.0]"},
        {"offsets_wrong_arity",
         ": tensor 'a': data_offsets is not an array of two non-negative integers: [0,8,8]"},
        {"negative_offset",
         ": tensor 'a': data_offsets is not an array of two non-negative integers: [-8,0]"},
        {"begin_after_end", ": tensor 'a': data_offsets begin > end: [8, 0]"},
        {"shape_overflow",
         ": tensor 'a': shape × dtype size overflows 64 bits: shape [4294967296, 4294967296, 2] of U8"},
        {"byte_size_overflow",
         ": tensor 'a': shape × dtype size overflows 64 bits: shape [4611686018427387904] of F64"},
        {"shape_size_mismatch",
         ": tensor 'a': shape and dtype do not match the byte size: shape [3] of F32 needs 12 bytes, data_offsets [0, 8] hold 8"},
        {"offsets_out_of_bounds",
         ": tensor 'a': data_offsets out of bounds: [0, 16] but the data section has 8 bytes"},
        {"overlapping_offsets", ": tensor 'b': overlaps tensor 'a': data_offsets [4, 8] begin before 8"},
        {"gap_between_tensors", ": tensor 'b': gap before the tensor: data bytes [4, 6) belong to no tensor"},
        {"gap_at_start", ": tensor 'a': gap before the tensor: data bytes [0, 4) belong to no tensor"},
        {"trailing_bytes",
         ": data section not fully covered by tensors: data bytes [4, 8) belong to no tensor"},
        {"data_without_tensors",
         ": data section not fully covered by tensors: data bytes [0, 8) belong to no tensor"},
    };
    const auto dir = std::filesystem::path{__FILE__}.parent_path() / "data" / "safetensors" / "malformed";
    std::size_t files = 0;
    for (const auto& item : std::filesystem::directory_iterator(dir))
        files += item.path().extension() == ".safetensors";
    CHECK(files == std::size(table));  // every corpus file has a row
    for (const auto& [name, fragment] : table) {
        const auto path = dir / (std::string{name} + ".safetensors");
        std::ifstream in(path, std::ios::binary);
        REQUIRE(in);
        const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        bytes file(content.size());
        std::memcpy(file.data(), content.data(), content.size());
        INFO(name);
        const std::string label = std::string{name} + ".safetensors";
        try {
            (void)parse_safetensors_header(file, label);
            FAIL("accepted");
        } catch (const blend::io_error& e) {
            const std::string what = e.what();
            CHECK(what.rfind(label, 0) == 0);
            INFO(what);
            CHECK(what.find(fragment) != std::string::npos);
            CHECK(what.find('\n') == std::string::npos);
        }
    }
}

TEST_CASE("safetensors header: serialization matches the Rust reference's bytes", "[io][safetensors]") {
    // safetensors/src/tensor.rs tests `test_serialization` and `test_empty` (header bytes after the length).
    const tensor_entry attn{"attn.0", dtype::f32, {1, 2, 3}, 0, 24};
    const std::string one = serialize_safetensors_header({&attn, 1}, {});
    CHECK(one == R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})");
    CHECK(one.size() == 64);
    CHECK(serialize_safetensors_header({}, {}) == "{}      ");
    CHECK(serialize_safetensors_header({}, {{"framework", "pt"}}) ==
          R"({"__metadata__":{"framework":"pt"}}     )");
}

TEST_CASE("safetensors header: serialization keeps the given order, escapes names, pads to 8",
          "[io][safetensors]") {
    const std::vector<tensor_entry> tensors{
        {"z.weight", dtype::bf16, {2, 2}, 0, 8},
        {"a\"b\\c\nd\x01\xC3\xA9", dtype::u8, {3}, 8, 11},
        {"empty", dtype::f32, {0}, 11, 11},
        {"scalar", dtype::f64, {}, 11, 19},
    };
    const std::map<std::string, std::string> metadata{{"format", "pt"}, {"a", "x\ty"}};
    const std::string header = serialize_safetensors_header(tensors, metadata);
    CHECK((8 + header.size()) % 8 == 0);
    CHECK(
        header.rfind(R"({"__metadata__":{"a":"x\ty","format":"pt"},"z.weight":{"dtype":"BF16","shape":[2,2],)"
                     R"("data_offsets":[0,8]},"a\"b\\c\nd\u0001)",
                     0) == 0);
    const auto h = parse(make_file(header, zeros(19), false));
    CHECK(h.metadata == metadata);
    REQUIRE(h.tensors.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        CHECK(h.tensors[i].name == tensors[i].name);
        CHECK(h.tensors[i].type == tensors[i].type);
        CHECK(h.tensors[i].shape == tensors[i].shape);
        CHECK(h.tensors[i].begin == tensors[i].begin);
        CHECK(h.tensors[i].end == tensors[i].end);
    }
}

TEST_CASE("safetensors header: serialization rejects what would not parse back", "[io][safetensors]") {
    using blend::invalid_argument;
    const tensor_entry a{"a", dtype::f32, {2}, 0, 8};
    const std::vector<tensor_entry> duplicate{a, {"a", dtype::u8, {1}, 8, 9}};
    CHECK_THROWS_AS(serialize_safetensors_header(duplicate, {}), invalid_argument);
    const std::vector<tensor_entry> gap{a, {"b", dtype::u8, {1}, 9, 10}};
    CHECK_THROWS_WITH(
        serialize_safetensors_header(gap, {}),
        "serialize_safetensors_header: tensor 'b': data_offsets [9, 10] do not start where the previous "
        "tensor ends (8)");
    const std::vector<tensor_entry> mismatch{{"a", dtype::f32, {3}, 0, 8}};
    CHECK_THROWS_AS(serialize_safetensors_header(mismatch, {}), invalid_argument);
    const std::vector<tensor_entry> reserved{{"__metadata__", dtype::u8, {0}, 0, 0}};
    CHECK_THROWS_AS(serialize_safetensors_header(reserved, {}), invalid_argument);
    const std::vector<tensor_entry> not_utf8{{"a\xFF", dtype::u8, {0}, 0, 0}};
    CHECK_THROWS_AS(serialize_safetensors_header(not_utf8, {}), invalid_argument);
    CHECK_THROWS_AS(serialize_safetensors_header({}, {{"k", "\xC0\x80"}}), invalid_argument);
}

TEST_CASE("safetensors header: UTF-8 validation follows RFC 3629", "[io][safetensors]") {
    const auto check = [](std::string_view text) {
        return blend::io::detail::invalid_utf8_at(
            std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size()));
    };
    CHECK(check("abc\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == 12);  // é € 😀: all valid
    CHECK(check("a\xC0\xAF") == 1);                                 // overlong '/'
    CHECK(check("ab\xED\xA0\x80") == 2);                            // surrogate U+D800
    CHECK(check("\xF4\x90\x80\x80") == 0);                          // U+110000
    CHECK(check("\xE0\x9F\xBF") == 0);                              // overlong U+07FF
    CHECK(check("\xE2\x82") == 0);                                  // truncated
    CHECK(check("\x80") == 0);                                      // stray continuation
}
