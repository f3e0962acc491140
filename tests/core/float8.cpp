// Tests for blend/core/float8.hpp: f8_e4m3 (E4M3FN) and f8_e5m2 storage types and their conversions.
#include <blend/core/float8.hpp>

#include "support/catch.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>

namespace {

using blend::f8_e4m3;
using blend::f8_e5m2;

std::uint32_t bits_of(float x) { return std::bit_cast<std::uint32_t>(x); }
float float_of(std::uint32_t b) { return std::bit_cast<float>(b); }

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

// Independent reference decoding in double. E4M3FN: bias 7, 3 mantissa bits, only S.1111.111 is NaN.
double e4m3_reference(std::uint32_t b) {
    const double sign = (b & 0x80u) ? -1.0 : 1.0;
    const int e = static_cast<int>((b >> 3) & 0xFu);
    const std::uint32_t m = b & 7u;
    if ((b & 0x7Fu) == 0x7Fu) return nan_value;
    if (e == 0) return sign * std::ldexp(static_cast<double>(m), -9);
    return sign * std::ldexp(static_cast<double>(8u + m), e - 10);
}

// E5M2: bias 15, 2 mantissa bits, exponent 31 is Inf (m = 0) or NaN.
double e5m2_reference(std::uint32_t b) {
    const double sign = (b & 0x80u) ? -1.0 : 1.0;
    const int e = static_cast<int>((b >> 2) & 0x1Fu);
    const std::uint32_t m = b & 3u;
    if (e == 31) return m == 0 ? sign * HUGE_VAL : nan_value;
    if (e == 0) return sign * std::ldexp(static_cast<double>(m), -16);
    return sign * std::ldexp(static_cast<double>(4u + m), e - 17);
}

// Reference rounding (round to nearest even in double with an unbounded exponent); a result above
// `max_finite` is `overflow` (E4M3FN: NaN, as PyTorch; E5M2: Inf).
double round_reference(float x, int precision, int emin, double max_finite, double overflow) {
    if (std::isnan(x)) return nan_value;
    const double a = std::fabs(static_cast<double>(x));
    if (a == 0.0) return x;
    if (std::isinf(a)) return std::copysign(overflow, static_cast<double>(x));
    int e = 0;
    std::frexp(a, &e);
    const double quantum = std::ldexp(1.0, std::max(e - 1, emin) - (precision - 1));
    const double r = std::nearbyint(a / quantum) * quantum;
    return std::copysign(r > max_finite ? overflow : r, static_cast<double>(x));
}

bool same(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

}  // namespace

TEST_CASE("float8 types are one-byte trivially copyable storage types", "[float8]") {
    static_assert(sizeof(f8_e4m3) == 1 && sizeof(f8_e5m2) == 1);
    static_assert(std::is_trivially_copyable_v<f8_e4m3> && std::is_trivially_copyable_v<f8_e5m2>);
    static_assert(!std::is_convertible_v<float, f8_e4m3> && !std::is_convertible_v<f8_e5m2, float>);
    static_assert(blend::to_f8_e4m3(448.0f).bits == 0x7E);
    static_assert(blend::to_f32(f8_e5m2::from_bits(0x7B)) == 57344.0f);
    CHECK(f8_e4m3::from_bits(0x42).bits == 0x42);
}

TEST_CASE("E4M3FN golden values (PyTorch Float8_e4m3fn semantics)", "[float8]") {
    CHECK(blend::to_f32(f8_e4m3::from_bits(0x7E)) == 448.0f);   // max
    CHECK(blend::to_f32(f8_e4m3::from_bits(0x01)) == 0x1p-9f);  // min subnormal
    CHECK(blend::to_f32(f8_e4m3::from_bits(0x07)) == 7 * 0x1p-9f);
    CHECK(blend::to_f32(f8_e4m3::from_bits(0x08)) == 0x1p-6f);  // min normal
    CHECK(blend::to_f32(f8_e4m3::from_bits(0x38)) == 1.0f);
    CHECK(std::isnan(blend::to_f32(f8_e4m3::from_bits(0x7F))));
    CHECK(std::isnan(blend::to_f32(f8_e4m3::from_bits(0xFF))));
    CHECK(bits_of(blend::to_f32(f8_e4m3::from_bits(0xFF))) == 0xFFF00000u);  // PyTorch's bits
    CHECK(blend::to_f32(f8_e4m3::from_bits(0x78)) == 256.0f);                // S.1111.000 is a number: no Inf
    CHECK(blend::to_f8_e4m3(448.0f).bits == 0x7E);
    CHECK(blend::to_f8_e4m3(464.0f).bits == 0x7E);     // tie to even
    CHECK(blend::to_f8_e4m3(464.0001f).bits == 0x7F);  // rounds into NaN: no saturation
    CHECK(blend::to_f8_e4m3(480.0f).bits == 0x7F);
    CHECK(blend::to_f8_e4m3(-1e9f).bits == 0xFF);
    CHECK(blend::to_f8_e4m3(HUGE_VALF).bits == 0x7F);
    CHECK(blend::to_f8_e4m3(-HUGE_VALF).bits == 0xFF);
    CHECK(blend::to_f8_e4m3(std::numeric_limits<float>::quiet_NaN()).bits == 0x7F);
    CHECK(blend::to_f8_e4m3(-std::numeric_limits<float>::quiet_NaN()).bits == 0xFF);
    CHECK(blend::to_f8_e4m3(0x1p-10f).bits == 0x00);      // tie to even (zero)
    CHECK(blend::to_f8_e4m3(3 * 0x1p-10f).bits == 0x02);  // tie to even
    CHECK(blend::to_f8_e4m3(-0.0f).bits == 0x80);
}

TEST_CASE("E5M2 golden values (PyTorch Float8_e5m2 semantics)", "[float8]") {
    CHECK(blend::to_f32(f8_e5m2::from_bits(0x7B)) == 57344.0f);  // max
    CHECK(blend::to_f32(f8_e5m2::from_bits(0x01)) == 0x1p-16f);  // min subnormal
    CHECK(blend::to_f32(f8_e5m2::from_bits(0x04)) == 0x1p-14f);  // min normal
    CHECK(blend::to_f32(f8_e5m2::from_bits(0x7C)) == HUGE_VALF);
    CHECK(blend::to_f32(f8_e5m2::from_bits(0xFC)) == -HUGE_VALF);
    CHECK(std::isnan(blend::to_f32(f8_e5m2::from_bits(0x7D))));
    CHECK(std::isnan(blend::to_f32(f8_e5m2::from_bits(0xFF))));
    CHECK(blend::to_f8_e5m2(57344.0f).bits == 0x7B);
    CHECK(blend::to_f8_e5m2(61439.0f).bits == 0x7B);
    CHECK(blend::to_f8_e5m2(61440.0f).bits == 0x7C);  // tie to even: Inf
    CHECK(blend::to_f8_e5m2(-1e9f).bits == 0xFC);
    CHECK(blend::to_f8_e5m2(HUGE_VALF).bits == 0x7C);
    CHECK(blend::to_f8_e5m2(std::numeric_limits<float>::quiet_NaN()).bits == 0x7F);
    CHECK(blend::to_f8_e5m2(-std::numeric_limits<float>::quiet_NaN()).bits == 0xFF);
    CHECK(blend::to_f8_e5m2(float_of(0x7F800001)).bits == 0x7F);  // NaN never becomes Inf
    CHECK(blend::to_f8_e5m2(0x1p-17f).bits == 0x00);
    CHECK(blend::to_f8_e5m2(3 * 0x1p-17f).bits == 0x02);
}

TEST_CASE("all 256 float8 patterns widen exactly and round-trip", "[float8]") {
    for (std::uint32_t b = 0; b < 256; ++b) {
        const auto u8 = static_cast<std::uint8_t>(b);
        const float x4 = blend::to_f32(f8_e4m3::from_bits(u8));
        const float x5 = blend::to_f32(f8_e5m2::from_bits(u8));
        INFO("bits 0x" << std::hex << b);
        REQUIRE(same(x4, e4m3_reference(b)));
        REQUIRE(same(x5, e5m2_reference(b)));
        REQUIRE(std::signbit(x4) == (b >= 0x80));
        REQUIRE(std::signbit(x5) == (b >= 0x80));
        REQUIRE(blend::to_f8_e4m3(x4).bits == b);  // NaN too: only 0x7F/0xFF are NaN, and they stay
        if (std::isnan(x5)) {
            REQUIRE(blend::to_f8_e5m2(x5).bits == (b | 0x7Fu));
        } else {
            REQUIRE(blend::to_f8_e5m2(x5).bits == b);
        }
    }
}

TEST_CASE("float8 rounding: every midpoint ties to even, its neighbours go to nearest", "[float8]") {
    // E4M3FN: adjacent finite values k, k+1 up to 0x7E; past 448 the next step (480) is NaN.
    for (std::uint32_t k = 0; k < 0x7F; ++k) {
        const double lo = e4m3_reference(k);
        const double hi = k + 1 < 0x7F ? e4m3_reference(k + 1) : 480.0;
        const auto mid = static_cast<float>((lo + hi) / 2);
        REQUIRE(static_cast<double>(mid) == (lo + hi) / 2);
        const std::uint32_t even = (k % 2 == 0) ? k : k + 1;
        for (const std::uint32_t sign : {0x00u, 0x80u}) {
            const float s = sign ? -1.0f : 1.0f;
            REQUIRE(blend::to_f8_e4m3(s * mid).bits == (even | sign));
            REQUIRE(blend::to_f8_e4m3(s * std::nextafter(mid, 0.0f)).bits == (k | sign));
            REQUIRE(blend::to_f8_e4m3(s * std::nextafter(mid, HUGE_VALF)).bits == ((k + 1) | sign));
        }
    }
    // E5M2: adjacent finite values up to 0x7B, then Inf (0x7C) as the next step.
    for (std::uint32_t k = 0; k < 0x7C; ++k) {
        const double lo = e5m2_reference(k);
        const double hi = k + 1 < 0x7C ? e5m2_reference(k + 1) : 65536.0;
        const auto mid = static_cast<float>((lo + hi) / 2);
        const std::uint32_t even = (k % 2 == 0) ? k : k + 1;
        for (const std::uint32_t sign : {0x00u, 0x80u}) {
            const float s = sign ? -1.0f : 1.0f;
            REQUIRE(blend::to_f8_e5m2(s * mid).bits == (even | sign));
            REQUIRE(blend::to_f8_e5m2(s * std::nextafter(mid, 0.0f)).bits == (k | sign));
            REQUIRE(blend::to_f8_e5m2(s * std::nextafter(mid, HUGE_VALF)).bits == ((k + 1) | sign));
        }
    }
}

TEST_CASE("float8 narrowing matches a double-arithmetic reference on random floats", "[float8]") {
    std::mt19937 rng{7u};
    std::uniform_int_distribution<std::uint32_t> any_bits;
    std::uniform_int_distribution<std::uint32_t> f8_range{0x36800000u, 0x47900000u};  // 2^-18 .. 73728
    for (int i = 0; i < 200000; ++i) {
        const std::uint32_t b =
            (i % 4 == 0) ? any_bits(rng) : (f8_range(rng) | (any_bits(rng) & 0x80000000u));
        const float x = float_of(b);
        const double e4 = round_reference(x, 4, -6, 448.0, nan_value);
        const double e5 = round_reference(x, 3, -14, 57344.0, HUGE_VAL);
        REQUIRE(same(blend::to_f32(blend::to_f8_e4m3(x)), e4));
        REQUIRE(same(blend::to_f32(blend::to_f8_e5m2(x)), e5));
    }
}

namespace {

std::uint64_t fnv1a64(std::uint64_t h, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) h = (h ^ ((value >> (8 * i)) & 0xFFu)) * 0x100000001B3u;
    return h;
}
constexpr std::uint64_t fnv_offset = 0xCBF29CE484222325u;

// Same input sequence as tests/reference/dtypes_reference.py (and tests/core/half.cpp).
std::uint32_t sequence_input(std::uint64_t i) {
    if (i < (1u << 20)) return static_cast<std::uint32_t>((i * 0x9E3779B1u + 0x7F4A7C15u) & 0xFFFFFFFFu);
    i -= 1u << 20;
    return static_cast<std::uint32_t>(0x33000000u + (i * 0x9E3779B1u) % (0x47800000u - 0x33000000u));
}

struct tricky_row {
    std::uint32_t in;
    std::uint8_t e4m3;
    std::uint8_t e5m2;
};

// Output of tests/reference/dtypes_reference.py, ml_dtypes 0.5.4 columns (NaN rows: isnan only).
constexpr tricky_row tricky[] = {
    {0x00000000u, 0x00, 0x00}, {0x80000000u, 0x80, 0x80}, {0x3F800000u, 0x38, 0x3C},
    {0xBF800000u, 0xB8, 0xBC}, {0x40490FD0u, 0x45, 0x42}, {0x477FE000u, 0x7F, 0x7C},
    {0x477FE100u, 0x7F, 0x7C}, {0x477FEFFFu, 0x7F, 0x7C}, {0x477FF000u, 0x7F, 0x7C},
    {0x47800000u, 0x7F, 0x7C}, {0x7E967699u, 0x7F, 0x7C}, {0x7F7FFFFFu, 0x7F, 0x7C},
    {0x7F800000u, 0x7F, 0x7C}, {0xFF800000u, 0xFF, 0xFC}, {0x7FC00000u, 0x7F, 0x7E},
    {0xFFC00000u, 0xFF, 0xFE}, {0x7F800001u, 0x7F, 0x7E}, {0xFFA00001u, 0xFF, 0xFE},
    {0x7FFFFFFFu, 0x7F, 0x7E}, {0x33800000u, 0x00, 0x00}, {0x33000000u, 0x00, 0x00},
    {0x33000001u, 0x00, 0x00}, {0x33C00000u, 0x00, 0x00}, {0xB3000000u, 0x80, 0x80},
    {0x38800000u, 0x00, 0x04}, {0x387FFFFFu, 0x00, 0x04}, {0x387FC000u, 0x00, 0x04},
    {0x387FE000u, 0x00, 0x04}, {0x00800000u, 0x00, 0x00}, {0x00000001u, 0x00, 0x00},
    {0x007FFFFFu, 0x00, 0x00}, {0x80000001u, 0x80, 0x80}, {0x3F808000u, 0x38, 0x3C},
    {0x3F818000u, 0x38, 0x3C}, {0x3F808001u, 0x38, 0x3C}, {0x7F7F8000u, 0x7F, 0x7C},
    {0x7F7F7FFFu, 0x7F, 0x7C}, {0xFF7F8000u, 0xFF, 0xFC}, {0x3F801000u, 0x38, 0x3C},
    {0x3F803000u, 0x38, 0x3C}, {0x3F801001u, 0x38, 0x3C}, {0x45001000u, 0x7F, 0x68},
    {0x45003000u, 0x7F, 0x68}, {0x3DCCCCCDu, 0x1D, 0x2E}, {0x3EAAAAABu, 0x2B, 0x35},
    {0xC0200000u, 0xC2, 0xC1}, {0x322BCC77u, 0x00, 0x00}, {0x33A10FBAu, 0x00, 0x00},
    {0x43E00000u, 0x7E, 0x5F}, {0x43E80000u, 0x7E, 0x5F}, {0x43E80001u, 0x7F, 0x5F},
    {0x43F00000u, 0x7F, 0x60}, {0x43EFFFFFu, 0x7F, 0x5F}, {0x47600000u, 0x7F, 0x7B},
    {0x476FFFFFu, 0x7F, 0x7B}, {0x47700000u, 0x7F, 0x7C}, {0x3B000000u, 0x01, 0x18},
    {0x3A800000u, 0x00, 0x14}, {0x37800000u, 0x00, 0x01}, {0x37000000u, 0x00, 0x00},
    {0x3C800000u, 0x08, 0x24}, {0x3C7FFFFFu, 0x08, 0x24},
};

}  // namespace

