// Tests for blend/config/methods.hpp: every mergekit method name is known with its base rule and
// parameters, values are type-checked, and the built per-tensor function runs the library method.
#include <blend/config/methods.hpp>

#include "support/catch.hpp"

#include <array>

using namespace blend::config;

TEST_CASE("every mergekit method name resolves, others are config errors", "[config][methods]") {
    for (const char* name : {"linear", "task_arithmetic", "ties", "dare_linear", "dare_ties", "breadcrumbs", "breadcrumbs_ties", "della",
                             "della_linear", "slerp", "nuslerp", "multislerp", "karcher", "model_stock", "sce", "nearswap", "ram",
                             "ramplus_tl", "arcee_fusion", "passthrough"}) {
        CHECK(find_method(name).name == name);
    }
    CHECK(find_method("ties").base == base_use::required);
    CHECK(find_method("karcher").base == base_use::input);
    CHECK(find_method("nuslerp").base == base_use::optional);
    CHECK(find_method("linear").per_model.front().required);
    CHECK_THROWS_WITH(find_method("Linear"), "merge_method: unknown method 'Linear'");
}

TEST_CASE("the per-tensor function runs the method with the resolved parameters", "[config][methods]") {
    const std::array<float, 3> a{1, 2, 3}, b{3, 2, 1};
    std::array<float, 3> out{};
    const std::array inputs{blend::any_tensor_view{blend::dtype::f32, {3}, std::as_bytes(std::span{a})},
                            blend::any_tensor_view{blend::dtype::f32, {3}, std::as_bytes(std::span{b})}};
    const blend::any_mutable_tensor_view out_view{blend::dtype::f32, {3}, std::as_writable_bytes(std::span{out})};
    resolved_parameters p;
    p.shared.emplace("normalize", scalar{"true"});
    p.per_model = {{{"weight", scalar{1.0}}}, {{"weight", scalar{"3"}}}};
    make_tensor_function(find_method("linear"), p, "x")(inputs, out_view);
    CHECK(out == std::array<float, 3>{2.5f, 2.0f, 1.5f});
    p.per_model[1]["weight"] = scalar{-1.0};
    CHECK_THROWS_WITH(make_tensor_function(find_method("linear"), p, "x"),
                      Catch::Matchers::StartsWith("tensor 'x': linear: weights sum to zero"));
    resolved_parameters q;
    q.shared.emplace("t", scalar{false});
    CHECK_THROWS_WITH(make_tensor_function(find_method("slerp"), q, "x", {.has_base = true}), "tensor 'x': parameter 't' must be a number, got 'false'");
    resolved_parameters r;
    r.shared = {{"lambda", scalar{1.0}}, {"rescale", scalar{"sometimes"}}};
    CHECK_THROWS_WITH(make_tensor_function(find_method("ties"), r, "x", {.has_base = true}),
                      "tensor 'x': parameter 'rescale' must be true, false, l1, inverse_density or none, got 'sometimes'");
}
