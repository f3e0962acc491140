#pragma once
/// @file blend/io/safetensors_writer.hpp
/// Writing safetensors models: streaming (tensors in any order, from any thread), sharded, atomic.
///
/// Format (huggingface/safetensors README): 8 bytes N (little-endian u64), N bytes of JSON header, then
/// the data section; see blend/io/safetensors_header.hpp. blend writes every file in the canonical layout
/// of CLI.md, produced by `serialize_safetensors_header`: compact JSON, `__metadata__` first (omitted when
/// the metadata map is empty), then the tensors in data order, which is the order of the specs given
/// here, padded with spaces so that 8 + N is a multiple of 8 (so the data section starts 8-aligned).
///
/// Because a merge plan knows every output tensor's name, dtype and shape before computing any, the
/// writer takes them all up front (`tensor_spec`s), assigns shards, computes every header and offset,
/// and creates each shard at once as a `temp_file` (`.blend-tmp-…`, blend/io/atomic_file.hpp) of its final
/// length with its header in place. `write` then puts a tensor's bytes at their known offset (`pwrite`):
/// tensors may be written in any order from any number of threads and the files are byte-identical.
///
/// Relation to the Python `safetensors` library (checked by tests/io/safetensors_writer.cpp against
/// files it wrote, safetensors 0.8.0): for the same tensors in the same data order and the same metadata,
/// blend's file is byte-identical. The library does not keep the caller's order: it sorts tensors by
/// dtype (descending in its enum order U64, I64, F64, F32, U32, I32, BF16, F16, U16, I16, F8_E4M3,
/// F8_E5M2, I8, U8, BOOL), then by name; blend keeps the model's order (CLI.md). With more than one
/// metadata key the library's key order is random (a Rust HashMap); blend writes them sorted, which is
/// one of the library's possible outputs.
///
/// Sharding (`to_directory`) follows Hugging Face: shards are filled in spec order; a new shard starts
/// when adding a tensor would take the current one's data past `shard_size` bytes (headers not counted);
/// a tensor larger than `shard_size` gets a shard of its own. (huggingface_hub's
/// `split_state_dict_into_shards_factory` gives such a tensor its shard *before* the still-open current
/// one, reordering the model; blend closes the current shard first, as transformers' older
/// `shard_checkpoint` did.) One shard is `model.safetensors`; several are
/// `model-00001-of-0000N.safetensors` … plus `model.safetensors.index.json`, written as transformers'
/// `save_pretrained` writes it — `json.dumps(index, indent=2, sort_keys=True) + "\n"` (keys sorted,
/// two-space indent, non-ASCII escaped as \uXXXX, final newline):
///
///     {
///       "metadata": {
///         "total_size": <sum of the tensors' data bytes>
///       },
///       "weight_map": {
///         "<tensor name>": "model-00001-of-00002.safetensors",  (sorted by name)
///         ...
///
/// (huggingface_hub's `save_torch_state_dict` writes the same object unsorted without the newline, and
/// mergekit writes compact JSON with `{"mergekit_version": …}` as metadata; readers accept them all.)
///
/// Atomicity (CLI.md "Nothing half-written"): `commit()` checks that every tensor was written, fsyncs
/// every shard, renames the shards into place, then writes the index and renames it last. A writer
/// destroyed before `commit()` — an exception, an early return — removes all its temporary files, and
/// any shard already renamed by `commit_shards()`, so no file is left under a final name. The writer
/// does not remove older files in the directory (`blend-merge --force` does that before committing).

#include <blend/core/concepts.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/io/atomic_file.hpp>
#include <blend/io/safetensors_header.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace blend::io {

/// One output tensor, known before its data: name, dtype and shape.
struct tensor_spec {
    std::string name;
    dtype type = dtype::f32;
    shape_type shape;

    /// product(shape) × size_of(type) (wraps on overflow; the writer rejects such specs).
    [[nodiscard]] std::uint64_t byte_size() const noexcept {
        std::uint64_t n = size_of(type);
        for (std::size_t e : shape) n *= e;
        return n;
    }
};

/// Options of `safetensors_writer::to_directory`.
struct writer_options {
    /// Bytes of tensor data per shard (Hugging Face's `max_shard_size`; blend-merge's `--out-shard-size`).
    std::uint64_t shard_size = 5'000'000'000;
    /// `__metadata__` of every shard (an empty map writes no `__metadata__`).
    std::map<std::string, std::string> metadata{{"format", "pt"}};
};

