#pragma once
/// @file tests/config/tiny_models.hpp
/// Tiny Llama-shaped float32 models written to a scratch directory for the config tests: embed_tokens,
/// `layers` layers of (input_layernorm, self_attn.q_proj, mlp.up_proj), norm and lm_head, values from
/// blend's seeded generator (a different stream per model), optionally with a config.json.

#include <blend/core/random.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/io/safetensors_writer.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace blend::test {

struct tiny_tensor {
    std::string name;
    shape_type shape;
};

inline std::vector<tiny_tensor> tiny_layout(std::size_t layers, std::size_t vocab = 6) {
    std::vector<tiny_tensor> out{{"model.embed_tokens.weight", {vocab, 4}}};
    for (std::size_t i = 0; i < layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        out.push_back({p + "input_layernorm.weight", {4}});
        out.push_back({p + "self_attn.q_proj.weight", {4, 4}});
        out.push_back({p + "mlp.up_proj.weight", {5, 4}});
    }
    out.push_back({"model.norm.weight", {4}});
    out.push_back({"lm_head.weight", {vocab, 4}});
    return out;
}

/// The value of entry `i` of tensor `t` of model `seed`.
inline float tiny_value(std::uint64_t seed, std::size_t t, std::size_t i) {
    return random_stream{seed, t}.uniform_float(i) * 2.f - 1.f;
}

/// Writes a tiny model with `layers` layers and `vocab` embedding rows to `dir` (created) and a config.json with num_hidden_layers.
inline void write_tiny_model(const std::filesystem::path& dir, std::size_t layers, std::uint64_t seed, std::size_t vocab = 6) {
    const auto layout = tiny_layout(layers, vocab);
    std::vector<io::tensor_spec> specs;
    for (const auto& t : layout) specs.push_back({t.name, dtype::f32, t.shape});
    auto writer = io::safetensors_writer::to_directory(dir, specs);
    for (std::size_t t = 0; t < layout.size(); ++t) {
        std::vector<float> values(shape_size(layout[t].shape));
        for (std::size_t i = 0; i < values.size(); ++i) values[i] = tiny_value(seed, t, i);
        writer.write(t, std::as_bytes(std::span{values}));
    }
    (void)writer.commit();
    std::ofstream{dir / "config.json"} << "{\"model_type\": \"llama\", \"num_hidden_layers\": " << layers << ", \"hidden_size\": 4}";
}

}  // namespace blend::test
