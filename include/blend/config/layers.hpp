#pragma once
/// @file blend/config/layers.hpp
/// Where a tensor sits in a transformer, read from its name (CLI.md): the layer index is the number in
/// the first `layers.<i>.`, `h.<i>.` or `blocks.<i>.` (at the start of the name or after a `.`);
/// tensors without one are outside the layers — "before" them when the name contains `embed`, `wte` or
/// `wpe` (embeddings), else "after" them (final norm, lm_head, …), as mergekit's architectures place
/// them.

#include <blend/io/safetensors_reader.hpp>

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace blend::config {

/// The layer index of a tensor name and where its digits are.
struct layer_position {
    std::size_t index = 0;
    std::size_t digits_begin = 0;  ///< offset of the index's first digit in the name
    std::size_t digits_end = 0;    ///< one past its last digit
};

/// The layer of the tensor named `name`, or empty for a tensor outside the layers.
[[nodiscard]] inline std::optional<layer_position> find_layer(std::string_view name) noexcept {
    static constexpr std::array<std::string_view, 3> markers{"layers.", "h.", "blocks."};
    std::optional<layer_position> best;
    for (std::string_view marker : markers) {
        for (std::size_t at = name.find(marker); at != std::string_view::npos; at = name.find(marker, at + 1)) {
            if (at != 0 && name[at - 1] != '.') continue;
            std::size_t end = at + marker.size();
            std::size_t index = 0;
            const std::size_t begin = end;
            while (end < name.size() && name[end] >= '0' && name[end] <= '9' && end - begin < 9) {
                index = index * 10 + static_cast<std::size_t>(name[end] - '0');
                ++end;
            }
            if (end == begin || end >= name.size() || name[end] != '.') continue;
            if (!best || begin < best->digits_begin) best = layer_position{index, begin, end};
            break;
        }
    }
    return best;
}

/// `name` with its layer index (at `where`) replaced by `index`.
[[nodiscard]] inline std::string with_layer(std::string_view name, const layer_position& where, std::size_t index) {
    std::string out{name.substr(0, where.digits_begin)};
    out += std::to_string(index);
    out += name.substr(where.digits_end);
    return out;
}

/// Whether a tensor outside the layers comes before them (embeddings: `embed`, `wte`, `wpe`).
[[nodiscard]] inline bool is_before_layers(std::string_view name) noexcept {
    return name.find("embed") != std::string_view::npos || name.find("wte") != std::string_view::npos ||
           name.find("wpe") != std::string_view::npos;
}

/// Whether a tensor is a vocabulary-sized embedding (CLI.md: the name contains `embed_tokens`, `wte`,
/// `word_embeddings` or `lm_head`), whose rows may differ between models.
[[nodiscard]] inline bool is_embedding(std::string_view name) noexcept {
    return name.find("embed_tokens") != std::string_view::npos || name.find("wte") != std::string_view::npos ||
           name.find("word_embeddings") != std::string_view::npos || name.find("lm_head") != std::string_view::npos;
}

/// A model's tensors by position: layer index → names (in the model's order), and the names outside
/// the layers (in the model's order).
struct layer_index {
    std::map<std::size_t, std::vector<std::string>> layers;
    std::vector<std::string> outside;

    /// Number of layers: the largest index + 1 (0 without layers).
    [[nodiscard]] std::size_t layer_count() const noexcept { return layers.empty() ? 0 : layers.rbegin()->first + 1; }
};

/// Indexes the tensor names of `model` (see `layer_index`).
[[nodiscard]] inline layer_index index_layers(const io::model_reader& model) {
    layer_index out;
    for (const std::string& name : model.tensor_names()) {
        if (const auto where = find_layer(name)) {
            out.layers[where->index].push_back(name);
        } else {
            out.outside.push_back(name);
        }
    }
    return out;
}

}  // namespace blend::config
