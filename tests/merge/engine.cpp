// Tests for blend/merge/engine.hpp: the streaming engine runs a plan over memory-mapped models into a
// sharded writer with the same bytes as the in-memory methods, for any thread count and memory budget,
// reports progress, and leaves nothing under a final name when it fails.
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/io/safetensors_reader.hpp>
#include <blend/io/safetensors_writer.hpp>
#include <blend/merge/engine.hpp>
#include <blend/merge/linear.hpp>

#include "support/catch.hpp"
#include "support/scratch_dir.hpp"

#include <filesystem>
#include <fstream>
#include <limits>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using model = std::map<std::string, xt::xarray<blend::bf16>>;
using blend::test::directory_entries;
using blend::test::scratch_dir;


xt::xarray<blend::bf16> random_bf16(const blend::shape_type& shape, std::uint64_t key) {
    const blend::random_stream rng{11, key};
    auto t = xt::xarray<blend::bf16>::from_shape(shape);
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = blend::to_bf16(rng.uniform_float(i) * 2.f - 1.f);
    return t;
}

/// A tiny Llama-like model: three tensors, one of them large enough to span several kernel chunks.
model tiny_model(std::uint64_t seed) {
    return {{"model.embed_tokens.weight", random_bf16({64, 160}, seed * 10 + 1)},
            {"model.layers.0.mlp.up_proj.weight", random_bf16({40, 16}, seed * 10 + 2)},
            {"model.norm.weight", random_bf16({16}, seed * 10 + 3)}};
}

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}


blend::merge::tensor_function linear_with(std::vector<double> weights) {
    return [weights = std::move(weights)](std::span<const blend::any_tensor_view> inputs,
                                          const blend::any_mutable_tensor_view& out) {
        blend::merge::linear_into(inputs, out, {.weights = weights});
    };
}

}  // namespace

TEST_CASE("a streamed linear merge equals the in-memory linear merge, tensor by tensor", "[merge][engine]") {
    scratch_dir dir{"equal"};
    std::vector<model> models{tiny_model(1), tiny_model(2), tiny_model(3)};
    std::vector<blend::io::model_reader> readers;
    for (std::size_t m = 0; m < models.size(); ++m) {
        const fs::path file = dir.path / fmt::format("m{}.safetensors", m);
        blend::io::write_safetensors(file, models[m]);
        readers.emplace_back(file);
    }
    std::vector<const blend::io::model_reader*> inputs{&readers[0], &readers[1], &readers[2]};
    const std::vector<double> weights{0.5, 0.3, 0.2};
    const auto plan = blend::merge::plan_per_tensor(inputs, linear_with(weights));
    REQUIRE(plan.tasks.size() == 3);
    const auto written = blend::merge::merge_to_directory(inputs, plan, dir.path / "out");
    REQUIRE(written == std::vector<fs::path>{dir.path / "out" / "model.safetensors"});

    const blend::io::safetensors_file merged{dir.path / "out" / "model.safetensors"};
    for (const auto& [name, first] : models[0]) {
        const std::vector<xt::xarray<blend::bf16>> same{first, models[1].at(name), models[2].at(name)};
        const auto expected = blend::merge::linear(same, {.weights = weights});
        const auto view = merged.view(name);
        CHECK(view.type == blend::dtype::bf16);
        CHECK(view.shape == blend::tensor_shape(expected));
        REQUIRE(view.bytes.size() == expected.size() * 2);
        CHECK(std::memcmp(view.bytes.data(), expected.data(), view.bytes.size()) == 0);
    }
}

TEST_CASE("the streamed output is byte-identical for any thread count, budget and shard size", "[merge][engine]") {
    scratch_dir dir{"deterministic"};
    std::vector<blend::io::model_reader> readers;
    for (std::uint64_t m = 0; m < 2; ++m) {
        const fs::path file = dir.path / fmt::format("m{}.safetensors", m);
        blend::io::write_safetensors(file, tiny_model(m + 5));
        readers.emplace_back(file);
    }
    std::vector<const blend::io::model_reader*> inputs{&readers[0], &readers[1]};
    const auto plan = blend::merge::plan_per_tensor(inputs, linear_with({1.0, 1.0}), {.out_type = blend::dtype::f32});
    const std::size_t previous = blend::num_threads();

    blend::set_num_threads(1);
    blend::merge::merge_to_directory(inputs, plan, dir.path / "one");
    blend::set_num_threads(2);
    blend::merge::merge_to_directory(inputs, plan, dir.path / "two");
    blend::merge::merge_to_directory(inputs, plan, dir.path / "tight", {}, {.memory_budget = 1});
    blend::merge::merge_to_directory(inputs, plan, dir.path / "sharded", {.shard_size = 30000});
    blend::set_num_threads(previous);

    const std::string reference = read_bytes(dir.path / "one" / "model.safetensors");
    CHECK(read_bytes(dir.path / "two" / "model.safetensors") == reference);
    CHECK(read_bytes(dir.path / "tight" / "model.safetensors") == reference);
    // float32 output: embed 40960 B, up_proj 2560 B, norm 64 B → the first tensor fills shard 1.
    CHECK(directory_entries(dir.path / "sharded") == std::vector<std::string>{"model-00001-of-00002.safetensors",
                                                                  "model-00002-of-00002.safetensors",
                                                                  "model.safetensors.index.json"});
    const blend::io::model_reader sharded{dir.path / "sharded"};
    const blend::io::safetensors_file single{dir.path / "one" / "model.safetensors"};
    for (const auto& entry : single.tensors()) {
        const auto a = sharded.view(entry.name);
        const auto b = single.view(entry);
        CHECK(std::equal(a.bytes.begin(), a.bytes.end(), b.bytes.begin(), b.bytes.end()));
    }
}

