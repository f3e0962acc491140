// Tests for blend/config/layers.hpp: layer indices read from tensor names, renumbering, and the
// before/after classification of tensors outside the layers.
#include <blend/config/layers.hpp>

#include "support/catch.hpp"

using namespace blend::config;

TEST_CASE("layer indices come from layers.<i>., h.<i>. and blocks.<i>.", "[config][layers]") {
    CHECK(find_layer("model.layers.12.mlp.up_proj.weight")->index == 12);
    CHECK(find_layer("transformer.h.3.attn.c_attn.weight")->index == 3);
    CHECK(find_layer("blocks.0.attn.weight")->index == 0);
    CHECK_FALSE(find_layer("model.embed_tokens.weight").has_value());
    CHECK_FALSE(find_layer("model.norm.weight").has_value());
    CHECK_FALSE(find_layer("model.xlayers.1.w").has_value());   // not after a '.'
    CHECK_FALSE(find_layer("model.layers.x.w").has_value());    // no digits
    CHECK_FALSE(find_layer("model.layers.7").has_value());      // no '.' after the digits
    const auto where = *find_layer("model.layers.12.mlp.up_proj.weight");
    CHECK(with_layer("model.layers.12.mlp.up_proj.weight", where, 3) == "model.layers.3.mlp.up_proj.weight");
    CHECK(with_layer("model.layers.12.mlp.up_proj.weight", where, 105) == "model.layers.105.mlp.up_proj.weight");
}

TEST_CASE("embeddings come before the layers, everything else outside them after", "[config][layers]") {
    CHECK(is_before_layers("model.embed_tokens.weight"));
    CHECK(is_before_layers("transformer.wte.weight"));
    CHECK(is_before_layers("transformer.wpe.weight"));
    CHECK_FALSE(is_before_layers("model.norm.weight"));
    CHECK_FALSE(is_before_layers("lm_head.weight"));
}
