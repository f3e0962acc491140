// Tests for blend/config/output.hpp: config.json's layer count, the side files copied beside the
// weights, and --force's replacement of an earlier model.
#include <blend/config/output.hpp>
#include <blend/merge/passthrough.hpp>

#include "config/tiny_models.hpp"
#include "support/catch.hpp"
#include "support/scratch_dir.hpp"

#include <fstream>
#include <iterator>

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("with_layer_count rewrites the first layer-count key and keeps the key order", "[config][output]") {
    CHECK(blend::config::with_layer_count(R"({"b": 1, "num_hidden_layers": 4, "n_layer": 4})", 7, "c") ==
          "{\n  \"b\": 1,\n  \"num_hidden_layers\": 7,\n  \"n_layer\": 4\n}\n");
    CHECK(blend::config::with_layer_count(R"({"n_layer": 2, "x": 0.1})", 3, "c") == "{\n  \"n_layer\": 3,\n  \"x\": 0.1\n}\n");
    CHECK_THROWS_AS(blend::config::with_layer_count("{", 3, "c"), blend::io_error);
}

TEST_CASE("write_merged_model places the weights, config.json and tokenizer files; --force replaces", "[config][output]") {
    blend::test::scratch_dir dir{"output"};
    blend::test::write_tiny_model(dir.path / "m", 2, 1);
    std::ofstream{dir.path / "m" / "tokenizer.json"} << "{\"tok\": 1}";
    const blend::io::model_reader reader{dir.path / "m"};
    const std::array<const blend::io::model_reader*, 1> models{&reader};
    auto plan = blend::merge::plan_per_tensor(models, [](std::span<const blend::any_tensor_view> in, const blend::any_mutable_tensor_view& out) {
        blend::merge::passthrough_into(in, out);
    });
    const auto out = dir.path / "out";
    const auto paths = blend::config::write_merged_model(models, plan, reader.directory(), out, {.layer_count = 5});
    CHECK(paths.size() == 3);
    CHECK(read_text(out / "tokenizer.json") == "{\"tok\": 1}");
    CHECK(read_text(out / "config.json").find("\"num_hidden_layers\": 5") != std::string::npos);
    CHECK(blend::test::directory_entries(out) == std::vector<std::string>{"config.json", "model.safetensors", "tokenizer.json"});
    // a sharded model replaced by a single file with --force: the old shards and index go
    std::ofstream{out / "model-00001-of-00002.safetensors"} << "old";
    std::ofstream{out / "model.safetensors.index.json"} << "old";
    (void)blend::config::write_merged_model(models, plan, reader.directory(), out, {.replace_existing = true});
    CHECK(blend::test::directory_entries(out) == std::vector<std::string>{"config.json", "model.safetensors", "tokenizer.json"});
    CHECK(read_text(out / "config.json") == read_text(dir.path / "m" / "config.json"));
    // a failing merge leaves nothing behind
    plan.tasks[1].produce = [](std::span<const blend::any_tensor_view>, const blend::any_mutable_tensor_view&) {
        throw blend::invalid_argument{"boom"};
    };
    CHECK_THROWS_WITH(blend::config::write_merged_model(models, plan, reader.directory(), dir.path / "failed"), "boom");
    CHECK(blend::test::directory_entries(dir.path / "failed").empty());
}
