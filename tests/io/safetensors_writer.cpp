// Tests for blend/io/safetensors_writer.hpp: round trips through the reader, byte identity with files
// the Python `safetensors` library wrote (tests/reference/make_safetensors_fixtures.py), sharding and the
// index, order- and thread-independence, atomicity, and argument checks.
#include <blend/io/safetensors_writer.hpp>

#include <blend/core/convert.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/io/safetensors_reader.hpp>

#include "io/safetensors_patterns.hpp"
#include "support/catch.hpp"
#include "support/scratch_dir.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using blend::dtype;
using blend::io::safetensors_writer;
using blend::io::tensor_spec;
using blend_test::named_tensor;
using blend::test::directory_entries;
using blend::test::scratch_dir;

const fs::path fixtures = fs::path{__FILE__}.parent_path() / "data" / "safetensors" / "python";

std::string slurp(const fs::path& path) {
    std::ifstream in{path, std::ios::binary};
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}



/// The message of the blend::error `f` throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const blend::error& e) {
        return e.what();
    }
    return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// "" when the two files hold the same bytes, else where they first differ (readable in a failed CHECK).
std::string compare_files(const fs::path& a, const fs::path& b) {
    const std::string x = slurp(a), y = slurp(b);
    if (x == y) return "";
    const auto at = std::mismatch(x.begin(), x.end(), y.begin(), y.end());
    const auto offset = static_cast<std::size_t>(at.first - x.begin());
    return fmt::format("{} ({} bytes) and {} ({} bytes) first differ at byte {}", a.filename().string(), x.size(),
                       b.filename().string(), y.size(), offset);
}

void write_all(safetensors_writer& w, const std::vector<named_tensor>& tensors) {
    for (std::size_t i = 0; i < tensors.size(); ++i) w.write(i, tensors[i].bytes);
}

/// Position of a dtype in the Rust `safetensors` crate's Dtype enum, by which the Python library sorts
/// the tensors of a file (descending, then by name).
int python_rank(dtype t) {
    switch (t) {
        case dtype::boolean: return 0;
        case dtype::u8: return 1;
        case dtype::i8: return 2;
        case dtype::f8_e5m2: return 3;
        case dtype::f8_e4m3: return 4;
        case dtype::i16: return 5;
        case dtype::u16: return 6;
        case dtype::f16: return 7;
        case dtype::bf16: return 8;
        case dtype::i32: return 9;
        case dtype::u32: return 10;
        case dtype::f32: return 11;
        case dtype::f64: return 12;
        case dtype::i64: return 13;
        case dtype::u64: return 14;
    }
    return -1;
}

std::vector<named_tensor> in_python_order(std::vector<named_tensor> tensors) {
    std::stable_sort(tensors.begin(), tensors.end(), [](const named_tensor& a, const named_tensor& b) {
        const int ra = python_rank(a.spec.type), rb = python_rank(b.spec.type);
        return ra != rb ? ra > rb : a.spec.name < b.spec.name;
    });
    return tensors;
}

}  // namespace

TEST_CASE("safetensors_writer: every dtype, a scalar and a zero-size tensor round-trip through the reader",
          "[io][safetensors]") {
    scratch_dir dir;
    const auto tensors = blend_test::all_dtypes_tensors();
    auto w = safetensors_writer::to_file(dir.path / "all.safetensors", blend_test::specs_of(tensors), {{"format", "pt"}, {"k", "v"}});
    CHECK(w.shard_count() == 1);
    CHECK(w.index_path().empty());
    write_all(w, tensors);
    CHECK(w.commit() == std::vector<fs::path>{dir.path / "all.safetensors"});
    CHECK(directory_entries(dir.path) == std::vector<std::string>{"all.safetensors"});

    const blend::io::safetensors_file file{dir.path / "all.safetensors"};
    CHECK(file.data_offset() % 8 == 0);
    CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"k", "v"}});
    REQUIRE(file.tensors().size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        INFO(tensors[i].spec.name);
        CHECK(file.tensors()[i].name == tensors[i].spec.name);  // data order = spec order
        const auto view = file.view(tensors[i].spec.name);
        CHECK(view.type == tensors[i].spec.type);
        CHECK(view.shape == tensors[i].spec.shape);
        CHECK(std::equal(view.bytes.begin(), view.bytes.end(), tensors[i].bytes.begin(), tensors[i].bytes.end()));
    }
}

