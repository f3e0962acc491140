// Tests for blend/io/mapped_file.hpp: empty files, page release from the resident set, moves.
#include <blend/io/mapped_file.hpp>

#include "support/catch.hpp"
#include "support/scratch_dir.hpp"

#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <vector>

namespace {

void write_file(const std::filesystem::path& path, const std::vector<std::byte>& content) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
    REQUIRE(out);
}

/// Resident pages of the process, from /proc/self/statm (includes mapped file pages).
std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t total = 0, resident = 0;
    statm >> total >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("mapped_file maps empty files and releases pages from RSS", "[io][mapped_file]") {
    blend::test::scratch_dir dir{"mapped"};
    write_file(dir / "empty", {});
    const blend::io::mapped_file empty(dir / "empty");
    CHECK(empty.bytes().empty());
    empty.release(0, 100);
    empty.advise_willneed(0, 100);

    const std::size_t size = 32u << 20;
    write_file(dir / "big", std::vector<std::byte>(size, std::byte{1}));
    blend::io::mapped_file big(dir / "big");
    big.advise_sequential();
    const std::size_t before = resident_bytes();
    unsigned sum = 0;
    const long page = ::sysconf(_SC_PAGESIZE);
    for (std::size_t i = 0; i < size; i += static_cast<std::size_t>(page))
        sum += static_cast<unsigned>(big.bytes()[i]);
    CHECK(sum == size / static_cast<std::size_t>(page));
    const std::size_t touched = resident_bytes();
    CHECK(touched >= before + size / 2);
    big.release(1, size - 1);  // the first page is shared with byte 0: kept
    const std::size_t released = resident_bytes();
    CHECK(released + size / 2 <= touched);
    CHECK(big.bytes()[size - 1] == std::byte{1});  // still readable
    blend::io::mapped_file moved = std::move(big);
    CHECK(moved.size() == size);
    CHECK(big.bytes().empty());
}
