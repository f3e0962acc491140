// Tests for blend/config/plan.hpp: the config → merge plan builder on tiny models — parameter
// resolution per tensor and layer (CLI.md's example on 9 layers), slice stacking and renumbering, the
// output order, and the streamed result against the in-memory library methods.
#include <blend/config/output.hpp>
#include <blend/config/plan.hpp>
#include <blend/config/yaml.hpp>

#include "config/tiny_models.hpp"
#include "support/catch.hpp"
#include "support/scratch_dir.hpp"

#include <blend/core/convert.hpp>

#include <array>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace blend::config;
namespace fs = std::filesystem;

struct opened {
    std::vector<std::unique_ptr<blend::io::model_reader>> owned;
    std::vector<const blend::io::model_reader*> readers;
};

/// Opens the models of `config`, whose references are directory names under `root`.
opened open_models(const merge_config& config, const fs::path& root) {
    opened o;
    for (const auto& ref : referenced_models(config)) {
        o.owned.push_back(std::make_unique<blend::io::model_reader>(root / ref));
        o.readers.push_back(o.owned.back().get());
    }
    return o;
}

std::string parameter(const planned_merge& p, const std::string& tensor, const std::string& name) {
    for (std::size_t i = 0; i < p.plan.tasks.size(); ++i) {
        if (p.plan.tasks[i].name != tensor) continue;
        for (const auto& [key, value] : p.tensors[i].parameters) {
            if (key == name) return value;
        }
    }
    FAIL("no parameter " << name << " for " << tensor);
    return {};
}

}  // namespace

TEST_CASE("CLI.md's gradient-and-filter example resolves to its values on a 9-layer model", "[config][plan]") {
    blend::test::scratch_dir dir{"plan-gradient"};
    blend::test::write_tiny_model(dir.path / "base", 9, 1);
    blend::test::write_tiny_model(dir.path / "ft", 9, 2);
    const auto config = parse_merge_config(R"(
merge_method: slerp
base_model: base
models: [{model: base}, {model: ft}]
parameters:
  t: [{filter: self_attn, value: [0, 0.5, 0.3, 0.7, 1]}, {filter: mlp, value: [1, 0.5, 0.7, 0.3, 0]}, {value: 0.5}]
)");
    auto models = open_models(config, dir.path);
    const auto planned = plan_from_config(config, models.readers);
    const std::array<double, 9> attn{0, .25, .5, .4, .3, .5, .7, .85, 1};
    const std::array<double, 9> mlp{1, .75, .5, .6, .7, .5, .3, .15, 0};
    for (std::size_t i = 0; i < 9; ++i) {
        const std::string layer = "model.layers." + std::to_string(i) + ".";
        CHECK(std::stod(parameter(planned, layer + "self_attn.q_proj.weight", "t")) == Approx(attn[i]).margin(1e-15));
        CHECK(std::stod(parameter(planned, layer + "mlp.up_proj.weight", "t")) == Approx(mlp[i]).margin(1e-15));
        CHECK(parameter(planned, layer + "input_layernorm.weight", "t") == "0.5");
    }
    CHECK(parameter(planned, "model.embed_tokens.weight", "t") == "0.5");
    CHECK(parameter(planned, "lm_head.weight", "t") == "0.5");
    CHECK(planned.layer_count == 9);
    CHECK_FALSE(planned.sliced);
    // the base model's order, and the base first among the inputs
    CHECK(planned.plan.tasks.front().name == "model.embed_tokens.weight");
    CHECK(planned.plan.tasks.back().name == "lm_head.weight");
    CHECK(planned.tensors.front().inputs == std::vector<std::string>{"base:model.embed_tokens.weight", "ft:model.embed_tokens.weight"});
}

TEST_CASE("a filter with no match falls through from source to slice to top level", "[config][plan]") {
    blend::test::scratch_dir dir{"plan-fallthrough"};
    blend::test::write_tiny_model(dir.path / "a", 2, 1);
    blend::test::write_tiny_model(dir.path / "b", 2, 2);
    const auto config = parse_merge_config(R"(
merge_method: linear
slices:
  - sources:
      - model: a
        layer_range: [0, 2]
        parameters: {weight: [{filter: q_proj, value: 3}]}
      - model: b
        layer_range: [0, 2]
    parameters: {weight: [{filter: up_proj, value: 2}]}
parameters: {weight: 1}
)");
    auto models = open_models(config, dir.path);
    const auto planned = plan_from_config(config, models.readers);
    CHECK(parameter(planned, "model.layers.1.self_attn.q_proj.weight", "weight[a]") == "3");
    CHECK(parameter(planned, "model.layers.1.self_attn.q_proj.weight", "weight[b]") == "1");
    CHECK(parameter(planned, "model.layers.1.mlp.up_proj.weight", "weight[a]") == "2");
    CHECK(parameter(planned, "model.norm.weight", "weight[a]") == "1");
}

