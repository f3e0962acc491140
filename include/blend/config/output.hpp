#pragma once
/// @file blend/config/output.hpp
/// The output-directory job of a merge (CLI.md): runs a plan into OUT_DIR atomically and places the
/// reference model's side files beside the weights.
///
/// Order of the final renames: the shards, then `config.json`, `generation_config.json` and the
/// tokenizer files (`tokenizer.json`, `tokenizer.model`, `tokenizer_config.json`,
/// `special_tokens_map.json`, `vocab.json`, `merges.txt`, `added_tokens.json`) copied from the
/// reference model's directory when present, then `model.safetensors.index.json` last. Everything is
/// written under `.blend-tmp-*` names first (blend/io/atomic_file.hpp); an exception removes them all
/// (the writer also removes shards it already renamed). The side files are read and staged before any
/// tensor is computed, so a bad `config.json` fails fast.
/// `layer_count` rewrites the layer count in `config.json` (`num_hidden_layers`, else `n_layer`, else
/// `num_layers` — the first key present), keeping the other keys in their order, written with two-space
/// indentation and a final newline; without it `config.json` is copied byte for byte.
/// `replace_existing` (`--force`) removes OUT_DIR's `model*.safetensors` and
/// `model.safetensors.index.json` after the merge succeeded, just before the final renames.

#include <blend/core/error.hpp>
#include <blend/io/atomic_file.hpp>
#include <blend/io/safetensors_reader.hpp>
#include <blend/io/safetensors_writer.hpp>
#include <blend/merge/engine.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace blend::config {

/// Side files copied from the reference model (CLI.md), in the order they are renamed.
inline constexpr std::array<std::string_view, 9> side_files{
    "config.json",      "generation_config.json", "tokenizer.json", "tokenizer.model",  "tokenizer_config.json",
    "special_tokens_map.json", "vocab.json",      "merges.txt",     "added_tokens.json"};

/// Options of `write_merged_model`.
struct output_options {
    io::writer_options writer{};            ///< shard size (`--out-shard-size`) and metadata
    merge::engine_options engine{};         ///< memory budget, progress callback
    std::optional<std::size_t> layer_count{};  ///< rewrite config.json's layer count (slice merges)
    bool replace_existing = false;          ///< `--force` (see the file comment)
};

/// `config.json`'s text with its layer count set to `layers` (see the file comment). Throws `io_error`
/// naming `source` for invalid JSON.
[[nodiscard]] inline std::string with_layer_count(std::string_view text, std::size_t layers, std::string_view source) {
    nlohmann::ordered_json json;
    try {
        json = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw io_error{fmt::format("{}: invalid JSON: {}", source, e.what())};
    }
    if (!json.is_object()) throw io_error{fmt::format("{}: not a JSON object", source)};
    for (const char* key : {"num_hidden_layers", "n_layer", "num_layers"}) {
        if (json.contains(key)) {
            json[key] = layers;
            break;
        }
    }
    return json.dump(2) + "\n";
}

/// Runs `plan` on `models` into the directory `out_dir` with the side files of `reference_dir` (see the
/// file comment). Returns the final paths (shards, side files, index). Throws what the engine throws,
/// and `io_error` for unreadable side files or failed writes.
inline std::vector<std::filesystem::path> write_merged_model(std::span<const io::model_reader* const> models, const merge::merge_plan& plan,
                                                             const std::filesystem::path& reference_dir,
                                                             const std::filesystem::path& out_dir, const output_options& options = {}) {
    auto writer = io::safetensors_writer::to_directory(out_dir, merge::output_specs(plan), options.writer);
    std::vector<io::temp_file> staged;
    std::error_code ec;
    for (std::string_view name : side_files) {
        const auto source = reference_dir / name;
        if (!std::filesystem::is_regular_file(source, ec)) continue;
        std::ifstream in{source, std::ios::binary};
        std::ostringstream text;
        text << in.rdbuf();
        if (!in.good() && !in.eof()) throw io_error{fmt::format("{}: cannot read", source.string())};
        std::string content = text.str();
        if (name == "config.json" && options.layer_count) content = with_layer_count(content, *options.layer_count, source.string());
        staged.emplace_back(out_dir / name);
        staged.back().write_at(0, std::as_bytes(std::span{content.data(), content.size()}));
    }
    merge::run_plan(models, plan, writer, options.engine);
    if (options.replace_existing) {
        for (const auto& entry : std::filesystem::directory_iterator(out_dir, ec)) {
            const std::string file = entry.path().filename().string();
            const bool weights = file.rfind("model", 0) == 0 && file.size() > 12 && file.ends_with(".safetensors");
            if (weights || file == "model.safetensors.index.json") std::filesystem::remove(entry.path(), ec);
        }
    }
    writer.commit_shards();
    std::vector<std::filesystem::path> paths;
    for (std::size_t s = 0; s < writer.shard_count(); ++s) paths.push_back(writer.shard_path(s));
    for (auto& file : staged) {
        file.commit();
        paths.push_back(file.final_path());
    }
    if (!writer.index_path().empty()) paths.push_back(writer.index_path());
    (void)writer.commit();
    return paths;
}

}  // namespace blend::config
