// libFuzzer target for blend::io::parse_idx (blend/io/idx.hpp). Any input must either parse into an
// array whose data size matches its shape and dtype (and never exceeds the input), or throw
// blend::io_error; anything else (another exception, a sanitizer report, a failed check) is a bug.
// Seeds: tests/fuzz/corpus/idx/, written by tests/reference/make_idx_fixtures.py.
// Run with ./scripts/fuzz.sh 120 idx.
#include <blend/io/idx.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto a = blend::io::parse_idx(std::as_bytes(std::span(data, size)), "fuzz.idx");
        if (a.shape.empty()) std::abort();
        if (a.data.size() != blend::shape_size(a.shape) * blend::size_of(a.type)) std::abort();
        if (a.data.size() + 4 + 4 * a.shape.size() != size) std::abort();
    } catch (const blend::io_error&) {}
    return 0;
}