TEST_CASE("safetensors_writer: the Python library's every-dtype file reads as the pattern values", "[io][safetensors]") {
    const blend::io::safetensors_file file{fixtures / "all_dtypes.safetensors"};
    CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}});
    CHECK(file.tensors().size() == std::size(blend::all_dtypes) + 2);
    for (dtype t : blend::all_dtypes) {
        INFO(blend::safetensors_name(t));
        const auto view = file.view(blend_test::pattern_name(t));
        CHECK(view.type == t);
        CHECK(view.shape == blend_test::pattern_shape(t));
        if (blend::is_floating(t)) {
            const auto expected = blend_test::float_pattern(t);
            std::vector<double> got(view.size());
            blend::convert_bytes(t, view.bytes.data(), dtype::f64, reinterpret_cast<std::byte*>(got.data()), got.size());
            REQUIRE(got.size() == expected.size());
            for (std::size_t i = 0; i < got.size(); ++i) {
                INFO("element " << i << ": " << got[i] << " expected " << expected[i]);
                if (std::isnan(expected[i])) {
                    CHECK(std::isnan(got[i]));
                } else {
                    CHECK(got[i] == expected[i]);
                    CHECK(std::signbit(got[i]) == std::signbit(expected[i]));
                }
            }
        } else {  // integers and bool: the bytes are the values
            const auto expected = blend_test::pattern_bytes(t);
            CHECK(std::equal(view.bytes.begin(), view.bytes.end(), expected.begin(), expected.end()));
        }
    }
    const auto scalar = file.view("scalar");
    CHECK((scalar.type == dtype::f64 && scalar.shape.empty() && scalar.bytes.size() == 8));
    double tenth = 0;
    std::memcpy(&tenth, scalar.bytes.data(), 8);
    CHECK(tenth == 0.1);
    const auto empty = file.view("empty");
    CHECK((empty.type == dtype::f32 && empty.shape == blend::shape_type{0, 3} && empty.bytes.empty()));

    const blend::io::safetensors_file multi{fixtures / "multi_metadata.safetensors"};
    CHECK(multi.metadata() ==
          std::map<std::string, std::string>{{"format", "pt"}, {"author", "blend tests"}, {"note", "order is random"}});
    const blend::io::safetensors_file escapes{fixtures / "escapes.safetensors"};
    CHECK(escapes.metadata() == std::map<std::string, std::string>{{"note", blend_test::escape_note}});
    for (const auto& t : blend_test::escape_tensors()) CHECK(escapes.find(t.spec.name) != nullptr);
}

TEST_CASE("safetensors_writer: same tensors, order and metadata give the Python library's bytes", "[io][safetensors]") {
    // The library sorts tensors by dtype, then name (see python_rank); blend keeps the given order, so
    // giving blend that order must reproduce the library's file exactly, header padding included.
    scratch_dir dir;
    struct fixture_case {
        std::string file;
        std::vector<named_tensor> tensors;
        std::map<std::string, std::string> metadata;
    };
    std::vector<named_tensor> plain;
    {
        const float b[] = {1.5f, -2.0f, 0.25f, 8.0f};
        const std::int64_t a[] = {-1, 0, std::int64_t{1} << 40};
        const auto* pb = reinterpret_cast<const std::byte*>(b);
        const auto* pa = reinterpret_cast<const std::byte*>(a);
        plain.push_back({{"b", dtype::f32, {2, 2}}, {pb, pb + sizeof b}});
        plain.push_back({{"a", dtype::i64, {3}}, {pa, pa + sizeof a}});
    }
    // One byte of the data differs by design: the F8_E5M2 NaN, which ml_dtypes (the fixture's float8
    // arrays) encodes as 0x7E and blend's conversion, like PyTorch's, as 0x7F; both are NaN.
    auto all = blend_test::all_dtypes_tensors();
    for (auto& t : all) {
        if (t.spec.type == dtype::f8_e5m2) {
            REQUIRE(t.bytes[6] == std::byte{0x7F});
            t.bytes[6] = std::byte{0x7E};
        }
    }
    const std::vector<fixture_case> cases{
        {"all_dtypes.safetensors", all, {{"format", "pt"}}},
        {"escapes.safetensors", blend_test::escape_tensors(), {{"note", blend_test::escape_note}}},
        {"no_metadata.safetensors", plain, {}},
        // The library's metadata order is random; the fixture script kept the run that came out sorted.
        {"multi_metadata.safetensors", plain, {{"format", "pt"}, {"author", "blend tests"}, {"note", "order is random"}}},
    };
    for (const auto& c : cases) {
        INFO(c.file);
        const auto ordered = in_python_order(c.tensors);
        auto w = safetensors_writer::to_file(dir.path / c.file, blend_test::specs_of(ordered), c.metadata);
        write_all(w, ordered);
        w.commit();
        CHECK(compare_files(dir.path / c.file, fixtures / c.file) == "");
    }
}

