// libFuzzer target for blend::io::parse_npy (blend/io/npy.hpp). Any input must either parse into an
// array whose data size matches its shape and dtype, or throw blend::io_error; anything else (another
// exception, a sanitizer report, a failed check) is a bug. Seeds: tests/fuzz/corpus/npy/, written by
// tests/reference/make_npy_fixtures.py. Run with ./scripts/fuzz.sh 120 npy.
#include <blend/io/npy.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto a = blend::io::parse_npy(std::as_bytes(std::span(data, size)), "fuzz.npy");
        if (a.data.size() != blend::shape_size(a.shape) * blend::size_of(a.type)) std::abort();
        if (a.data.size() > size) std::abort();
        if (a.type == blend::dtype::boolean) {
            for (const std::byte b : a.data) {
                if (b != std::byte{0} && b != std::byte{1}) std::abort();
            }
        }
    } catch (const blend::io_error&) {}
    return 0;
}
