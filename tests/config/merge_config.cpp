// Tests for blend/config/merge_config.hpp: parameter values (scalars, gradients, {filter, value} lists),
// lookup with fall-through and precedence, the models → slice normalisation and the model list.
#include <blend/config/merge_config.hpp>

#include "support/catch.hpp"

#include <array>
#include <vector>

namespace {

using namespace blend::config;

double number(const std::optional<scalar>& s) {
    REQUIRE(s.has_value());
    REQUIRE(std::holds_alternative<double>(*s));
    return std::get<double>(*s);
}

/// CLI.md's example: t = [{filter: self_attn, value: [0, .5, .3, .7, 1]}, {filter: mlp, value: [1, .5, .7, .3, 0]}, {value: .5}]
parameter_value cli_md_example() {
    parameter_value v;
    v.entries.push_back({"self_attn", {0.0, 0.5, 0.3, 0.7, 1.0}, true});
    v.entries.push_back({"mlp", {1.0, 0.5, 0.7, 0.3, 0.0}, true});
    v.entries.push_back({{}, {0.5}, false});
    return v;
}

}  // namespace

TEST_CASE("CLI.md's gradient-and-filter example gives its values on 9 layers", "[config][parameters]") {
    const parameter_value t = cli_md_example();
    const std::array<double, 9> attn{0, .25, .5, .4, .3, .5, .7, .85, 1};
    const std::array<double, 9> mlp{1, .75, .5, .6, .7, .5, .3, .15, 0};
    for (std::size_t i = 0; i < 9; ++i) {
        const double pos = static_cast<double>(i) / 8.0;
        const std::string layer = "model.layers." + std::to_string(i) + ".";
        CHECK(number(evaluate(t, layer + "self_attn.q_proj.weight", pos)) == Approx(attn[i]).margin(1e-15));
        CHECK(number(evaluate(t, layer + "mlp.up_proj.weight", pos)) == Approx(mlp[i]).margin(1e-15));
        CHECK(number(evaluate(t, layer + "input_layernorm.weight", pos)) == 0.5);
    }
}

TEST_CASE("a gradient interpolates piecewise-linearly and a discrete list picks floor(t (n - 1))", "[config][parameters]") {
    const auto g = parameter_value::gradient({0.0, 1.0, 3.0});
    CHECK(number(evaluate(g, "x", 0.0)) == 0.0);
    CHECK(number(evaluate(g, "x", 0.25)) == 0.5);
    CHECK(number(evaluate(g, "x", 0.75)) == 2.0);
    CHECK(number(evaluate(g, "x", 1.0)) == 3.0);
    parameter_value flags{{{{}, {true, false}, true}}};
    CHECK(std::get<bool>(*evaluate(flags, "x", 0.9)) == true);
    CHECK(std::get<bool>(*evaluate(flags, "x", 1.0)) == false);
    parameter_value empty{{{{}, {}, true}}};
    CHECK_FALSE(evaluate(empty, "x", 0.5).has_value());
}

TEST_CASE("a filter list with no match falls through to the next level", "[config][parameters]") {
    parameter_map source{{"weight", parameter_value{{{"self_attn", {2.0}, false}}}}};
    parameter_map slice{{"weight", parameter_value{{{"mlp", {3.0}, false}, {"*", {4.0}, false}}}}};
    parameter_map top{{"weight", parameter_value::of(5.0)}, {"density", parameter_value::of(0.5)}};
    const std::array<const parameter_map*, 3> levels{&source, &slice, &top};
    CHECK(number(resolve_parameter(levels, "weight", "layers.0.self_attn.q", 0)) == 2.0);  // source wins
    CHECK(number(resolve_parameter(levels, "weight", "layers.0.mlp.up", 0)) == 3.0);       // source has no match
    CHECK(number(resolve_parameter(levels, "weight", "model.norm.weight", 0)) == 4.0);     // "*" matches all
    CHECK(number(resolve_parameter(levels, "density", "model.norm.weight", 0)) == 0.5);    // only at the top
    CHECK_FALSE(resolve_parameter(levels, "gamma", "model.norm.weight", 0).has_value());
    parameter_map only_filters{{"weight", parameter_value{{{"self_attn", {2.0}, false}}}}};
    const std::array<const parameter_map*, 1> one{&only_filters};
    CHECK_FALSE(resolve_parameter(one, "weight", "lm_head.weight", 0).has_value());
}

TEST_CASE("the models form is one slice, with the base appended when used and not listed", "[config][parameters]") {
    merge_config c{.merge_method = "ties", .models = {{"a", {{"weight", parameter_value::of(1.0)}}}, {"b", {}}}, .base_model = "base"};
    const auto with = normalized_slices(c, {.append_base = true});
    REQUIRE(with.size() == 1);
    REQUIRE(with[0].sources.size() == 3);
    CHECK(with[0].sources[2].model == "base");
    CHECK(with[0].sources[0].parameters.count("weight") == 1);
    CHECK(normalized_slices(c)[0].sources.size() == 2);
    CHECK(referenced_models(c) == std::vector<std::string>{"base", "a", "b"});
    c.models.push_back({"base", {}});
    CHECK(normalized_slices(c, {.append_base = true})[0].sources.size() == 3);
    CHECK(to_string(scalar{0.1}) == "0.1");
    CHECK(to_string(scalar{true}) == "true");
}
