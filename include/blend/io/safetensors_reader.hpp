#pragma once
/// @file blend/io/safetensors_reader.hpp
/// Reading safetensors models: `safetensors_file` (one memory-mapped, validated file handing out
/// zero-copy tensor views) and `model_reader` (a model reference: a file, or a Hugging Face directory
/// with `model.safetensors` or `model.safetensors.index.json` and its shards).
///
/// Views point into the mapping: nothing is copied until a consumer reads them, and they stay valid as
/// long as their reader lives. A tensor's bytes are *not* aligned for its dtype in general (the data
/// section starts at 8 + N, and a file may place a 4-byte tensor at an odd offset): read them with
/// `blend::convert_bytes` (blend/core/convert.hpp), which only ever `memcpy`s, never through a cast
/// pointer. A streaming consumer calls `release` on each tensor when done with it so that the mapped
/// pages leave the process's RSS (see blend/io/mapped_file.hpp), and may call `prefetch` on the next
/// ones.

#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/io/mapped_file.hpp>
#include <blend/io/safetensors_header.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace blend::io {

/// One safetensors file: mapped read-only, its header parsed and validated by
/// `parse_safetensors_header` (every rule in blend/io/safetensors_header.hpp) at construction.
/// Movable; const members are safe to call from several threads at once.
class safetensors_file {
public:
    /// Maps and validates `path`. Throws `blend::io_error` naming the file when it is missing,
    /// unreadable, not a regular file, or not a valid safetensors file.
    explicit safetensors_file(std::filesystem::path path)
        : file_{std::move(path)}, header_{parse_safetensors_header(file_.bytes(), file_.path().string())} {
        by_name_.resize(header_.tensors.size());
        for (std::size_t i = 0; i < by_name_.size(); ++i) by_name_[i] = i;
        std::sort(by_name_.begin(), by_name_.end(), [&](std::size_t a, std::size_t b) {
            return header_.tensors[a].name < header_.tensors[b].name;
        });
    }

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return file_.path(); }

    /// The tensors in data order (by offset in the file).
    [[nodiscard]] std::span<const tensor_entry> tensors() const noexcept { return header_.tensors; }

    /// The `__metadata__` map (empty when the file has none).
    [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept {
        return header_.metadata;
    }

    /// Where the data section starts in the file (8 + header length).
    [[nodiscard]] std::uint64_t data_offset() const noexcept { return header_.data_offset; }

    /// Size of the whole file in bytes.
    [[nodiscard]] std::uint64_t file_size() const noexcept { return file_.size(); }

    /// The tensor named `name`, or null (binary search over the names).
    [[nodiscard]] const tensor_entry* find(std::string_view name) const noexcept {
        const auto it = std::lower_bound(
            by_name_.begin(), by_name_.end(), name,
            [&](std::size_t i, std::string_view n) { return std::string_view{header_.tensors[i].name} < n; });
        if (it == by_name_.end() || header_.tensors[*it].name != name) return nullptr;
        return &header_.tensors[*it];
    }

    /// Zero-copy view of `entry`'s bytes in the mapping, with its dtype and shape. The bytes may be
    /// unaligned for the dtype: read them with `convert_bytes`. `entry` should come from `tensors()` or
    /// `find()`; any entry whose range lies outside the data section throws `blend::invalid_argument`.
    [[nodiscard]] any_tensor_view view(const tensor_entry& entry) const {
        const std::uint64_t data_size = file_.size() - header_.data_offset;
        if (entry.begin > entry.end || entry.end > data_size) {
            throw invalid_argument{fmt::format(
                "{}: tensor '{}': data_offsets [{}, {}] are outside the data section ({} bytes)",
                path().string(), detail::printable(entry.name), entry.begin, entry.end, data_size)};
        }
        const auto bytes = file_.bytes().subspan(static_cast<std::size_t>(header_.data_offset + entry.begin),
                                                 static_cast<std::size_t>(entry.byte_size()));
        return any_tensor_view{entry.type, entry.shape, bytes};
    }

    /// Zero-copy view of the tensor named `name`; throws `blend::io_error` naming the file and the
    /// tensor when there is none.
    [[nodiscard]] any_tensor_view view(std::string_view name) const { return view(at(name)); }

    /// The tensor named `name`; throws `blend::io_error` naming the file and the tensor when absent.
    [[nodiscard]] const tensor_entry& at(std::string_view name) const {
        const tensor_entry* entry = find(name);
        if (entry == nullptr) {
            throw io_error{
                fmt::format("{}: tensor '{}': no such tensor", path().string(), detail::printable(name))};
        }
        return *entry;
    }

    /// Drops `entry`'s resident pages (those not shared with neighbouring tensors) from RSS.
    void release(const tensor_entry& entry) const noexcept {
        file_.release(static_cast<std::size_t>(header_.data_offset + entry.begin),
                      static_cast<std::size_t>(entry.byte_size()));
    }

    /// Starts reading `entry`'s bytes into the page cache (MADV_WILLNEED).
    void prefetch(const tensor_entry& entry) const noexcept {
        file_.advise_willneed(static_cast<std::size_t>(header_.data_offset + entry.begin),
                              static_cast<std::size_t>(entry.byte_size()));
    }

    /// The underlying mapping (for whole-file advice such as `advise_sequential`).
    [[nodiscard]] const mapped_file& mapping() const noexcept { return file_; }

private:
    mapped_file file_;
    safetensors_header header_;
    std::vector<std::size_t> by_name_;  // indices into header_.tensors, sorted by name
};