TEST_CASE("safetensors_writer: a sharded model equals huggingface_hub's split and transformers' index", "[io][safetensors]") {
    scratch_dir dir;
    const auto model = blend_test::model_tensors();
    auto w = safetensors_writer::to_directory(dir.path, blend_test::specs_of(model), {.shard_size = blend_test::model_shard_limit});
    CHECK(w.shard_count() == 4);
    CHECK(w.total_bytes() == 3376);
    CHECK(w.shard_of(0) == 0);  // lm_head: 1024 bytes > 1000, a shard of its own
    CHECK(w.shard_of(1) == 1);
    CHECK(w.shard_of(10) == 3);
    write_all(w, model);
    const auto paths = w.commit();
    CHECK(paths.size() == 5);
    CHECK(paths.back() == dir.path / "model.safetensors.index.json");
    const auto names = directory_entries(dir.path);
    CHECK(names == directory_entries(fixtures / "sharded"));
    for (const auto& name : names) {
        INFO(name);
        CHECK(compare_files(dir.path / name, fixtures / "sharded" / name) == "");
    }
    const blend::io::model_reader reader{dir.path};
    CHECK(reader.tensor_names().size() == model.size());
    for (const auto& t : model) {
        const auto view = reader.view(t.spec.name);
        CHECK(std::equal(view.bytes.begin(), view.bytes.end(), t.bytes.begin(), t.bytes.end()));
    }
}

TEST_CASE("safetensors_writer: shards start when a tensor would pass the limit; big tensors go alone", "[io][safetensors]") {
    scratch_dir dir;
    const auto f32 = [](std::string name, std::size_t n) { return tensor_spec{std::move(name), dtype::f32, {n}}; };
    SECTION("a limit reached exactly keeps one file, without an index") {
        auto w = safetensors_writer::to_directory(dir.path, {f32("a", 25), f32("b", 25)}, {.shard_size = 200});
        CHECK(w.shard_count() == 1);
        w.write(0, std::vector<std::byte>(100));
        w.write(1, std::vector<std::byte>(100));
        CHECK(w.commit() == std::vector<fs::path>{dir.path / "model.safetensors"});
        CHECK(directory_entries(dir.path) == std::vector<std::string>{"model.safetensors"});
    }
    SECTION("sizes 40 40 40 200 40 0 with a limit of 100") {
        const std::vector<tensor_spec> specs{f32("x.a", 10), f32("x.b", 10), f32("x.c", 10), f32("big", 50), f32("y", 10), f32("zero", 0)};
        auto w = safetensors_writer::to_directory(dir.path / "out", specs, {.shard_size = 100, .metadata = {}});
        CHECK(w.shard_count() == 4);
        const std::vector<std::size_t> expected_shard{0, 0, 1, 2, 3, 3};
        for (std::size_t i = 0; i < specs.size(); ++i) CHECK(w.shard_of(i) == expected_shard[i]);
        CHECK(w.total_bytes() == 360);
        for (std::size_t i = 0; i < specs.size(); ++i) w.write(i, std::vector<std::byte>(specs[i].byte_size(), std::byte{7}));
        w.commit();
        CHECK(directory_entries(dir.path / "out") ==
              std::vector<std::string>{"model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                                       "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors",
                                       "model.safetensors.index.json"});
        const auto index = nlohmann::json::parse(slurp(dir.path / "out" / "model.safetensors.index.json"));
        CHECK(index == nlohmann::json::parse(R"({"metadata": {"total_size": 360}, "weight_map": {
            "x.a": "model-00001-of-00004.safetensors", "x.b": "model-00001-of-00004.safetensors",
            "x.c": "model-00002-of-00004.safetensors", "big": "model-00003-of-00004.safetensors",
            "y": "model-00004-of-00004.safetensors", "zero": "model-00004-of-00004.safetensors"}})"));
        const blend::io::safetensors_file shard3{dir.path / "out" / "model-00003-of-00004.safetensors"};
        CHECK(shard3.metadata().empty());
        CHECK(shard3.tensors().size() == 1);
        CHECK(blend::io::model_reader{dir.path / "out"}.tensor_names().size() == specs.size());
    }
    SECTION("the index escapes and sorts names as Python's json.dumps(indent=2, sort_keys=True)") {
        std::vector<tensor_spec> specs{f32("\xc3\xa9", 1), f32("q\"\\", 1), f32("\xf0\x9f\x98\x80", 1), f32("a\n", 1)};
        auto w = safetensors_writer::to_directory(dir.path, specs, {.shard_size = 4});
        CHECK(w.shard_count() == 4);
        // json.dumps({"metadata": {"total_size": 16}, "weight_map": {...}}, indent=2, sort_keys=True)
        CHECK(w.index_json() == R"({
  "metadata": {
    "total_size": 16
  },
  "weight_map": {
    "a\n": "model-00004-of-00004.safetensors",
    "q\"\\": "model-00002-of-00004.safetensors",
    "\u00e9": "model-00001-of-00004.safetensors",
    "\ud83d\ude00": "model-00003-of-00004.safetensors"
  }
})");
    }
}

