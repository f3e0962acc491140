// Tests for blend/io/safetensors_reader.hpp:
// hand-built files in a temporary directory, every dtype, scalars, zero-size and unaligned tensors,
// and model references (single file, directories, sharded with an index).
#include <blend/core/convert.hpp>
#include <blend/io/safetensors_reader.hpp>

#include "support/catch.hpp"
#include "support/scratch_dir.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

namespace fs = std::filesystem;
using blend::dtype;
using blend::io::model_reader;
using blend::io::safetensors_file;
using blend::io::tensor_entry;
using bytes = std::vector<std::byte>;
using temp_dir = blend::test::scratch_dir;


bytes from_hex(std::initializer_list<int> values) {
    bytes out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

void write(const fs::path& path, const bytes& content) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
    REQUIRE(out);
}

/// A safetensors file: `header` (space-padded to 8) after its little-endian length, then `data`.
bytes make_file(std::string header, const bytes& data) {
    header.append((8 - header.size() % 8) % 8, ' ');
    bytes out(8);
    for (int i = 0; i < 8; ++i)
        out[static_cast<std::size_t>(i)] = static_cast<std::byte>((header.size() >> (8 * i)) & 0xFF);
    for (char c : header) out.push_back(static_cast<std::byte>(c));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

/// A canonical file (via serialize_safetensors_header) of U8 tensors `names`, tensor i holding i + 1 bytes
/// of value `fill`.
bytes make_u8_file(const std::vector<std::string>& names, int fill = 7) {
    std::vector<tensor_entry> entries;
    std::uint64_t offset = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        entries.push_back({names[i], dtype::u8, {i + 1}, offset, offset + i + 1});
        offset += i + 1;
    }
    return make_file(blend::io::serialize_safetensors_header(entries, {{"format", "pt"}}),
                     bytes(offset, static_cast<std::byte>(fill)));
}

/// The tensor's values as doubles, read through convert_bytes (alignment-agnostic).
std::vector<double> values(const blend::any_tensor_view& v) {
    std::vector<double> out(v.size());
    blend::convert_bytes(v.type, v.bytes.data(), dtype::f64, reinterpret_cast<std::byte*>(out.data()),
                         out.size());
    return out;
}

