#pragma once
/// @file tests/support/scratch_dir.hpp
/// A fresh, empty directory for one test, removed with its content when the test ends, and a sorted
/// listing of a directory's entries (what file-writing tests check for leftovers).

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace blend::test {

/// `<tmp>/blend-<label>-<pid>-<n>`, created empty, removed at scope exit.
struct scratch_dir {
    std::filesystem::path path;

    explicit scratch_dir(std::string_view label = "test") {
        static std::atomic<int> counter{0};
        path = std::filesystem::temp_directory_path() /
               ("blend-" + std::string{label} + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

/// The names of the entries of `dir`, sorted.
[[nodiscard]] inline std::vector<std::string> directory_entries(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator{dir}) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace blend::test