/// A safetensors file or sharded Hugging Face directory being written (see the file comment).
/// `write` is thread-safe; `commit_shards`/`commit` must not run concurrently with `write`. Movable.
class safetensors_writer {
public:
    /// Writes `specs` to the directory `dir` (created if absent): `model.safetensors`, or shards of at
    /// most `options.shard_size` data bytes plus `model.safetensors.index.json`. Throws
    /// `invalid_argument` naming the tensor for an empty, reserved (`__metadata__`), duplicate or
    /// non-UTF-8 name or a byte size beyond 2^64, and `io_error` when a file cannot be created.
    [[nodiscard]] static safetensors_writer to_directory(std::filesystem::path dir, std::vector<tensor_spec> specs,
                                                         writer_options options = {}) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) throw io_error{fmt::format("{}: cannot create directory: {}", dir.string(), ec.message())};
        return safetensors_writer{std::move(dir), {}, std::move(specs), options.shard_size, std::move(options.metadata)};
    }

    /// Writes `specs` to the single file `file` (never sharded; its directory must exist).
    [[nodiscard]] static safetensors_writer to_file(std::filesystem::path file, std::vector<tensor_spec> specs,
                                                    std::map<std::string, std::string> metadata = {{"format", "pt"}}) {
        auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path{"."};
        auto name = file.filename().string();
        return safetensors_writer{std::move(dir), std::move(name), std::move(specs),
                                  std::numeric_limits<std::uint64_t>::max(), std::move(metadata)};
    }

    safetensors_writer(safetensors_writer&&) noexcept = default;
    safetensors_writer& operator=(safetensors_writer&&) = delete;
    safetensors_writer(const safetensors_writer&) = delete;
    safetensors_writer& operator=(const safetensors_writer&) = delete;

    /// Uncommitted: removes every temporary file, and the shards `commit_shards()` renamed, if any.
    ~safetensors_writer() {
        for (const auto& path : renamed_) {
            std::error_code ignored;
            std::filesystem::remove(path, ignored);
        }
    }

    /// Writes the data of `specs()[spec_index]`: exactly its `byte_size()` bytes, little-endian, row-major.
    /// Thread-safe; each tensor exactly once. Throws `invalid_argument` naming the tensor for a wrong
    /// size or a second write (nothing is written then), `io_error` when the write fails (the writer
    /// then refuses to commit).
    void write(std::size_t spec_index, std::span<const std::byte> bytes) {
        if (spec_index >= specs_.size()) {
            throw invalid_argument{fmt::format("{}: write: tensor index {} out of range ({} tensors)", where(),
                                               spec_index, specs_.size())};
        }
        const tensor_spec& spec = specs_[spec_index];
        if (bytes.size() != spec.byte_size()) {
            throw invalid_argument{fmt::format("{}: tensor '{}' ({} [{}]) takes {} bytes, got {}", where(),
                                               detail::printable(spec.name), safetensors_name(spec.type),
                                               fmt::join(spec.shape, ", "), spec.byte_size(), bytes.size())};
        }
        std::uint8_t expected = unwritten;
        if (!state_->tensors[spec_index].compare_exchange_strong(expected, writing)) {
            throw invalid_argument{fmt::format("{}: tensor '{}' written twice", where(), detail::printable(spec.name))};
        }
        try {
            shards_[shard_of_[spec_index]].write_at(offset_[spec_index], bytes);
        } catch (...) {
            state_->failed.store(true);
            throw;
        }
        state_->tensors[spec_index].store(written, std::memory_order_release);
    }

    /// Writes a runtime-typed tensor; its dtype and shape must be the spec's (`invalid_argument` naming
    /// the tensor otherwise).
    void write(std::size_t spec_index, const any_tensor_view& tensor) {
        if (spec_index < specs_.size() && (tensor.type != specs_[spec_index].type || tensor.shape != specs_[spec_index].shape)) {
            const tensor_spec& spec = specs_[spec_index];
            throw invalid_argument{fmt::format("{}: tensor '{}' is {} [{}], got {} [{}]", where(), detail::printable(spec.name),
                                               safetensors_name(spec.type), fmt::join(spec.shape, ", "),
                                               safetensors_name(tensor.type), fmt::join(tensor.shape, ", "))};
        }
        write(spec_index, tensor.bytes);
    }

    /// First half of `commit()`: checks that every tensor was written (else `io_error` naming the
    /// missing ones), fsyncs every shard, then renames them into place. Lets a caller place other files
    /// (config.json, tokenizer) between the shards and the index, as blend-merge does. No-op when done.
    void commit_shards() {
        if (shards_committed_) return;
        if (state_->failed.load()) throw io_error{fmt::format("{}: cannot commit: an earlier write or commit failed", where())};
        std::vector<std::string> missing;
        for (std::size_t i = 0; i < specs_.size(); ++i) {
            if (state_->tensors[i].load(std::memory_order_acquire) != written) missing.push_back(detail::printable(specs_[i].name));
        }
        if (!missing.empty()) {
            const std::size_t shown = std::min<std::size_t>(missing.size(), 10);
            throw io_error{fmt::format("{}: cannot commit: {} of {} tensors not written: {}{}", where(), missing.size(),
                                       specs_.size(), fmt::join(missing.begin(), missing.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
                                       missing.size() > shown ? fmt::format(" and {} more", missing.size() - shown) : "")};
        }
        try {
            for (auto& shard : shards_) shard.sync();  // every shard's data is durable before any name appears
            for (auto& shard : shards_) {
                shard.commit();
                renamed_.push_back(shard.final_path());
            }
        } catch (...) {
            state_->failed.store(true);  // the destructor removes the shards already renamed
            throw;
        }
        sync_directory();
        shards_committed_ = true;
        if (index_path_.empty()) renamed_.clear();  // no index: committed (renamed_ non-empty = index pending)
    }

    /// Commits the output: `commit_shards()`, then the index (when sharded), renamed last. Returns the
    /// final paths, shards first. Throws `io_error` (naming the missing tensors, or the failed file).
    std::vector<std::filesystem::path> commit() {
        commit_shards();
        if (!index_path_.empty() && !renamed_.empty()) {
            const std::string text = index_json() + "\n";
            write_file_atomically(index_path_, std::as_bytes(std::span{text.data(), text.size()}));
            sync_directory();
            renamed_.clear();
        }
        std::vector<std::filesystem::path> paths;
        for (const auto& shard : shards_) paths.push_back(shard.final_path());
        if (!index_path_.empty()) paths.push_back(index_path_);
        return paths;
    }

    [[nodiscard]] std::span<const tensor_spec> specs() const noexcept { return specs_; }
    [[nodiscard]] std::size_t shard_count() const noexcept { return shards_.size(); }
    /// The shard (0-based) holding `specs()[spec_index]`.
    [[nodiscard]] std::size_t shard_of(std::size_t spec_index) const { return shard_of_.at(spec_index); }
    /// Final path of a shard.
    [[nodiscard]] const std::filesystem::path& shard_path(std::size_t shard) const { return shards_.at(shard).final_path(); }
    /// Final path of the index; empty when the output is one file.
    [[nodiscard]] const std::filesystem::path& index_path() const noexcept { return index_path_; }
    /// Sum of the tensors' data bytes (the index's `total_size`).
    [[nodiscard]] std::uint64_t total_bytes() const noexcept { return total_bytes_; }

    /// The index's text without the final newline (the content of `model.safetensors.index.json`).
    [[nodiscard]] std::string index_json() const {
        nlohmann::json weight_map = nlohmann::json::object();
        for (std::size_t i = 0; i < specs_.size(); ++i) weight_map[specs_[i].name] = shard_path(shard_of_[i]).filename().string();
        nlohmann::json index = nlohmann::json::object();
        index["metadata"] = nlohmann::json::object({{"total_size", total_bytes_}});
        index["weight_map"] = std::move(weight_map);
        return index.dump(2, ' ', true);  // std::map keys: sorted, like sort_keys=True; ensure_ascii as Python
    }

private:
    static constexpr std::uint8_t unwritten = 0, writing = 1, written = 2;
    struct shared_state {
        std::unique_ptr<std::atomic<std::uint8_t>[]> tensors;
        std::atomic<bool> failed{false};
    };

    // file_name empty: a directory output (sharded when needed), else the one file dir / file_name.
    safetensors_writer(std::filesystem::path dir, std::string file_name, std::vector<tensor_spec> specs,
                       std::uint64_t shard_size, std::map<std::string, std::string> metadata)
        : specs_{std::move(specs)}, dir_{std::move(dir)}, state_{std::make_unique<shared_state>()} {
        const std::string where_name = file_name.empty() ? dir_.string() : (dir_ / file_name).string();
        validate(where_name);
        state_->tensors = std::make_unique<std::atomic<std::uint8_t>[]>(specs_.size());  // value-initialized: 0
        for (std::size_t i = 0; i < specs_.size(); ++i) state_->tensors[i].store(unwritten);

        // Shard assignment, in spec order (see the file comment).
        shard_of_.resize(specs_.size());
        std::vector<std::size_t> first{0};  // first spec of each shard
        std::uint64_t current = 0;
        for (std::size_t i = 0; i < specs_.size(); ++i) {
            const std::uint64_t size = specs_[i].byte_size();
            const bool open = i > first.back();
            if (open && (size > shard_size || current + size > shard_size)) {
                first.push_back(i);
                current = 0;
            }
            shard_of_[i] = first.size() - 1;
            current += size;
            if (size > shard_size && i + 1 < specs_.size()) {  // alone: the next tensor starts a new shard
                first.push_back(i + 1);
                current = 0;
            }
        }
        const std::size_t count = first.size();
        if (count > 1) index_path_ = dir_ / "model.safetensors.index.json";

        // Headers and offsets, then the files (sized, header written).
        offset_.resize(specs_.size());
        shards_.reserve(count);
        for (std::size_t k = 0; k < count; ++k) {
            const std::size_t end = k + 1 < count ? first[k + 1] : specs_.size();
            std::vector<tensor_entry> entries;
            std::uint64_t data = 0;
            for (std::size_t i = first[k]; i < end; ++i) {
                entries.push_back({specs_[i].name, specs_[i].type, specs_[i].shape, data, data + specs_[i].byte_size()});
                data += specs_[i].byte_size();
            }
            const std::string header = serialize_safetensors_header(entries, metadata);
            const std::uint64_t data_start = 8 + header.size();
            for (std::size_t i = first[k]; i < end; ++i) offset_[i] = data_start + entries[i - first[k]].begin;
            std::string name = !file_name.empty() ? file_name
                               : count == 1       ? std::string{"model.safetensors"}
                                                  : fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, count);
            temp_file& file = shards_.emplace_back(dir_ / name);
            file.resize(data_start + data);
            std::string prefix(8, '\0');
            for (std::size_t b = 0; b < 8; ++b) prefix[b] = static_cast<char>((header.size() >> (8 * b)) & 0xFF);
            prefix += header;
            file.write_at(0, std::as_bytes(std::span{prefix.data(), prefix.size()}));
        }
    }

    // Names (non-empty, not `__metadata__`, unique) and byte sizes (within 64 bits, also in total).
    void validate(const std::string& where_name) {
        std::unordered_map<std::string_view, std::size_t> seen;
        for (std::size_t i = 0; i < specs_.size(); ++i) {
            const tensor_spec& s = specs_[i];
            const auto fail = [&](std::string_view what) {
                return invalid_argument{fmt::format("{}: tensor '{}' (spec {}): {}", where_name, detail::printable(s.name), i, what)};
            };
            if (s.name.empty()) throw fail("empty name");
            if (s.name == "__metadata__") throw fail("the name is reserved for the metadata");
            if (const auto [it, inserted] = seen.emplace(s.name, i); !inserted) {
                throw fail(fmt::format("duplicate name (also spec {})", it->second));
            }
            std::uint64_t n = size_of(s.type);
            for (std::size_t e : s.shape) {
                if (e != 0 && n > std::numeric_limits<std::uint64_t>::max() / e) {
                    throw fail(fmt::format("shape [{}] of {} exceeds 2^64 bytes", fmt::join(s.shape, ", "), safetensors_name(s.type)));
                }
                n *= e;
            }
            if (n > std::numeric_limits<std::uint64_t>::max() - total_bytes_) throw fail("total size exceeds 2^64 bytes");
            total_bytes_ += n;
        }
    }

    // fsync the directory so that the renames are durable (best effort: not every file system allows it).
    void sync_directory() const noexcept {
        const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            static_cast<void>(::fsync(fd));
            ::close(fd);
        }
    }

    [[nodiscard]] std::string where() const {
        return shards_.size() == 1 ? shards_.front().final_path().string() : dir_.string();
    }

    std::vector<tensor_spec> specs_;
    std::filesystem::path dir_;
    std::unique_ptr<shared_state> state_;
    std::vector<std::size_t> shard_of_;
    std::vector<std::uint64_t> offset_;  // absolute offset of each tensor's data in its shard
    std::vector<temp_file> shards_;
    std::filesystem::path index_path_;
    std::uint64_t total_bytes_ = 0;
    std::vector<std::filesystem::path> renamed_;  // shards under final names while the index is pending
    bool shards_committed_ = false;
};

/// Writes every tensor of `dict`, in its iteration order, to the safetensors file `file` (atomically:
/// nothing appears under `file` unless all of it was written).
template <state_dict D>
void write_safetensors(const std::filesystem::path& file, const D& dict,
                       std::map<std::string, std::string> metadata = {{"format", "pt"}}) {
    std::vector<tensor_spec> specs;
    std::vector<any_tensor_view> views;
    specs.reserve(dict.size());
    views.reserve(dict.size());
    for (const auto& [name, t] : dict) {
        views.push_back(any_tensor_view::of(t));
        specs.push_back({std::string{std::string_view{name}}, views.back().type, views.back().shape});
    }
    auto writer = safetensors_writer::to_file(file, std::move(specs), std::move(metadata));
    for (std::size_t i = 0; i < views.size(); ++i) writer.write(i, views[i].bytes);
    writer.commit();
}

}  // namespace blend::io