std::string error_of(auto&& f) {
    try {
        f();
    } catch (const blend::io_error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("safetensors_file reads every dtype, a scalar, a zero-size and an unaligned tensor",
          "[io][safetensors]") {
    struct sample {
        dtype type;
        bytes data;  // two elements, little-endian
        std::vector<double> expected;
    };
    const std::vector<sample> samples{
        {dtype::boolean, from_hex({0x00, 0x01}), {0, 1}},
        {dtype::u8, from_hex({0x01, 0xFF}), {1, 255}},
        {dtype::i8, from_hex({0xFF, 0x03}), {-1, 3}},
        {dtype::i16, from_hex({0xFF, 0xFF, 0x03, 0x01}), {-1, 259}},
        {dtype::u16, from_hex({0x01, 0x00, 0xFF, 0xFF}), {1, 65535}},
        {dtype::f16, from_hex({0x00, 0x3C, 0x00, 0xC0}), {1.0, -2.0}},
        {dtype::bf16, from_hex({0x80, 0x3F, 0x00, 0xC0}), {1.0, -2.0}},
        {dtype::i32, from_hex({0xFF, 0xFF, 0xFF, 0xFF, 0x03, 0x00, 0x00, 0x00}), {-1, 3}},
        {dtype::u32, from_hex({0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80}), {1, 2147483648.0}},
        {dtype::f32, from_hex({0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0}), {1.5, -2.0}},
        {dtype::f64, from_hex({0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0, 0, 0, 0, 0, 0, 0x00, 0xC0}), {1.5, -2.0}},
        {dtype::i64,
         from_hex({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 3, 0, 0, 0, 0, 0, 0, 0}),
         {-1, 3}},
        {dtype::u64,
         from_hex({1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40}),
         {1, 4611686018427387904.0}},
        {dtype::f8_e4m3, from_hex({0x38, 0xC0}), {1.0, -2.0}},
        {dtype::f8_e5m2, from_hex({0x3C, 0xC0}), {1.0, -2.0}},
    };
    // A 3-byte U8 tensor first puts every other tensor at an odd offset; a zero-size tensor and a scalar.
    std::string header =
        R"({"__metadata__":{"format":"pt"},"odd":{"dtype":"U8","shape":[3],"data_offsets":[0,3]})";
    bytes data = from_hex({9, 8, 7});
    for (const auto& s : samples) {
        header += fmt::format(R"(,"t.{}":{{"dtype":"{}","shape":[2],"data_offsets":[{},{}]}})",
                              blend::safetensors_name(s.type), blend::safetensors_name(s.type), data.size(),
                              data.size() + s.data.size());
        data.insert(data.end(), s.data.begin(), s.data.end());
    }
    header +=
        fmt::format(R"(,"empty":{{"dtype":"F32","shape":[0,3],"data_offsets":[{0},{0}]}})", data.size());
    header += fmt::format(R"(,"scalar":{{"dtype":"F32","shape":[],"data_offsets":[{},{}]}}}})", data.size(),
                          data.size() + 4);
    const bytes quarter = from_hex({0x00, 0x00, 0x80, 0x3E});  // 0.25f
    data.insert(data.end(), quarter.begin(), quarter.end());

    temp_dir dir;
    write(dir / "all.safetensors", make_file(header, data));
    const safetensors_file file(dir / "all.safetensors");
    CHECK(file.path() == dir / "all.safetensors");
    CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}});
    REQUIRE(file.tensors().size() == samples.size() + 3);
    CHECK(file.tensors().front().name == "odd");
    CHECK(values(file.view("odd")) == std::vector<double>{9, 8, 7});
    for (const auto& s : samples) {
        const std::string name = fmt::format("t.{}", blend::safetensors_name(s.type));
        INFO(name);
        const auto view = file.view(name);
        CHECK(view.type == s.type);
        CHECK(view.shape == blend::shape_type{2});
        CHECK(view.bytes.size() == s.data.size());
        CHECK(std::memcmp(view.bytes.data(), s.data.data(), s.data.size()) == 0);
        CHECK(values(view) == s.expected);
        // Zero-copy: the view points into the mapping, at data_offset + begin.
        CHECK(view.bytes.data() ==
              file.mapping().bytes().data() + file.data_offset() + file.find(name)->begin);
    }
    const auto f32 = file.view("t.F32");
    CHECK(reinterpret_cast<std::uintptr_t>(f32.bytes.data()) % 4 != 0);  // really unaligned
    const auto empty = file.view("empty");
    CHECK(empty.size() == 0);
    CHECK(empty.bytes.empty());
    CHECK(empty.shape == blend::shape_type{0, 3});
    const auto scalar = file.view("scalar");
    CHECK(scalar.shape.empty());
    CHECK(values(scalar) == std::vector<double>{0.25});
    for (const auto& t : file.tensors()) {  // advice on every tensor is harmless, and data stays readable
        file.prefetch(t);
        file.release(t);
    }
    CHECK(values(file.view("t.F64")) == std::vector<double>{1.5, -2.0});
}

TEST_CASE("safetensors_file errors name the file and the tensor", "[io][safetensors]") {
    temp_dir dir;
    const auto missing = dir / "missing.safetensors";
    CHECK(error_of([&] { safetensors_file f(missing); }) ==
          fmt::format("{}: cannot open: No such file or directory", missing.string()));
    CHECK(error_of([&] { safetensors_file f(dir.path); }) ==
          fmt::format("{}: not a regular file", dir.path.string()));
    write(dir / "a.safetensors", make_u8_file({"x", "y"}));
    const safetensors_file file(dir / "a.safetensors");
    CHECK(file.find("nope") == nullptr);
    CHECK(error_of([&] { (void)file.view("nope"); }) ==
          fmt::format("{}: tensor 'nope': no such tensor", (dir / "a.safetensors").string()));
    const tensor_entry foreign{"z", dtype::u8, {100}, 0, 100};
    CHECK_THROWS_AS(file.view(foreign), blend::invalid_argument);
    write(dir / "empty.safetensors", {});
    CHECK(error_of([&] { safetensors_file f(dir / "empty.safetensors"); }) ==
          fmt::format("{}: file too small for a safetensors header: 0 bytes, need at least 8",
                      (dir / "empty.safetensors").string()));
}

