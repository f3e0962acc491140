#pragma once
// Test support: where a test's fixture files are, and reading a whole file.
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace blend::test {

/// tests/<area>/data/<sub> for the test source `source_file` (pass `__FILE__`): beside the source when
/// the source tree is there, else `<area>/data/<sub>` relative to the tests/ directory CTest runs in.
inline std::filesystem::path fixture_dir(const char* source_file, std::string_view sub = {}) {
    const std::filesystem::path source{source_file};
    const std::filesystem::path beside = source.parent_path() / "data" / sub;
    if (std::filesystem::exists(beside)) return beside;
    return source.parent_path().filename() / "data" / sub;
}

/// The bytes of a whole file; throws naming the file when it cannot be read.
inline std::vector<std::byte> file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error{"cannot read " + path.string()};
    const std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

}  // namespace blend::test