TEST_CASE("float8 conversions match ml_dtypes (reference script)", "[float8]") {
    // Checksums printed by tests/reference/dtypes_reference.py with ml_dtypes 0.5.4; NaN results hashed
    // as 0x7FC00000 (widening) / 0x7F (narrowing).
    std::uint64_t wide_e4 = fnv_offset;
    std::uint64_t wide_e5 = fnv_offset;
    for (std::uint32_t b = 0; b < 256; ++b) {
        const float x4 = blend::to_f32(f8_e4m3::from_bits(static_cast<std::uint8_t>(b)));
        const float x5 = blend::to_f32(f8_e5m2::from_bits(static_cast<std::uint8_t>(b)));
        wide_e4 = fnv1a64(wide_e4, std::isnan(x4) ? 0x7FC00000u : bits_of(x4), 4);
        wide_e5 = fnv1a64(wide_e5, std::isnan(x5) ? 0x7FC00000u : bits_of(x5), 4);
    }
    CHECK(wide_e4 == 0xDAD1D9C50F749CA5u);
    CHECK(wide_e5 == 0x6C1E56B6FB09C905u);

    std::uint64_t narrow_e4 = fnv_offset;
    std::uint64_t narrow_e5 = fnv_offset;
    for (std::uint64_t i = 0; i < (2u << 20); ++i) {
        const float x = float_of(sequence_input(i));
        const f8_e4m3 v4 = blend::to_f8_e4m3(x);
        const f8_e5m2 v5 = blend::to_f8_e5m2(x);
        narrow_e4 = fnv1a64(narrow_e4, std::isnan(blend::to_f32(v4)) ? 0x7Fu : v4.bits, 1);
        narrow_e5 = fnv1a64(narrow_e5, std::isnan(blend::to_f32(v5)) ? 0x7Fu : v5.bits, 1);
    }
    CHECK(narrow_e4 == 0x8BA4B818DFAFFA41u);
    CHECK(narrow_e5 == 0x3403E973D7627138u);

    for (const tricky_row& row : tricky) {
        INFO("float32 bits 0x" << std::hex << row.in);
        const float x = float_of(row.in);
        if (std::isnan(x)) {
            CHECK(blend::to_f8_e4m3(x).bits == (((row.in >> 24) & 0x80u) | 0x7Fu));
            CHECK(std::isnan(blend::to_f32(blend::to_f8_e5m2(x))));
        } else {
            CHECK(blend::to_f8_e4m3(x).bits == row.e4m3);
            CHECK(blend::to_f8_e5m2(x).bits == row.e5m2);
        }
    }
}