TEST_CASE("safetensors_file rejects every file of the malformed corpus, naming it", "[io][safetensors]") {
    const auto dir = fs::path{__FILE__}.parent_path() / "data" / "safetensors" / "malformed";
    std::size_t count = 0;
    for (const auto& item : fs::directory_iterator(dir)) {
        INFO(item.path().string());
        const std::string what = error_of([&] { safetensors_file f(item.path()); });
        CHECK(what.rfind(item.path().string() + ": ", 0) == 0);
        ++count;
    }
    CHECK(count >= 30);
}

TEST_CASE("model_reader opens a file, or a directory holding model.safetensors", "[io][safetensors]") {
    temp_dir dir;
    write(dir / "model.safetensors", make_u8_file({"b", "a"}));
    for (const fs::path& ref : {dir / "model.safetensors", dir.path}) {
        const model_reader model(ref);
        CHECK(model.path() == ref);
        CHECK(model.directory() == dir.path);
        CHECK(model.index_path().empty());
        REQUIRE(model.tensor_names().size() == 2);
        CHECK(model.tensor_names()[0] == "b");
        CHECK(model.tensor_names()[1] == "a");
        CHECK(model.total_bytes() == 3);
        CHECK(model.find("a")->shape == blend::shape_type{2});
        CHECK(model.find("c") == nullptr);
        CHECK(values(model.view("a")) == std::vector<double>{7, 7});
        CHECK(model.file_of("a").path() == dir / "model.safetensors");
        model.prefetch("a");
        model.release("a");
        CHECK(error_of([&] { (void)model.view("c"); }) ==
              fmt::format("{}: tensor 'c': no such tensor in the model", ref.string()));
    }
    // Movable (readers live in vectors): entries and views survive the move.
    STATIC_REQUIRE(std::is_nothrow_move_constructible_v<model_reader>);
    model_reader first(dir.path);
    const tensor_entry* a = first.find("a");
    const model_reader moved = std::move(first);
    CHECK(moved.find("a") == a);
    CHECK(values(moved.view("a")) == std::vector<double>{7, 7});
    // model.safetensors wins over an index (as in transformers), even a broken one.
    write(dir / "model.safetensors.index.json", from_hex({'x'}));
    CHECK(model_reader(dir.path).tensor_names().size() == 2);
}

TEST_CASE("model_reader reads a sharded directory through its index", "[io][safetensors]") {
    temp_dir dir;
    write(dir / "model-00002-of-00002.safetensors", make_u8_file({"layers.1.w", "lm_head"}, 2));
    write(dir / "model-00001-of-00002.safetensors", make_u8_file({"embed", "layers.0.w"}, 1));
    const std::string index = R"({"metadata": {"total_size": 6}, "weight_map": {
        "lm_head": "model-00002-of-00002.safetensors", "embed": "model-00001-of-00002.safetensors",
        "layers.1.w": "model-00002-of-00002.safetensors", "layers.0.w": "model-00001-of-00002.safetensors"}})";
    write(dir / "model.safetensors.index.json",
          bytes(reinterpret_cast<const std::byte*>(index.data()),
                reinterpret_cast<const std::byte*>(index.data() + index.size())));
    for (const fs::path& ref : {dir.path, dir / "model.safetensors.index.json"}) {
        const model_reader model(ref);
        CHECK(model.directory() == dir.path);
        CHECK(model.index_path() == dir / "model.safetensors.index.json");
        const std::vector<std::string> names(model.tensor_names().begin(), model.tensor_names().end());
        CHECK(names == std::vector<std::string>{"embed", "layers.0.w", "layers.1.w", "lm_head"});
        CHECK(model.files().size() == 2);
        CHECK(model.total_bytes() == 6);
        CHECK(model.file_of("lm_head").path() == dir / "model-00002-of-00002.safetensors");
        CHECK(values(model.view("lm_head")) == std::vector<double>{2, 2});
        CHECK(values(model.view("layers.0.w")) == std::vector<double>{1, 1});
    }
}