/// A model reference opened for reading (CLI.md "model reference"): `path` is
///   - a safetensors file (any name), or a `*.index.json` file naming shards, or
///   - a directory holding `model.safetensors` (preferred when both exist, as in Hugging Face
///     transformers) or `model.safetensors.index.json`.
/// The index, `{"metadata": {...}, "weight_map": {tensor name: shard file name}}`, is validated: a JSON
/// object without duplicate keys whose `weight_map` is an object of strings (relative paths without
/// `..`); every shard it names exists and is a valid safetensors file; no tensor is in two shards;
/// every weight_map entry is in the shard it names; every tensor of every shard is in weight_map. Other
/// top-level keys (and `metadata`'s content, e.g. `total_size`, which writers compute differently) are
/// not checked. Errors are `blend::io_error`s naming the index file and the tensor (malformed shards
/// name the shard).
///
/// Tensor order (`tensor_names`): shards sorted by file name (byte order), then data order within each.
class model_reader {
public:
    explicit model_reader(std::filesystem::path path) : path_{std::move(path)} {
        std::error_code ec;
        if (std::filesystem::is_directory(path_, ec)) {
            directory_ = path_;
            const auto single = path_ / "model.safetensors";
            const auto index = path_ / "model.safetensors.index.json";
            if (std::filesystem::exists(single, ec)) {
                add_file(single);
            } else if (std::filesystem::exists(index, ec)) {
                open_index(index);
            } else {
                throw io_error{
                    fmt::format("{}: no model.safetensors or model.safetensors.index.json in the directory",
                                path_.string())};
            }
        } else {
            directory_ = path_.has_parent_path() ? path_.parent_path() : std::filesystem::path{"."};
            const std::string name = path_.filename().string();
            if (name.size() >= 11 && name.compare(name.size() - 11, 11, ".index.json") == 0) {
                open_index(path_);
            } else {
                add_file(path_);
            }
        }
        for (const auto& file : files_) {
            for (const tensor_entry& t : file->tensors()) {
                names_.push_back(t.name);
                total_bytes_ += t.byte_size();
            }
        }
    }

    /// The reference as given.
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    /// The directory holding the model's files (the reference itself when it is a directory).
    [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }
    /// Sum of the tensors' data bytes (what an index's `total_size` holds).
    [[nodiscard]] std::uint64_t total_bytes() const noexcept { return total_bytes_; }
    /// Every tensor name, in canonical order (see the class comment).
    [[nodiscard]] std::span<const std::string> tensor_names() const noexcept { return names_; }
    /// The opened files, in canonical order (one unless sharded).
    [[nodiscard]] std::span<const std::unique_ptr<safetensors_file>> files() const noexcept { return files_; }
    /// The index file, or empty when the model is a single file.
    [[nodiscard]] const std::filesystem::path& index_path() const noexcept { return index_; }

    /// The tensor named `name`, or null.
    [[nodiscard]] const tensor_entry* find(std::string_view name) const noexcept {
        const auto it = where_.find(name);
        return it == where_.end() ? nullptr : it->second.second;
    }
    /// The file holding `name`; throws `blend::io_error` naming the model and the tensor when absent.
    [[nodiscard]] const safetensors_file& file_of(std::string_view name) const { return *locate(name).first; }
    /// Zero-copy view of `name` (unaligned bytes: read with `convert_bytes`); `io_error` when absent.
    [[nodiscard]] any_tensor_view view(std::string_view name) const {
        const auto [file, entry] = locate(name);
        return file->view(*entry);
    }
    /// Drops `name`'s resident pages from RSS; `io_error` when absent.
    void release(std::string_view name) const {
        const auto [file, entry] = locate(name);
        file->release(*entry);
    }
    /// Starts reading `name`'s bytes into the page cache; `io_error` when absent.
    void prefetch(std::string_view name) const {
        const auto [file, entry] = locate(name);
        file->prefetch(*entry);
    }

private:
    using location = std::pair<const safetensors_file*, const tensor_entry*>;

    [[nodiscard]] location locate(std::string_view name) const {
        const auto it = where_.find(name);
        if (it == where_.end()) {
            throw io_error{fmt::format("{}: tensor '{}': no such tensor in the model", path_.string(),
                                       detail::printable(name))};
        }
        return it->second;
    }

    void add_file(const std::filesystem::path& file) {
        files_.push_back(std::make_unique<safetensors_file>(file));
        for (const tensor_entry& t : files_.back()->tensors())
            where_.emplace(t.name, location{files_.back().get(), &t});
    }