TEST_CASE("progress is reported once per tensor and ends at the totals", "[merge][engine]") {
    scratch_dir dir{"progress"};
    blend::io::write_safetensors(dir.path / "a.safetensors", tiny_model(1));
    const blend::io::model_reader reader{dir.path / "a.safetensors"};
    std::vector<const blend::io::model_reader*> inputs{&reader};
    const auto plan = blend::merge::plan_per_tensor(inputs, linear_with({1.0}));
    std::vector<blend::merge::merge_progress> seen;
    blend::merge::merge_to_directory(inputs, plan, dir.path / "out", {},
                                     {.on_progress = [&](const blend::merge::merge_progress& p) { seen.push_back(p); }});
    REQUIRE(seen.size() == 3);
    const std::uint64_t total = (64 * 160 + 40 * 16 + 16) * 2;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        CHECK(seen[i].tensors_done == i + 1);
        CHECK(seen[i].tensors_total == 3);
        CHECK(seen[i].bytes_total == total);
    }
    CHECK(seen.back().bytes_done == total);
}

TEST_CASE("a failing tensor function leaves no file under a final name and no temporary file", "[merge][engine]") {
    scratch_dir dir{"failure"};
    blend::io::write_safetensors(dir.path / "a.safetensors", tiny_model(1));
    const blend::io::model_reader reader{dir.path / "a.safetensors"};
    std::vector<const blend::io::model_reader*> inputs{&reader};
    auto plan = blend::merge::plan_per_tensor(inputs, linear_with({1.0}));
    plan.tasks[1].produce = [](auto, const auto&) { throw blend::invalid_argument{"boom: tensor 1"}; };
    CHECK_THROWS_WITH(blend::merge::merge_to_directory(inputs, plan, dir.path / "out"), "boom: tensor 1");
    CHECK(directory_entries(dir.path / "out").empty());
}

TEST_CASE("plans name the model and tensor that is missing or misshapen", "[merge][engine]") {
    scratch_dir dir{"missing"};
    model a = tiny_model(1);
    model b = tiny_model(2);
    b.erase("model.norm.weight");
    blend::io::write_safetensors(dir.path / "a.safetensors", a);
    blend::io::write_safetensors(dir.path / "b.safetensors", b);
    const blend::io::model_reader ra{dir.path / "a.safetensors"};
    const blend::io::model_reader rb{dir.path / "b.safetensors"};
    std::vector<const blend::io::model_reader*> inputs{&ra, &rb};
    CHECK_THROWS_WITH(blend::merge::plan_per_tensor(inputs, linear_with({1.0, 1.0})),
                      (dir.path / "b.safetensors").string() + ": tensor 'model.norm.weight' not found");

    b["model.norm.weight"] = random_bf16({8}, 3);
    blend::io::write_safetensors(dir.path / "c.safetensors", b);
    const blend::io::model_reader rc{dir.path / "c.safetensors"};
    std::vector<const blend::io::model_reader*> misshapen{&ra, &rc};
    CHECK_THROWS_AS(blend::merge::plan_per_tensor(misshapen, linear_with({1.0, 1.0})), blend::shape_error);
}

TEST_CASE("a NaN in a model is an io_error naming the model file, tensor and element; nothing is written",
          "[merge][engine]") {
    scratch_dir dir{"nan"};
    model a = tiny_model(1);
    model b = tiny_model(2);
    b.at("model.layers.0.mlp.up_proj.weight").data()[77] = blend::to_bf16(std::numeric_limits<float>::infinity());
    blend::io::write_safetensors(dir.path / "a.safetensors", a);
    blend::io::write_safetensors(dir.path / "b.safetensors", b);
    const blend::io::model_reader ra{dir.path / "a.safetensors"};
    const blend::io::model_reader rb{dir.path / "b.safetensors"};
    std::vector<const blend::io::model_reader*> inputs{&ra, &rb};
    const auto plan = blend::merge::plan_per_tensor(inputs, linear_with({1.0, 1.0}));
    CHECK_THROWS_AS(blend::merge::merge_to_directory(inputs, plan, dir.path / "out"), blend::io_error);
    CHECK_THROWS_WITH(blend::merge::merge_to_directory(inputs, plan, dir.path / "out"),
                      Catch::StartsWith((dir.path / "b.safetensors").string() +
                                        ": tensor 'model.layers.0.mlp.up_proj.weight' holds inf at element 77"));
    CHECK(directory_entries(dir.path / "out").empty());
}
