#pragma once
/// @file blend/io/mapped_file.hpp
/// A whole file mapped read-only into memory (POSIX `mmap`), with page-residency control.
///
/// Mapped pages that have been touched count in the process's RSS (as `RssFile`) until they are
/// unmapped or dropped, so a streaming reader that walks a model much larger than RAM must hand pages
/// back as it goes: `release(offset, length)` drops the resident pages lying entirely inside a byte
/// range (`madvise(MADV_DONTNEED)`; the data stays in the kernel's page cache, and touching the range
/// again simply faults it back in). `advise_willneed` starts read-ahead of a range (`MADV_WILLNEED`),
/// `advise_sequential` tells the kernel a range will be read front to back (`MADV_SEQUENTIAL`).
///
/// Limitations (those of every mmap reader, including the Rust `safetensors` crate's): if another
/// process truncates the file while it is mapped, touching the lost pages raises SIGBUS; writes by
/// other processes to the file show through the mapping.

#include <blend/core/error.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace blend::io {

/// A regular file mapped read-only, whole, for the lifetime of the object (RAII; movable, not copyable).
/// An empty file is not mapped (`bytes()` is then an empty span). All members are safe to call
/// concurrently from several threads; the advice functions never throw (advice is only advice: a
/// failing `madvise` is ignored).
class mapped_file {
public:
    /// Opens and maps `path`. Throws `blend::io_error` naming the file when it does not exist, is not a
    /// regular file (a directory, a FIFO, ...), cannot be opened, or cannot be mapped.
    explicit mapped_file(std::filesystem::path path) : path_{std::move(path)} {
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is rejected just below); it has no
        // effect on regular files.
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) fail("cannot open", errno);
        struct ::stat st {};
        if (::fstat(fd, &st) != 0) {
            const int saved = errno;
            ::close(fd);
            fail("cannot stat", saved);
        }
        if (!S_ISREG(st.st_mode)) {
            ::close(fd);
            throw io_error{fmt::format("{}: not a regular file", path_.string())};
        }
        size_ = static_cast<std::size_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
            if (p == MAP_FAILED) {
                const int saved = errno;
                ::close(fd);
                fail("cannot map", saved);
            }
            data_ = static_cast<const std::byte*>(p);
        }
        ::close(fd);  // the mapping keeps the file alive
    }

    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    mapped_file(mapped_file&& other) noexcept
        : path_{std::move(other.path_)},
          data_{std::exchange(other.data_, nullptr)},
          size_{std::exchange(other.size_, 0)} {}
    mapped_file& operator=(mapped_file&& other) noexcept {
        if (this != &other) {
            unmap();
            path_ = std::move(other.path_);
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    ~mapped_file() { unmap(); }

    /// The path the file was opened with.
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

    /// The file's bytes (empty for an empty file). Valid while this object lives.
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }

    /// The file's size in bytes.
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    /// Drops the resident pages that lie entirely inside the byte range [offset, offset + length)
    /// (clamped to the file), so they no longer count in RSS; pages shared with bytes outside the range
    /// are kept. A range reaching the end of the file also drops the file's last, partial page. The
    /// data stays readable: a later access faults it back in from the page cache or the disk.
    void release(std::size_t offset, std::size_t length) const noexcept {
        const auto [begin, end] = clamp(offset, length);
        if (begin >= end) return;
        const std::size_t page = page_size();
        const std::size_t first = (begin + page - 1) / page * page;             // round up
        const std::size_t last = end == size_ ? (end + page - 1) / page * page  // file tail
                                              : end / page * page;              // round down
        if (first < last) advise(first, last - first, MADV_DONTNEED);
    }

    /// Asks the kernel to start reading [offset, offset + length) (clamped to the file) into the page
    /// cache now (`MADV_WILLNEED`; the range is widened to whole pages).
    void advise_willneed(std::size_t offset, std::size_t length) const noexcept {
        advise_widened(offset, length, MADV_WILLNEED);
    }

    /// Tells the kernel that [offset, offset + length) (default: the whole file) will be read in order,
    /// so it reads ahead aggressively and may drop pages soon after they are read (`MADV_SEQUENTIAL`).
    void advise_sequential(std::size_t offset = 0,
                           std::size_t length = static_cast<std::size_t>(-1)) const noexcept {
        advise_widened(offset, length, MADV_SEQUENTIAL);
    }

private:
    [[noreturn]] void fail(const char* what, int err) const {
        throw io_error{fmt::format("{}: {}: {}", path_.string(), what, std::strerror(err))};
    }

    static std::size_t page_size() noexcept {
        static const std::size_t page = [] {
            const long p = ::sysconf(_SC_PAGESIZE);
            return p > 0 ? static_cast<std::size_t>(p) : std::size_t{4096};
        }();
        return page;
    }

    /// [offset, offset + length) intersected with [0, size), overflow-safe.
    [[nodiscard]] std::pair<std::size_t, std::size_t> clamp(std::size_t offset,
                                                            std::size_t length) const noexcept {
        const std::size_t begin = offset < size_ ? offset : size_;
        const std::size_t end = length < size_ - begin ? begin + length : size_;
        return {begin, end};
    }

    void advise_widened(std::size_t offset, std::size_t length, int advice) const noexcept {
        const auto [begin, end] = clamp(offset, length);
        if (begin >= end) return;
        const std::size_t page = page_size();
        const std::size_t first = begin / page * page;
        advise(first, end - first, advice);
    }

    void advise(std::size_t offset, std::size_t length, int advice) const noexcept {
        if (data_ == nullptr || length == 0) return;
        // madvise's address must be page-aligned: the mapping starts on a page, offsets are multiples.
        void* address = const_cast<std::byte*>(data_ + offset);
        (void)::madvise(address, length, advice);
    }

    void unmap() noexcept {
        if (data_ != nullptr) {
            ::munmap(const_cast<std::byte*>(data_), size_);
            data_ = nullptr;
            size_ = 0;
        }
    }

    std::filesystem::path path_;
    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace blend::io
