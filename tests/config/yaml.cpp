// Tests for blend/config/yaml.hpp: mergekit YAML → merge_config, and one-line config_errors naming the
// key path and value for everything else.
#include <blend/config/yaml.hpp>

#include "support/catch.hpp"

#include <string>

namespace {

using namespace blend::config;

std::string error_of(const std::string& text) {
    try {
        (void)parse_merge_config(text, "c.yml");
    } catch (const blend::config_error& e) {
        const std::string what = e.what();
        CHECK(what.find('\n') == std::string::npos);
        return what;
    }
    FAIL("no config_error for:\n" << text);
    return {};
}

}  // namespace

TEST_CASE("a slices config with parameters at every level parses", "[config][yaml]") {
    const auto c = parse_merge_config(R"(
slices:
  - sources:
      - model: org/a
        layer_range: [0, 4]
        parameters: {weight: [1, 2.5]}
      - model: ./b
        layer_range: [2, 6]
    base_model: org/a
    parameters:
      t:
        - filter: self_attn
          value: [0, 0.5, 1]
        - value: 0.25
merge_method: slerp
base_model: org/a
parameters:
  normalize: yes
  rescale: l1
  consensus: "count"
  lambda: 1e-1
dtype: bfloat16
out_dtype: float16
)");
    CHECK(c.merge_method == "slerp");
    REQUIRE(c.slices.size() == 1);
    const auto& s = c.slices[0];
    REQUIRE(s.sources.size() == 2);
    CHECK(s.sources[1].model == "./b");
    CHECK(s.sources[1].layers->begin == 2);
    CHECK(s.sources[1].layers->end == 6);
    CHECK(s.base_model == "org/a");
    const auto& w = s.sources[0].parameters.at("weight").entries.at(0);
    CHECK(w.is_list);
    CHECK(std::get<double>(w.values.at(1)) == 2.5);
    const auto& t = s.parameters.at("t").entries;
    REQUIRE(t.size() == 2);
    CHECK(t[0].filter == "self_attn");
    CHECK_FALSE(t[1].filter.has_value());
    CHECK(std::get<bool>(c.parameters.at("normalize").entries[0].values[0]) == true);
    CHECK(std::get<std::string>(c.parameters.at("rescale").entries[0].values[0]) == "l1");
    CHECK(std::get<std::string>(c.parameters.at("consensus").entries[0].values[0]) == "count");
    CHECK(std::get<double>(c.parameters.at("lambda").entries[0].values[0]) == 0.1);
    CHECK(c.dtype == blend::dtype::bf16);
    CHECK(c.out_dtype == blend::dtype::f16);
}

TEST_CASE("a models config parses, quoted numbers stay strings and null falls through", "[config][yaml]") {
    const auto c = parse_merge_config("merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: '0.5', density: ~}\n  - model: b\n");
    REQUIRE(c.models.size() == 2);
    CHECK(std::get<std::string>(c.models[0].parameters.at("weight").entries[0].values[0]) == "0.5");
    CHECK(c.models[0].parameters.at("density").entries[0].values.empty());
    CHECK(c.models[1].parameters.empty());
    CHECK_FALSE(c.base_model.has_value());
}

TEST_CASE("every problem is a config_error naming the key path and value", "[config][yaml]") {
    const std::string head = "merge_method: linear\nmodels:\n  - model: a\n";
    CHECK(error_of(head + "bogus: 1\n") == "c.yml: bogus: unknown key");
    CHECK(error_of(head + "parameters: {wieght: 1}\n") == "c.yml: parameters.wieght: unknown parameter");
    CHECK(error_of("merge_method: linear\nmodels:\n  - model: a\n    extra: 2\n") == "c.yml: models[0].extra: unknown key");
    CHECK(error_of("merge_method: linear\nslices:\n  - sources:\n      - {model: a, layer_range: [3, 1]}\n") ==
          "c.yml: slices[0].sources[0].layer_range: empty layer range [3, 1)");
    CHECK(error_of("merge_method: linear\nslices:\n  - sources:\n      - {model: a, layer_range: [x, 1]}\n")
              .find("slices[0].sources[0].layer_range: expected non-negative integer layer indices, got 'x'") != std::string::npos);
    CHECK(error_of(head + "dtype: int4\n") == "c.yml: dtype: unknown dtype 'int4' (float32, float16, bfloat16 or float64)");
    CHECK(error_of(head + "tokenizer_source: base\n") == "c.yml: tokenizer_source: not supported yet");
    CHECK(error_of(head + "modules: {}\n") == "c.yml: modules: not supported yet");
    CHECK(error_of("merge_method: linear\nmodels:\n  - model: a+lora\n") ==
          "c.yml: models[0].model: LoRA reference 'a+lora' is not supported yet");
    CHECK(error_of("models:\n  - model: a\n") == "c.yml: merge_method: missing (required)");
    CHECK(error_of("merge_method: linear\n") == "c.yml: (top level): exactly one of 'models' and 'slices' is required");
    CHECK(error_of(head + "slices: [{sources: [{model: a}]}]\n") == "c.yml: (top level): exactly one of 'models' and 'slices' is required");
    CHECK(error_of(head + "parameters: {t: [[1]]}\n") == "c.yml: parameters.t[0]: expected a number, got a list");
    CHECK(error_of(head + "parameters: {t: {filter: x}}\n") == "c.yml: parameters.t: a {filter, value} entry needs 'value'");
    CHECK(error_of("merge_method: [\n").find("c.yml:2:1: YAML syntax error") == 0);
    CHECK(error_of("- 1\n- 2\n") == "c.yml: (top level): expected a mapping at the top level, got a list");
    CHECK(error_of("a: &x [*x]\n").find("c.yml") == 0);
}
