// Tests for blend/core/isa.hpp: the instruction-set dispatch of the hot loops. That the kernels give the
// same bytes at every level is tested with them (core/convert.cpp, merge/task_arithmetic.cpp,
// merge/select.cpp).
#include <blend/core/isa.hpp>

#include "support/catch.hpp"
#include "support/isa_levels.hpp"

#include <cmath>
#include <cstdlib>
#include <numeric>
#include <vector>

TEST_CASE("levels are ordered and named as BLEND_ISA spells them", "[isa]") {
    CHECK(blend::name(blend::isa_level::baseline) == "baseline");
    CHECK(blend::name(blend::isa_level::avx2) == "avx2");
    CHECK(blend::name(blend::isa_level::avx512) == "avx512");
    CHECK(blend::isa_level::baseline < blend::isa_level::avx2);
    CHECK(blend::isa_level::avx2 < blend::isa_level::avx512);
}

TEST_CASE("limit_isa caps the active level and never raises it above the CPU's", "[isa]") {
    const auto cpu = blend::cpu_isa();
    const auto before = blend::isa_limit();
    blend::limit_isa(blend::isa_level::baseline);
    CHECK(blend::isa_limit() == blend::isa_level::baseline);
    CHECK(blend::active_isa() == blend::isa_level::baseline);
    blend::limit_isa(blend::isa_level::avx2);
    CHECK(blend::active_isa() == (cpu < blend::isa_level::avx2 ? cpu : blend::isa_level::avx2));
    blend::limit_isa(blend::isa_level::avx512);
    CHECK(blend::active_isa() == cpu);
    blend::limit_isa(before);
#if !defined(__x86_64__)
    CHECK(cpu == blend::isa_level::baseline);
#endif
}

TEST_CASE("with_isa runs the callable once at every level and returns its result", "[isa]") {
    std::vector<double> values(1000);
    std::iota(values.begin(), values.end(), 0.5);
    blend::test::for_each_isa_level([&](blend::isa_level level) {
        CAPTURE(blend::name(level));
        CHECK(blend::active_isa() == level);
        int calls = 0;
        const double sum = blend::with_isa([&] {
            ++calls;
            double s = 0;
            for (const double v : values) s += v * 0.25;
            return s;
        });
        CHECK(calls == 1);
        CHECK(sum == 0.25 * (1000.0 * 999.0 / 2.0 + 500.0));
        blend::with_isa([&] { ++calls; });  // void callables too
        CHECK(calls == 2);
    });
}

TEST_CASE("no level fuses a * b + c into one rounding", "[isa]") {
    // x y = 1 - 2^-60 rounds to 1, so x y + z is 0 with two roundings and -2^-60 fused. The inputs come
    // from memory the compiler cannot see through, in vectors long enough to be vectorized.
    const double x = 1.0 + std::ldexp(1.0, -30);
    const double y = 1.0 - std::ldexp(1.0, -30);
    volatile double opaque = 1.0;
    std::vector<double> a(64, x * opaque), b(64, y * opaque), c(64, -1.0 * opaque), r(64);
    std::vector<float> fa(64, static_cast<float>(1.0 + std::ldexp(1.0, -13)) * static_cast<float>(opaque));
    std::vector<float> fb(64, static_cast<float>(1.0 - std::ldexp(1.0, -13)) * static_cast<float>(opaque));
    std::vector<float> fr(64);
    blend::test::for_each_isa_level([&](blend::isa_level level) {
        CAPTURE(blend::name(level));
        blend::with_isa([&] {
            for (std::size_t i = 0; i < r.size(); ++i) r[i] = a[i] * b[i] + c[i];
            for (std::size_t i = 0; i < fr.size(); ++i) fr[i] = fa[i] * fb[i] - 1.0f;
        });
        for (const double v : r) CHECK(v == 0.0);
        for (const float v : fr) CHECK(v == 0.0f);
    });
}