TEST_CASE("safetensors_writer: any write order, from any thread, gives the same bytes", "[io][safetensors]") {
    const auto model = blend_test::model_tensors();
    const auto run = [&](const fs::path& out, int mode) {
        auto w = safetensors_writer::to_directory(out, blend_test::specs_of(model), {.shard_size = 1500});
        if (mode == 0) {
            write_all(w, model);
        } else if (mode == 1) {
            for (std::size_t i = model.size(); i-- > 0;) w.write(i, model[i].bytes);
        } else {
            const auto half = [&](std::size_t parity) {
                for (std::size_t i = parity; i < model.size(); i += 2) w.write(model.size() - 1 - i, model[model.size() - 1 - i].bytes);
            };
            std::thread other{half, 1};
            half(0);
            other.join();
        }
        w.commit();
    };
    scratch_dir dir;
    run(dir.path / "forward", 0);
    run(dir.path / "reverse", 1);
    run(dir.path / "threads", 2);
    const auto names = directory_entries(dir.path / "forward");
    CHECK(names.size() == 4);  // 3 shards + index
    for (const char* other : {"reverse", "threads"}) {
        REQUIRE(directory_entries(dir.path / other) == names);
        for (const auto& name : names) CHECK(compare_files(dir.path / other / name, dir.path / "forward" / name) == "");
    }
}

TEST_CASE("safetensors_writer: nothing appears under a final name unless committed", "[io][safetensors]") {
    scratch_dir dir;
    const auto model = blend_test::model_tensors();
    const auto specs = blend_test::specs_of(model);
    SECTION("an exception before commit") {
        try {
            auto w = safetensors_writer::to_directory(dir.path, specs, {.shard_size = 1000});
            CHECK(directory_entries(dir.path).size() == 4);  // the four .blend-tmp- shards
            for (const auto& name : directory_entries(dir.path)) CHECK(name.rfind(".blend-tmp-model-0000", 0) == 0);
            w.write(0, model[0].bytes);
            throw std::runtime_error{"merge failed"};
        } catch (const std::runtime_error&) {
        }
        CHECK(directory_entries(dir.path).empty());
    }
    SECTION("destruction after every write but without commit") {
        {
            auto w = safetensors_writer::to_directory(dir.path, specs);
            write_all(w, model);
        }
        CHECK(directory_entries(dir.path).empty());
    }
    SECTION("commit_shards without the index") {
        {
            auto w = safetensors_writer::to_directory(dir.path, specs, {.shard_size = 1000});
            write_all(w, model);
            w.commit_shards();
            CHECK(directory_entries(dir.path).size() == 4);  // shards in place, index pending
            CHECK(!fs::exists(dir.path / "model.safetensors.index.json"));
        }
        CHECK(directory_entries(dir.path).empty());
    }
    SECTION("commit with a missing tensor throws naming it") {
        {
            auto w = safetensors_writer::to_file(dir.path / "m.safetensors", specs);
            for (std::size_t i = 0; i < model.size(); ++i) {
                if (i != 3 && i != 7) w.write(i, model[i].bytes);
            }
            const auto message = error_of([&] { w.commit(); });
            CHECK(contains(message, "m.safetensors"));
            CHECK(contains(message, "2 of 11 tensors not written: model.layers.0.mlp.down_proj.weight, model.layers.1.mlp.down_proj.weight"));
            CHECK_THROWS_AS(w.commit(), blend::io_error);
        }
        CHECK(directory_entries(dir.path).empty());
    }
    SECTION("write_safetensors commits only complete files") {
        std::vector<float> data{1, 2, 3, 4, 5, 6};
        std::map<std::string, blend::tensor_view<const float>> dict;
        dict.emplace("w", blend::tensor_view<const float>{data, {2, 3}});
        dict.emplace("b", blend::tensor_view<const float>{std::span{data}.first(2), {2}});
        blend::io::write_safetensors(dir.path / "d.safetensors", dict);
        CHECK(directory_entries(dir.path) == std::vector<std::string>{"d.safetensors"});
        const blend::io::safetensors_file file{dir.path / "d.safetensors"};
        REQUIRE(file.tensors().size() == 2);
        CHECK(file.tensors()[0].name == "b");  // the map's iteration order
        CHECK(file.tensors()[1].shape == blend::shape_type{2, 3});
        CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}});
        const auto w = file.view("w");
        CHECK(std::memcmp(w.bytes.data(), data.data(), 24) == 0);
    }
}