TEST_CASE("slices stack and renumber layers; embeddings from the first slice, the rest from the last", "[config][plan]") {
    blend::test::scratch_dir dir{"plan-slices"};
    blend::test::write_tiny_model(dir.path / "a", 3, 1);
    blend::test::write_tiny_model(dir.path / "b", 4, 2);
    const auto config = parse_merge_config(R"(
merge_method: passthrough
slices:
  - sources: [{model: a, layer_range: [0, 2]}]
  - sources: [{model: b, layer_range: [1, 4], parameters: {scale: 0.5}}]
)");
    auto models = open_models(config, dir.path);
    const auto planned = plan_from_config(config, models.readers);
    CHECK(planned.sliced);
    CHECK(planned.layer_count == 5);
    REQUIRE(planned.plan.tasks.size() == 1 + 5 * 3 + 2);
    const auto& tasks = planned.plan.tasks;
    CHECK(tasks[0].name == "model.embed_tokens.weight");
    CHECK(tasks[0].inputs[0].model == 0);
    CHECK(tasks[1].name == "model.layers.0.input_layernorm.weight");
    CHECK(tasks[7].name == "model.layers.2.input_layernorm.weight");
    CHECK(tasks[7].inputs[0].model == 1);
    CHECK(tasks[7].inputs[0].tensor == "model.layers.1.input_layernorm.weight");
    CHECK(tasks[13].name == "model.layers.4.input_layernorm.weight");
    CHECK(tasks[13].inputs[0].tensor == "model.layers.3.input_layernorm.weight");
    CHECK(tasks[16].name == "model.norm.weight");
    CHECK(tasks[16].inputs[0].model == 1);
    CHECK(parameter(planned, "model.layers.3.mlp.up_proj.weight", "scale[b]") == "0.5");
    CHECK(parameter(planned, "model.layers.1.mlp.up_proj.weight", "scale[a]") == "1");
}

TEST_CASE("a streamed config merge equals the in-memory library methods", "[config][plan]") {
    blend::test::scratch_dir dir{"plan-equal"};
    for (std::uint64_t m = 0; m < 3; ++m) blend::test::write_tiny_model(dir.path / ("m" + std::to_string(m)), 2, m + 1);
    const auto config = parse_merge_config(R"(
merge_method: ties
base_model: m0
models:
  - {model: m1, parameters: {weight: 1.0, density: 0.5}}
  - {model: m2, parameters: {weight: [0.2, 0.8], density: 0.7}}
parameters: {lambda: 0.9}
)");
    auto models = open_models(config, dir.path);
    const auto planned = plan_from_config(config, models.readers);
    (void)write_merged_model(models.readers, planned.plan, dir.path / "m0", dir.path / "out");
    const blend::io::model_reader out{dir.path / "out"};
    REQUIRE(out.tensor_names().size() == planned.plan.tasks.size());
    for (const std::string& name : out.tensor_names()) {
        const auto position = blend::config::find_layer(name);
        const double t = position ? static_cast<double>(position->index) : 0.0;  // 2 layers: t = index
        const std::array<double, 2> weights{1.0, 0.2 + 0.6 * t};
        const std::array<double, 2> densities{0.5, 0.7};
        const std::array<blend::any_tensor_view, 2> others{models.readers[1]->view(name), models.readers[2]->view(name)};
        const auto base = models.readers[0]->view(name);
        std::vector<std::byte> expected(base.bytes.size());
        blend::merge::task_arithmetic_into(base, others, blend::any_mutable_tensor_view{base.type, base.shape, expected},
                                           {.method = blend::merge::task_method::ties, .weights = weights, .densities = densities,
                                            .lambda = 0.9, .tensor_name = name});
        const auto got = out.view(name);
        CHECK(std::equal(got.bytes.begin(), got.bytes.end(), expected.begin(), expected.end()));
    }
}

TEST_CASE("planning errors name the slice, model, tensor and value", "[config][plan]") {
    blend::test::scratch_dir dir{"plan-errors"};
    blend::test::write_tiny_model(dir.path / "a", 3, 1);
    blend::test::write_tiny_model(dir.path / "b", 2, 2);
    const auto fails = [&](const std::string& text, const std::string& message) {
        const auto config = parse_merge_config(text);
        auto models = open_models(config, dir.path);
        CHECK_THROWS_WITH(plan_from_config(config, models.readers), message);
    };
    fails("merge_method: linear\nparameters: {weight: 1}\nmodels: [{model: a}, {model: b}]\n",
          "slices[0]: sources differ in length: 'a' gives 3 layers, 'b' gives 2");
    fails("merge_method: ties\nparameters: {weight: 1}\nmodels: [{model: a}, {model: b}]\n", "base_model: required by merge_method ties");
    fails("merge_method: frobnicate\nmodels: [{model: a}]\n", "merge_method: unknown method 'frobnicate'");
    fails("merge_method: linear\nparameters: {weight: 1, normalize: maybe}\nslices: [{sources: [{model: a, layer_range: [0, 2]}, {model: b}]}]\n",
          "tensor 'model.embed_tokens.weight': parameter 'normalize' must be true or false, got 'maybe'");
    fails("merge_method: slerp\nbase_model: b\nparameters: {t: 0.5}\nslices: [{sources: [{model: a, layer_range: [0, 2]}]}]\n",
          "slices[0]: base_model 'b' is not one of the slice's sources");
}