TEST_CASE("model_reader validates the index against its shards", "[io][safetensors]") {
    temp_dir dir;
    write(dir / "s1.safetensors", make_u8_file({"a", "b"}));
    write(dir / "s2.safetensors", make_u8_file({"c", "a"}));
    const auto index_path = dir / "model.safetensors.index.json";
    const std::string ix = index_path.string();
    const auto open_with = [&](const std::string& json) {
        write(index_path, bytes(reinterpret_cast<const std::byte*>(json.data()),
                                reinterpret_cast<const std::byte*>(json.data() + json.size())));
        return error_of([&] { model_reader m(dir.path); });
    };
    CHECK(
        open_with(
            R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "x": "missing.safetensors"}})") ==
        fmt::format("{}: tensor 'x': shard does not exist: '{}'", ix,
                    (dir / "missing.safetensors").string()));
    CHECK(open_with(
              R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "q": "s1.safetensors"}})") ==
          fmt::format("{}: tensor 'q': not in its shard: 's1.safetensors'", ix));
    CHECK(open_with(
              R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}})") ==
          fmt::format("{}: tensor 'a': in two shards: 's1.safetensors' and 's2.safetensors'", ix));
    CHECK(open_with(R"({"weight_map": {"a": "s1.safetensors"}})") ==
          fmt::format("{}: tensor 'b': missing from weight_map: it is in shard 's1.safetensors'", ix));
    CHECK(open_with(R"({"weight_map": {"a": "s1.safetensors", "a": "s1.safetensors"}})") ==
          fmt::format("{}: tensor 'a': listed twice in weight_map", ix));
    CHECK(open_with(R"({"weight_map": {"a": "../s1.safetensors"}})") ==
          fmt::format(
              "{}: tensor 'a': shard must be a relative path inside the model directory: '../s1.safetensors'",
              ix));
    CHECK(open_with(R"({"weight_map": {"a": 1}})") ==
          fmt::format("{}: tensor 'a': shard is not a string: 1", ix));
    CHECK(open_with(R"({"metadata": {}})") == fmt::format("{}: no weight_map object", ix));
    CHECK(open_with(R"([])") == fmt::format("{}: index is not a JSON object", ix));
    CHECK(open_with(R"({"weight_map": )").rfind(fmt::format("{}: index is not valid JSON: ", ix), 0) == 0);
    // A malformed shard is reported by the shard's own name.
    write(dir / "bad.safetensors", from_hex({1, 2, 3}));
    CHECK(open_with(R"({"weight_map": {"a": "bad.safetensors"}})") ==
          fmt::format("{}: file too small for a safetensors header: 3 bytes, need at least 8",
                      (dir / "bad.safetensors").string()));
    // Valid: both shards, with every tensor in its place (a is in both, so make s2 without it).
    write(dir / "s2.safetensors", make_u8_file({"c"}));
    CHECK(open_with(
              R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}})") ==
          "(no error)");
}

TEST_CASE("model_reader reports references that are not models", "[io][safetensors]") {
    temp_dir dir;
    CHECK(error_of([&] { model_reader m(dir.path); }) ==
          fmt::format("{}: no model.safetensors or model.safetensors.index.json in the directory",
                      dir.path.string()));
    CHECK(error_of([&] { model_reader m(dir / "nope"); }) ==
          fmt::format("{}: cannot open: No such file or directory", (dir / "nope").string()));
}