TEST_CASE("safetensors_writer: bad specs and bad writes are rejected, naming the tensor", "[io][safetensors]") {
    scratch_dir dir;
    const auto f32 = [](std::string name, std::size_t n) { return tensor_spec{std::move(name), dtype::f32, {n}}; };
    const auto make = [&](std::vector<tensor_spec> specs) {
        return error_of([&] { static_cast<void>(safetensors_writer::to_directory(dir.path, std::move(specs))); });
    };
    CHECK(contains(make({f32("a", 1), f32("dup", 1), f32("dup", 2)}), "tensor 'dup' (spec 2): duplicate name (also spec 1)"));
    CHECK(contains(make({f32("a", 1), f32("", 1)}), "(spec 1): empty name"));
    CHECK(contains(make({f32("__metadata__", 1)}), "'__metadata__' (spec 0): the name is reserved"));
    CHECK(contains(make({tensor_spec{"huge", dtype::f64, {1ull << 40, 1ull << 40}}}), "tensor 'huge' (spec 0): shape"));
    CHECK(contains(make({f32("bad\xff", 1)}), "not valid UTF-8"));
    CHECK(directory_entries(dir.path).empty());  // nothing created

    auto w = safetensors_writer::to_file(dir.path / "x.safetensors", {f32("a", 2), f32("b", 1)});
    CHECK(contains(error_of([&] { w.write(0, std::vector<std::byte>(7)); }), "tensor 'a' (F32 [2]) takes 8 bytes, got 7"));
    CHECK(contains(error_of([&] { w.write(2, std::vector<std::byte>(4)); }), "tensor index 2 out of range"));
    const float two[] = {1, 2};
    CHECK(contains(error_of([&] { w.write(0, blend::any_tensor_view{dtype::f32, {1, 2}, std::as_bytes(std::span{two})}); }),
                   "tensor 'a' is F32 [2], got F32 [1, 2]"));
    w.write(0, blend::any_tensor_view{dtype::f32, {2}, std::as_bytes(std::span{two})});
    CHECK(contains(error_of([&] { w.write(0, std::as_bytes(std::span{two})); }), "tensor 'a' written twice"));
    CHECK_THROWS_AS(w.write(0, std::as_bytes(std::span{two})), blend::invalid_argument);
    w.write(1, std::as_bytes(std::span{two}.first(1)));
    w.commit();
    CHECK(directory_entries(dir.path) == std::vector<std::string>{"x.safetensors"});
}

TEST_CASE("safetensors_writer: an empty model is one file with an empty header", "[io][safetensors]") {
    scratch_dir dir;
    auto w = safetensors_writer::to_directory(dir.path, {}, {.metadata = {}});
    CHECK(w.shard_count() == 1);
    w.commit();
    CHECK(slurp(dir.path / "model.safetensors") == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
}
