#pragma once
/// @file blend/config/model_ref.hpp
/// Model references of a merge config → local paths (CLI.md): a path (a `.safetensors` file, or a
/// directory holding `model.safetensors` or `model.safetensors.index.json`), else a Hugging Face id
/// `org/name` found in the local Hugging Face cache — never downloaded.
///
/// The cache is `$HF_HOME/hub` when HF_HOME is set, else `~/.cache/huggingface/hub` (huggingface_hub's
/// layout: `models--org--name/snapshots/<revision>/`). The revision is the one `refs/main` names when
/// that file exists (what `from_pretrained` loads), else the only snapshot, else the most recently
/// modified one.

#include <blend/core/error.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace blend::config {

/// Options of `resolve_model_reference`.
struct model_ref_options {
    /// The hub cache directory; empty: `$HF_HOME/hub`, else `$HOME/.cache/huggingface/hub`.
    std::filesystem::path hub_cache{};
};

/// The hub cache directory `resolve_model_reference` searches (see the file comment).
[[nodiscard]] inline std::filesystem::path default_hub_cache() {
    if (const char* hf_home = std::getenv("HF_HOME"); hf_home != nullptr && *hf_home != '\0') {
        return std::filesystem::path{hf_home} / "hub";
    }
    const char* home = std::getenv("HOME");
    return std::filesystem::path{home != nullptr ? home : "."} / ".cache" / "huggingface" / "hub";
}

/// The local path of the model reference `ref` (see the file comment). Throws `io_error` naming the
/// reference and the cache searched when it is neither an existing path nor a cached Hugging Face id.
[[nodiscard]] inline std::filesystem::path resolve_model_reference(std::string_view ref, const model_ref_options& options = {}) {
    std::error_code ec;
    const std::filesystem::path as_path{ref};
    if (std::filesystem::exists(as_path, ec)) return as_path;
    const std::filesystem::path cache = options.hub_cache.empty() ? default_hub_cache() : options.hub_cache;
    const auto slash = ref.find('/');
    const bool hub_id = slash != std::string_view::npos && slash > 0 && ref.find('/', slash + 1) == std::string_view::npos &&
                        slash + 1 < ref.size() && ref.front() != '.' && ref.find("..") == std::string_view::npos;
    if (hub_id) {
        const auto repo = cache / fmt::format("models--{}--{}", ref.substr(0, slash), ref.substr(slash + 1));
        const auto snapshots = repo / "snapshots";
        std::optional<std::filesystem::path> chosen;
        if (std::ifstream main{repo / "refs" / "main"}; main) {
            std::string revision;
            std::getline(main, revision);
            if (!revision.empty() && std::filesystem::is_directory(snapshots / revision, ec)) chosen = snapshots / revision;
        }
        if (!chosen && std::filesystem::is_directory(snapshots, ec)) {
            std::filesystem::file_time_type newest{};
            for (const auto& entry : std::filesystem::directory_iterator(snapshots, ec)) {
                if (!entry.is_directory(ec)) continue;
                const auto time = entry.last_write_time(ec);
                if (!chosen || time > newest) {
                    chosen = entry.path();
                    newest = time;
                }
            }
        }
        if (chosen) return *chosen;
    }
    throw io_error{fmt::format("model '{}': no such file or directory{}", ref,
                               hub_id ? fmt::format(", and not in the Hugging Face cache {}", cache.string()) : "")};
}

}  // namespace blend::config
