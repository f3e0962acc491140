#pragma once
// Shared by tests/merge/{slerp,multislerp,karcher}.cpp: loads the reference fixtures written by
// tests/reference/make_slerp_fixtures.py (tests/merge/data/slerp/) and mergekit's outputs written by
// tests/reference/make_slerp_mergekit_fixtures.py (tests/merge/data/slerp/mergekit/), and compares.
#include <blend/core/convert.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/io/npy.hpp>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/owned_tensor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace spherical_fixtures {

namespace fs = std::filesystem;

inline fs::path dir() { return blend::test::fixture_dir(__FILE__, "slerp"); }

using owned = blend::test::owned_tensor;

/// `file` of the fixture directory (e.g. "slerp_f32_x0.npy") converted to `as` (exact for the
/// fixtures: bf16 inputs are stored as bf16-representable float32).
inline owned load(const std::string& file, blend::dtype as) {
    return blend::test::converted(blend::io::read_npy(dir() / file).view(), as);
}

/// An output buffer of `type` and `shape`.
inline owned output(blend::dtype type, const blend::shape_type& shape) { return blend::test::make_owned(type, shape); }

/// Distance in bf16 ulps between two finite bf16 bit patterns (monotone ordering of the bits).
inline std::int64_t bf16_ulps(std::uint16_t a, std::uint16_t b) {
    auto ordered = [](std::uint16_t x) -> std::int64_t { return (x & 0x8000) ? -static_cast<std::int64_t>(x & 0x7FFF) : x; };
    return std::abs(ordered(a) - ordered(b));
}

/// Largest deviation found by `compare` (ulps for bf16, relative-to-tolerance figure otherwise).
struct agreement {
    double max_ulps = 0;        // bf16 only
    double max_abs = 0;         // |got - ref|
    double max_scaled = 0;      // max |got - ref| / (|ref| + 1e-3 max|ref|)
};

/// Compares `got` with the float64 reference `ref`: bf16 within `max_ulp` ulps of ref rounded once to
/// bf16; f32/f64 |got - ref| <= coeff (|ref| + 1e-3 max|ref|). Prints the figures when
/// BLEND_TEST_VERBOSE is set.
inline agreement compare(const std::string& name, const owned& got, const std::vector<double>& ref, double coeff,
                         std::int64_t max_ulp = 1) {
    REQUIRE(blend::shape_size(got.shape) == ref.size());
    const std::vector<double> g = got.values();
    double max_ref = 0;
    for (double r : ref) max_ref = std::max(max_ref, std::abs(r));
    agreement a;
    std::vector<std::uint16_t> rounded(ref.size());
    if (got.type == blend::dtype::bf16) {
        blend::convert_bytes(blend::dtype::f64, reinterpret_cast<const std::byte*>(ref.data()), blend::dtype::bf16,
                             reinterpret_cast<std::byte*>(rounded.data()), ref.size());
    }
    for (std::size_t j = 0; j < ref.size(); ++j) {
        const double diff = std::abs(g[j] - ref[j]);
        const double scaled = diff / (std::abs(ref[j]) + 1e-3 * max_ref);
        a.max_abs = std::max(a.max_abs, diff);
        a.max_scaled = std::max(a.max_scaled, scaled);
        if (got.type == blend::dtype::bf16) {
            std::uint16_t bits = 0;
            std::memcpy(&bits, got.bytes.data() + 2 * j, 2);
            const auto ulps = bf16_ulps(bits, rounded[j]);
            a.max_ulps = std::max<double>(a.max_ulps, static_cast<double>(ulps));
            if (ulps > max_ulp) FAIL_CHECK(fmt::format("{}[{}]: got {} ref {} ({} bf16 ulps)", name, j, g[j], ref[j], ulps));
        } else if (!(diff <= coeff * (std::abs(ref[j]) + 1e-3 * max_ref))) {
            FAIL_CHECK(fmt::format("{}[{}]: got {} ref {} (|diff| {:.3g})", name, j, g[j], ref[j], diff));
        }
    }
    if (std::getenv("BLEND_TEST_VERBOSE") != nullptr) {
        fmt::print("{:28} {:>5}: max {} ulps, max|diff| {:.3g}, max scaled {:.3g} (max|ref| {:.3g})\n", name,
                   got.type == blend::dtype::bf16 ? "bf16" : (got.type == blend::dtype::f64 ? "f64" : "f32"), a.max_ulps, a.max_abs,
                   a.max_scaled, max_ref);
    }
    return a;
}

/// Tolerance coefficient of the issue for f32 outputs (f64 outputs: 1e-12).
inline double tolerance(blend::dtype type, double f32_coeff = 2e-5) { return type == blend::dtype::f64 ? 1e-12 : f32_coeff; }

}  // namespace spherical_fixtures
