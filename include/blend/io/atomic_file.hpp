#pragma once
/// @file blend/io/atomic_file.hpp
/// Files that appear under their final name only when complete (CLI.md "Nothing half-written").
///
/// A `temp_file` is created next to its final path as `.blend-tmp-<final name>-<pid>-<n>`, written
/// (positionally, from any thread), and `commit()`ted: flushed to disk and renamed into place, which
/// POSIX makes atomic within a directory. Destroyed uncommitted — an exception, an early return — it
/// deletes itself. A process killed outright leaves at most `.blend-tmp-*` files, never a file under a
/// final name.

#include <blend/core/error.hpp>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace blend::io {

/// Prefix of every temporary file blend writes.
inline constexpr std::string_view temp_prefix = ".blend-tmp-";

/// A file being written under a temporary name, renamed to its final name by `commit()`.
class temp_file {
public:
    /// Creates the temporary file in `final_path`'s directory (which must exist). Throws `io_error`
    /// naming the final path when it cannot.
    explicit temp_file(std::filesystem::path final_path) : final_{std::move(final_path)} {
        static std::atomic<unsigned> counter{0};
        const auto dir = final_.has_parent_path() ? final_.parent_path() : std::filesystem::path{"."};
        temp_ = dir / fmt::format("{}{}-{}-{}", temp_prefix, final_.filename().string(), ::getpid(), counter++);
        fd_ = ::open(temp_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0) throw io_error{fmt::format("{}: cannot create {}: {}", final_.string(), temp_.string(), std::strerror(errno))};
    }

    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    temp_file(temp_file&& other) noexcept
        : final_{std::move(other.final_)}, temp_{std::exchange(other.temp_, {})}, fd_{std::exchange(other.fd_, -1)},
          committed_{other.committed_} {}
    temp_file& operator=(temp_file&&) = delete;

    /// Removes the temporary file unless it was committed.
    ~temp_file() { discard(); }

    [[nodiscard]] const std::filesystem::path& final_path() const noexcept { return final_; }
    [[nodiscard]] const std::filesystem::path& temp_path() const noexcept { return temp_; }

    /// Sets the file's size (new bytes read as zero); lets `write_at` fill it in any order.
    void resize(std::uint64_t size) {
        if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) fail("cannot resize");
    }

    /// Writes `bytes` at `offset`; safe to call from several threads for disjoint ranges.
    void write_at(std::uint64_t offset, std::span<const std::byte> bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("write failed");
            }
            bytes = bytes.subspan(static_cast<std::size_t>(n));
            offset += static_cast<std::uint64_t>(n);
        }
    }

    /// Flushes the data to disk (fsync). `commit()` calls it; call it earlier to order several commits.
    void sync() {
        if (::fsync(fd_) != 0) fail("cannot flush");
    }

    /// Flushes, closes and renames the file to its final name, replacing any file there.
    void commit() {
        sync();
        close_fd();
        std::error_code ec;
        std::filesystem::rename(temp_, final_, ec);
        if (ec) {
            discard();
            throw io_error{fmt::format("{}: cannot rename {} into place: {}", final_.string(), temp_.string(), ec.message())};
        }
        committed_ = true;
    }

    /// Closes and deletes the temporary file now (no-op after `commit()`).
    void discard() noexcept {
        close_fd();
        if (!committed_ && !temp_.empty()) {
            std::error_code ignored;
            std::filesystem::remove(temp_, ignored);
            temp_.clear();
        }
    }

private:
    [[noreturn]] void fail(const char* what) {
        const int saved = errno;
        throw io_error{fmt::format("{}: {}: {}", final_.string(), what, std::strerror(saved))};
    }
    void close_fd() noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    std::filesystem::path final_;
    std::filesystem::path temp_;
    int fd_ = -1;
    bool committed_ = false;
};

/// Writes `bytes` to `path` atomically (temporary file, then rename).
inline void write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes) {
    temp_file file{path};
    file.write_at(0, bytes);
    file.commit();
}

}  // namespace blend::io
