// Tests for blend/core/isa.hpp: the instruction-set dispatch of the hot loops. That each kernel gives the
// same bytes at every level is tested with the kernel (core/convert.cpp, merge/task_arithmetic.cpp,
// merge/linear.cpp).
#include <blend/core/isa.hpp>

#include "support/catch.hpp"

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
    blend::limit_isa(blend::isa_level::baseline);
    CHECK(blend::active_isa() == blend::isa_level::baseline);
    blend::limit_isa(blend::isa_level::avx2);
    CHECK(blend::active_isa() == (cpu < blend::isa_level::avx2 ? cpu : blend::isa_level::avx2));
    blend::limit_isa(blend::isa_level::avx512);
    CHECK(blend::active_isa() == cpu);
#if !defined(__x86_64__)
    CHECK(cpu == blend::isa_level::baseline);
#endif
}

TEST_CASE("with_isa runs the callable once at every level and returns its result", "[isa]") {
    std::vector<double> values(1000);
    std::iota(values.begin(), values.end(), 0.5);
    for (int level = 0; level <= static_cast<int>(blend::cpu_isa()); ++level) {
        blend::limit_isa(static_cast<blend::isa_level>(level));
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
    }
    blend::limit_isa(blend::isa_level::avx512);
}