TEST_CASE("embeddings of different vocabulary sizes are cropped: to the base for ties, to the fewest rows otherwise",
          "[config][plan]") {
    blend::test::scratch_dir dir{"plan-vocab"};
    blend::test::write_tiny_model(dir.path / "small", 2, 1, 6);
    blend::test::write_tiny_model(dir.path / "large", 2, 2, 9);
    const auto run = [&](const std::string& text) {
        const auto config = parse_merge_config(text);
        auto models = open_models(config, dir.path);
        const auto planned = plan_from_config(config, models.readers);
        const std::string out = (dir.path / ("out" + std::to_string(planned.plan.tasks.size() + text.size()))).string();
        (void)write_merged_model(models.readers, planned.plan, dir.path / "small", out);
        return std::make_pair(blend::io::model_reader{out}, std::move(models));
    };
    const auto [linear, linear_models] = run("merge_method: linear\nmodels: [{model: large, parameters: {weight: 1}}, {model: small, parameters: {weight: 3}}]\n");
    const auto embed = linear.view("lm_head.weight");
    REQUIRE(embed.shape == blend::shape_type{6, 4});
    const auto got = std::span(reinterpret_cast<const float*>(embed.bytes.data()), 24);
    const std::size_t lm_head = blend::test::tiny_layout(2).size() - 1;
    for (std::size_t i = 0; i < 24; ++i) {
        const double expected = (blend::test::tiny_value(2, lm_head, i) + 3.0 * blend::test::tiny_value(1, lm_head, i)) / 4.0;
        CHECK(got[i] == Approx(expected).epsilon(1e-6));
    }
    const auto [ties, ties_models] = run("merge_method: ties\nbase_model: small\nparameters: {weight: 1}\nmodels: [{model: large}]\n");
    CHECK(ties.find("model.embed_tokens.weight")->shape == blend::shape_type{6, 4});
    const auto config = parse_merge_config("merge_method: ties\nbase_model: large\nparameters: {weight: 1}\nmodels: [{model: small}]\n");
    auto models = open_models(config, dir.path);
    CHECK_THROWS_AS(plan_from_config(config, models.readers), blend::shape_error);
}

namespace {

std::vector<double> as_doubles(const blend::any_tensor_view& v) {
    std::vector<double> out(blend::shape_size(v.shape));
    blend::convert_bytes(v.type, v.bytes.data(), blend::dtype::f64, reinterpret_cast<std::byte*>(out.data()), out.size());
    return out;
}

}  // namespace

TEST_CASE("every example config, planned and run in memory, equals the independent float64 reference", "[config][plan]") {
    // The fixtures of tests/merge_cli/ (make_fixtures.py): tiny models and merge_reference.py's results.
    const fs::path data = "merge_cli/data";
    std::size_t compared = 0;
    for (const auto& entry : fs::directory_iterator("../examples/configs")) {
        const std::string name = entry.path().stem().string();
        const fs::path reference_file = data / "reference" / (name + ".safetensors");
        if (!fs::exists(reference_file)) continue;  // random methods: no shared masks
        std::ifstream in{entry.path()};
        const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        const auto config = parse_merge_config(text, entry.path().string());
        auto models = open_models(config, data);
        const auto planned = plan_from_config(config, models.readers);
        const blend::io::model_reader reference{reference_file};
        REQUIRE(reference.tensor_names().size() == planned.plan.tasks.size());
        for (std::size_t k = 0; k < planned.plan.tasks.size(); ++k) {
            const auto& task = planned.plan.tasks[k];
            CHECK(reference.tensor_names()[k] == task.name);
            std::vector<blend::any_tensor_view> inputs;
            for (const auto& source : task.inputs) inputs.push_back(models.readers[source.model]->view(source.tensor));
            std::vector<std::byte> buffer(blend::shape_size(task.shape) * blend::size_of(task.type));
            task.produce(inputs, blend::any_mutable_tensor_view{task.type, task.shape, buffer});
            const auto expected_view = reference.view(task.name);
            REQUIRE(expected_view.shape == task.shape);
            const auto got = as_doubles(blend::any_tensor_view{task.type, task.shape, buffer});
            const auto expected = as_doubles(expected_view);
            // bf16 outputs within 1 bf16 ulp of the rounded reference; float32 within 2^-21 (1 + |x|): a few
            // float32 ulps of the inputs (|x| ~ 0.5), as differences of nearly equal values lose relative precision
            const bool bf16 = task.type == blend::dtype::bf16;
            std::size_t off = 0;
            for (std::size_t i = 0; i < got.size(); ++i) {
                const double bound = bf16 ? std::abs(expected[i]) / 128 : (1 + std::abs(expected[i])) / (1 << 21);
                off += std::abs(got[i] - expected[i]) > bound;
            }
            INFO(name << " " << task.name);
            CHECK(off == 0);
            ++compared;
        }
    }
    CHECK(compared > 300);
}