    void open_index(const std::filesystem::path& index) {
        index_ = index;
        const std::string ix = index.string();
        const mapped_file bytes{index};
        const std::string_view text(reinterpret_cast<const char*>(bytes.bytes().data()), bytes.size());
        const auto parsed = detail::parse_json_object(
            text, ix, "index", [](const std::string* outer, const std::string& key) {
                if (outer == nullptr) return fmt::format("duplicate key '{}'", detail::printable(key));
                if (*outer == "weight_map")
                    return fmt::format("tensor '{}': listed twice in weight_map", detail::printable(key));
                return fmt::format("{}: duplicate key '{}'", detail::printable(*outer),
                                   detail::printable(key));
            });
        if (!parsed.value.is_object()) throw io_error{fmt::format("{}: index is not a JSON object", ix)};
        if (const auto m = parsed.value.find("metadata");
            m != parsed.value.end() && !m->is_object() && !m->is_null()) {
            throw io_error{
                fmt::format("{}: metadata is not a JSON object: {}", ix, detail::printable_json(*m))};
        }
        const auto wm = parsed.value.find("weight_map");
        if (wm == parsed.value.end() || !wm->is_object())
            throw io_error{fmt::format("{}: no weight_map object", ix)};

        // Shard file name → the names weight_map puts in it.
        std::map<std::string, std::vector<std::string>> shards;
        for (auto it = wm->begin(); it != wm->end(); ++it) {
            const std::string& name = it.key();  // (no structured binding: Clang 14 cannot capture one)
            const nlohmann::json& shard = it.value();
            const auto fail = [&](std::string_view rule, const std::string& values) {
                return io_error{
                    fmt::format("{}: tensor '{}': {}: {}", ix, detail::printable(name), rule, values)};
            };
            if (!shard.is_string()) throw fail("shard is not a string", detail::printable_json(shard));
            const std::string& file = shard.get_ref<const std::string&>();
            const std::filesystem::path relative{file};
            const bool escapes =
                std::any_of(relative.begin(), relative.end(), [](const auto& part) { return part == ".."; });
            if (file.empty() || relative.is_absolute() || escapes) {
                throw fail("shard must be a relative path inside the model directory",
                           fmt::format("'{}'", detail::printable(file)));
            }
            shards[file].push_back(name);
        }
        std::vector<std::string> shard_names;  // parallel to files_
        const auto shard_of = [&](const safetensors_file* f) -> const std::string& {
            const auto i =
                std::find_if(files_.begin(), files_.end(), [&](const auto& p) { return p.get() == f; });
            return shard_names[static_cast<std::size_t>(i - files_.begin())];
        };
        for (const auto& [file, names] : shards) {
            const auto shard_path = directory_ / file;
            std::error_code ec;
            if (!std::filesystem::exists(shard_path, ec)) {
                throw io_error{fmt::format("{}: tensor '{}': shard does not exist: '{}'", ix,
                                           detail::printable(names.front()),
                                           detail::printable(shard_path.string()))};
            }
            files_.push_back(std::make_unique<safetensors_file>(shard_path));
            shard_names.push_back(file);
            const safetensors_file& opened = *files_.back();
            for (const tensor_entry& t : opened.tensors()) {
                const auto [it, inserted] = where_.emplace(t.name, location{&opened, &t});
                if (!inserted) {
                    throw io_error{fmt::format(
                        "{}: tensor '{}': in two shards: '{}' and '{}'", ix, detail::printable(t.name),
                        detail::printable(shard_of(it->second.first)), detail::printable(file))};
                }
            }
        }
        for (const auto& [file, names] : shards) {
            for (const std::string& name : names) {
                const auto it = where_.find(name);
                if (it == where_.end()) {
                    throw io_error{fmt::format("{}: tensor '{}': not in its shard: '{}'", ix,
                                               detail::printable(name), detail::printable(file))};
                }
                if (shard_of(it->second.first) != file) {
                    throw io_error{fmt::format(
                        "{}: tensor '{}': not in its shard: weight_map names '{}', the tensor is in '{}'", ix,
                        detail::printable(name), detail::printable(file),
                        detail::printable(shard_of(it->second.first)))};
                }
            }
        }
        for (const auto& file : files_) {
            for (const tensor_entry& t : file->tensors()) {
                if (!wm->contains(t.name)) {
                    throw io_error{
                        fmt::format("{}: tensor '{}': missing from weight_map: it is in shard '{}'", ix,
                                    detail::printable(t.name), detail::printable(shard_of(file.get())))};
                }
            }
        }
    }

    std::filesystem::path path_;
    std::filesystem::path directory_;
    std::filesystem::path index_;
    std::vector<std::unique_ptr<safetensors_file>> files_;
    std::map<std::string, location, std::less<>> where_;
    std::vector<std::string> names_;
    std::uint64_t total_bytes_ = 0;
};

}  // namespace blend::io
