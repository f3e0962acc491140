// Tests for blend/core/half.hpp: f16 and bf16 storage types and their conversions to and from float.
#include <blend/core/half.hpp>

#include "support/catch.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>

namespace {

using blend::bf16;
using blend::f16;

std::uint32_t bits_of(float x) { return std::bit_cast<std::uint32_t>(x); }
float float_of(std::uint32_t b) { return std::bit_cast<float>(b); }

// Independent reference decoding, in double: (-1)^s · 2^(e - bias) · (1 + m / 2^mbits), subnormal
// (-1)^s · m · 2^(1 - bias - mbits). Returns NaN for the NaN encodings.
double decode_reference(std::uint32_t bits, int ebits, int mbits) {
    const int bias = (1 << (ebits - 1)) - 1;
    const std::uint32_t m = bits & ((1u << mbits) - 1u);
    const int e = static_cast<int>((bits >> mbits) & ((1u << ebits) - 1u));
    const double sign = ((bits >> (ebits + mbits)) & 1u) ? -1.0 : 1.0;
    if (e == (1 << ebits) - 1) return m == 0 ? sign * HUGE_VAL : std::numeric_limits<double>::quiet_NaN();
    if (e == 0) return sign * std::ldexp(static_cast<double>(m), 1 - bias - mbits);
    return sign * std::ldexp(static_cast<double>((1u << mbits) + m), e - bias - mbits);
}

// Independent reference rounding of x to a binary format with `precision` significant bits, smallest
// normal exponent `emin` and largest finite value `max_finite`: round to nearest even in double with an
// unbounded exponent (std::nearbyint, default rounding mode), then overflow to ±Inf.
double round_reference(float x, int precision, int emin, double max_finite) {
    const double a = std::fabs(static_cast<double>(x));
    if (a == 0.0 || std::isinf(a)) return x;
    int e = 0;
    std::frexp(a, &e);  // a = f · 2^e, f in [0.5, 1): leading bit at 2^(e-1)
    const double quantum = std::ldexp(1.0, std::max(e - 1, emin) - (precision - 1));
    const double r = std::nearbyint(a / quantum) * quantum;
    return std::copysign(r > max_finite ? HUGE_VAL : r, static_cast<double>(x));
}

constexpr double f16_max = 65504.0;
constexpr double bf16_max = 3.38953138925153547590470800371487866880e38;  // (2 - 2^-7) · 2^127

}  // namespace

TEST_CASE("f16 and bf16 are two-byte trivially copyable storage types", "[half]") {
    static_assert(sizeof(f16) == 2 && sizeof(bf16) == 2);
    static_assert(std::is_trivially_copyable_v<f16> && std::is_trivially_copyable_v<bf16>);
    static_assert(std::is_standard_layout_v<f16> && std::is_standard_layout_v<bf16>);
    static_assert(std::is_trivially_default_constructible_v<f16>);
    static_assert(!std::is_convertible_v<float, f16> && !std::is_convertible_v<f16, float>);
    static_assert(std::is_constructible_v<f16, float> && std::is_constructible_v<bf16, float>);
    // The conversions are usable in constant expressions.
    static_assert(blend::to_f16(1.0f).bits == 0x3C00);
    static_assert(blend::to_bf16(1.0f).bits == 0x3F80);
    static_assert(blend::to_f32(f16::from_bits(0x3C00)) == 1.0f);
    static_assert(blend::to_f32(bf16::from_bits(0xC020)) == -2.5f);
    static_assert(blend::to_f16(0x1p-24f).bits == 0x0001);
    CHECK(f16::from_bits(0x1234).bits == 0x1234);
    CHECK(static_cast<float>(f16{2.0f}) == 2.0f);
}

TEST_CASE("f16 and bf16 golden values", "[half]") {
    CHECK(blend::to_bf16(3.14159f).bits == 0x4049);
    CHECK(blend::to_f16(65504.0f).bits == 0x7BFF);
    CHECK(blend::to_f32(f16::from_bits(0x7BFF)) == 65504.0f);
    CHECK(blend::to_f16(0x1p-24f).bits == 0x0001);
    CHECK(blend::to_f32(f16::from_bits(0x0001)) == 0x1p-24f);
    CHECK(blend::to_f16(1023 * 0x1p-24f).bits == 0x03FF);  // largest subnormal
    CHECK(blend::to_f32(f16::from_bits(0x03FF)) == 1023 * 0x1p-24f);
    CHECK(blend::to_f16(0x1p-14f).bits == 0x0400);  // smallest normal
    CHECK(blend::to_f16(65519.0f).bits == 0x7BFF);
    CHECK(blend::to_f16(65520.0f).bits == 0x7C00);  // the midpoint to 2^16 ties to even: Inf
    CHECK(blend::to_f16(-65520.0f).bits == 0xFC00);
    CHECK(blend::to_f16(1e10f).bits == 0x7C00);
    CHECK(blend::to_f16(0.0f).bits == 0x0000);
    CHECK(blend::to_f16(-0.0f).bits == 0x8000);
    CHECK(blend::to_bf16(0.0f).bits == 0x0000);
    CHECK(blend::to_bf16(-0.0f).bits == 0x8000);
    CHECK(std::signbit(blend::to_f32(f16::from_bits(0x8000))));
    CHECK(std::signbit(blend::to_f32(bf16::from_bits(0x8000))));
    const float inf = std::numeric_limits<float>::infinity();
    CHECK(blend::to_f16(inf).bits == 0x7C00);
    CHECK(blend::to_f16(-inf).bits == 0xFC00);
    CHECK(blend::to_bf16(inf).bits == 0x7F80);
    CHECK(blend::to_bf16(-inf).bits == 0xFF80);
    CHECK(blend::to_f32(f16::from_bits(0xFC00)) == -inf);
    CHECK(blend::to_f32(bf16::from_bits(0x7F80)) == inf);
    CHECK(blend::to_bf16(std::numeric_limits<float>::max()).bits == 0x7F80);  // rounds past 0x7F7F
    CHECK(blend::to_bf16(float_of(0x7F7F7FFF)).bits == 0x7F7F);
}

TEST_CASE("NaN stays NaN, quiet, with its sign and top payload bits", "[half]") {
    const float qnan = std::numeric_limits<float>::quiet_NaN();
    CHECK(blend::to_f16(qnan).bits == 0x7E00);
    CHECK(blend::to_f16(-qnan).bits == 0xFE00);
    CHECK(blend::to_bf16(qnan).bits == 0x7FC0);
    CHECK(blend::to_bf16(-qnan).bits == 0xFFC0);
    // A signaling NaN whose payload lies below the kept bits must not become Inf.
    CHECK(blend::to_f16(float_of(0x7F800001)).bits == 0x7E00);
    CHECK(blend::to_bf16(float_of(0x7F800001)).bits == 0x7FC0);
    CHECK(blend::to_bf16(float_of(0xFF812345)).bits == 0xFFC1);
    CHECK(blend::to_f16(float_of(0xFFA02000)).bits == 0xFF01);
    // Widening quiets and keeps the payload.
    CHECK(bits_of(blend::to_f32(f16::from_bits(0x7C01))) == 0x7FC02000);
    CHECK(bits_of(blend::to_f32(f16::from_bits(0xFE00))) == 0xFFC00000);
    CHECK(bits_of(blend::to_f32(bf16::from_bits(0x7F81))) == 0x7FC10000);
    CHECK(bits_of(blend::to_f32(bf16::from_bits(0xFFC0))) == 0xFFC00000);
}

TEST_CASE("all 65536 f16 patterns widen exactly and round-trip", "[half]") {
    for (std::uint32_t b = 0; b < 0x10000; ++b) {
        const auto h = f16::from_bits(static_cast<std::uint16_t>(b));
        const float x = blend::to_f32(h);
        const double expected = decode_reference(b, 5, 10);
        if (std::isnan(expected)) {
            REQUIRE(std::isnan(x));
            REQUIRE((bits_of(x) >> 31) == (b >> 15));                           // sign kept
            REQUIRE(((bits_of(x) >> 13) & 0x3FFu) == ((b & 0x3FFu) | 0x200u));  // payload kept, quiet
            REQUIRE((blend::to_f16(x).bits | 0x200u) == (b | 0x200u));
        } else {
            REQUIRE(static_cast<double>(x) == expected);
            REQUIRE(std::signbit(x) == ((b >> 15) != 0));
            REQUIRE(blend::to_f16(x).bits == b);
        }
    }
}

TEST_CASE("all 65536 bf16 patterns widen exactly and round-trip", "[half]") {
    for (std::uint32_t b = 0; b < 0x10000; ++b) {
        const auto h = bf16::from_bits(static_cast<std::uint16_t>(b));
        const float x = blend::to_f32(h);
        const double expected = decode_reference(b, 8, 7);
        if (std::isnan(expected)) {
            REQUIRE(std::isnan(x));
            REQUIRE(bits_of(x) == ((b << 16) | 0x00400000u));
            REQUIRE(blend::to_bf16(x).bits == (b | 0x40u));
        } else {
            REQUIRE(static_cast<double>(x) == expected);
            REQUIRE(std::signbit(x) == ((b >> 15) != 0));
            REQUIRE(blend::to_bf16(x).bits == b);
        }
    }
}

TEST_CASE("f32 to f16 rounds every midpoint to even and its neighbours to nearest", "[half]") {
    for (std::uint32_t k = 0; k < 0x7C00; ++k) {
        // Midpoint between k and k + 1, in double; exact in float (12 significant bits at most).
        const double lo = decode_reference(k, 5, 10);
        const double hi = k + 1 < 0x7C00 ? decode_reference(k + 1, 5, 10) : 65536.0;
        const auto mid = static_cast<float>((lo + hi) / 2);
        REQUIRE(static_cast<double>(mid) == (lo + hi) / 2);
        const std::uint32_t even = (k % 2 == 0) ? k : k + 1;
        const float below = std::nextafter(mid, 0.0f);
        const float above = std::nextafter(mid, HUGE_VALF);
        for (const std::uint32_t sign : {0x0000u, 0x8000u}) {
            const float s = sign ? -1.0f : 1.0f;
            REQUIRE(blend::to_f16(s * mid).bits == (even | sign));
            REQUIRE(blend::to_f16(s * below).bits == (k | sign));
            REQUIRE(blend::to_f16(s * above).bits == ((k + 1) | sign));
        }
    }
}

TEST_CASE("f32 to bf16 rounds every midpoint to even and its neighbours to nearest", "[half]") {
    for (std::uint32_t k = 0; k < 0x7F80; ++k) {
        const double lo = decode_reference(k, 8, 7);
        const double hi = k + 1 < 0x7F80 ? decode_reference(k + 1, 8, 7) : std::ldexp(1.0, 128);
        const double mid_exact = (lo + hi) / 2;
        const float mid = float_of((k << 16) | 0x8000u);
        REQUIRE(static_cast<double>(mid) == mid_exact);
        const std::uint32_t even = (k % 2 == 0) ? k : k + 1;
        for (const std::uint32_t sign : {0x0000u, 0x8000u}) {
            const float s = sign ? -1.0f : 1.0f;
            REQUIRE(blend::to_bf16(s * mid).bits == (even | sign));
            REQUIRE(blend::to_bf16(s * std::nextafter(mid, 0.0f)).bits == (k | sign));
            REQUIRE(blend::to_bf16(s * std::nextafter(mid, HUGE_VALF)).bits == ((k + 1) | sign));
        }
    }
}

TEST_CASE("f32 to f16 and bf16 match a double-arithmetic reference on random floats", "[half]") {
    std::mt19937 rng{20240611u};
    std::uniform_int_distribution<std::uint32_t> any_bits;
    std::uniform_int_distribution<std::uint32_t> f16_range{0x33000000u, 0x47800000u};
    for (int i = 0; i < 400000; ++i) {
        const std::uint32_t b =
            (i % 2 == 0) ? any_bits(rng) : (f16_range(rng) | (any_bits(rng) & 0x80000000u));
        const float x = float_of(b);
        const float h = blend::to_f32(blend::to_f16(x));
        const float bf = blend::to_f32(blend::to_bf16(x));
        if (std::isnan(x)) {
            REQUIRE((std::isnan(h) && std::isnan(bf)));
            continue;
        }
        const double expected_h = round_reference(x, 11, -14, f16_max);
        const double expected_bf = round_reference(x, 8, -126, bf16_max);
        REQUIRE(static_cast<double>(h) == expected_h);
        REQUIRE(std::signbit(h) == std::signbit(x));
        REQUIRE(static_cast<double>(bf) == expected_bf);
        REQUIRE(std::signbit(bf) == std::signbit(x));
    }
}

namespace {

std::uint64_t fnv1a64(std::uint64_t h, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) {
        h = (h ^ ((value >> (8 * i)) & 0xFFu)) * 0x100000001B3u;
    }
    return h;
}
constexpr std::uint64_t fnv_offset = 0xCBF29CE484222325u;

// The reference script's narrowing inputs: 2^20 Weyl-sequence patterns over all of float32, then 2^20
// over [2^-25, 2^16).
std::uint32_t sequence_input(std::uint64_t i) {
    if (i < (1u << 20)) return static_cast<std::uint32_t>((i * 0x9E3779B1u + 0x7F4A7C15u) & 0xFFFFFFFFu);
    i -= 1u << 20;
    return static_cast<std::uint32_t>(0x33000000u + (i * 0x9E3779B1u) % (0x47800000u - 0x33000000u));
}

std::uint32_t quiet_if_nan(std::uint32_t b) { return (b & 0x7FFFFFFFu) > 0x7F800000u ? b | 0x00400000u : b; }

struct tricky_row {
    std::uint32_t in;
    std::uint16_t f16_bits;
    std::uint16_t bf16_bits;
};

// Output of tests/reference/dtypes_reference.py (numpy 1.24.2 for f16, torch 1.13 for bf16); NaN rows
// are checked with isnan only, the tools differ in NaN bits.
constexpr tricky_row tricky[] = {
    {0x00000000u, 0x0000, 0x0000}, {0x80000000u, 0x8000, 0x8000}, {0x3F800000u, 0x3C00, 0x3F80},
    {0xBF800000u, 0xBC00, 0xBF80}, {0x40490FD0u, 0x4248, 0x4049}, {0x477FE000u, 0x7BFF, 0x4780},
    {0x477FE100u, 0x7BFF, 0x4780}, {0x477FEFFFu, 0x7BFF, 0x4780}, {0x477FF000u, 0x7C00, 0x4780},
    {0x47800000u, 0x7C00, 0x4780}, {0x7E967699u, 0x7C00, 0x7E96}, {0x7F7FFFFFu, 0x7C00, 0x7F80},
    {0x7F800000u, 0x7C00, 0x7F80}, {0xFF800000u, 0xFC00, 0xFF80}, {0x7FC00000u, 0x7E00, 0xFFFF},
    {0xFFC00000u, 0xFE00, 0xFFFF}, {0x7F800001u, 0x7C01, 0xFFFF}, {0xFFA00001u, 0xFD00, 0xFFFF},
    {0x7FFFFFFFu, 0x7FFF, 0xFFFF}, {0x33800000u, 0x0001, 0x3380}, {0x33000000u, 0x0000, 0x3300},
    {0x33000001u, 0x0001, 0x3300}, {0x33C00000u, 0x0002, 0x33C0}, {0xB3000000u, 0x8000, 0xB300},
    {0x38800000u, 0x0400, 0x3880}, {0x387FFFFFu, 0x0400, 0x3880}, {0x387FC000u, 0x03FF, 0x3880},
    {0x387FE000u, 0x0400, 0x3880}, {0x00800000u, 0x0000, 0x0080}, {0x00000001u, 0x0000, 0x0000},
    {0x007FFFFFu, 0x0000, 0x0080}, {0x80000001u, 0x8000, 0x8000}, {0x3F808000u, 0x3C04, 0x3F80},
    {0x3F818000u, 0x3C0C, 0x3F82}, {0x3F808001u, 0x3C04, 0x3F81}, {0x7F7F8000u, 0x7C00, 0x7F80},
    {0x7F7F7FFFu, 0x7C00, 0x7F7F}, {0xFF7F8000u, 0xFC00, 0xFF80}, {0x3F801000u, 0x3C00, 0x3F80},
    {0x3F803000u, 0x3C02, 0x3F80}, {0x3F801001u, 0x3C01, 0x3F80}, {0x45001000u, 0x6800, 0x4500},
    {0x45003000u, 0x6802, 0x4500}, {0x3DCCCCCDu, 0x2E66, 0x3DCD}, {0x3EAAAAABu, 0x3555, 0x3EAB},
    {0xC0200000u, 0xC100, 0xC020}, {0x322BCC77u, 0x0000, 0x322C}, {0x33A10FBAu, 0x0001, 0x33A1},
    {0x43E00000u, 0x5F00, 0x43E0}, {0x43E80000u, 0x5F40, 0x43E8}, {0x43E80001u, 0x5F40, 0x43E8},
    {0x43F00000u, 0x5F80, 0x43F0}, {0x43EFFFFFu, 0x5F80, 0x43F0}, {0x47600000u, 0x7B00, 0x4760},
    {0x476FFFFFu, 0x7B80, 0x4770}, {0x47700000u, 0x7B80, 0x4770}, {0x3B000000u, 0x1800, 0x3B00},
    {0x3A800000u, 0x1400, 0x3A80}, {0x37800000u, 0x0100, 0x3780}, {0x37000000u, 0x0080, 0x3700},
    {0x3C800000u, 0x2400, 0x3C80}, {0x3C7FFFFFu, 0x2400, 0x3C80},
};

}  // namespace

TEST_CASE("f16 and bf16 conversions match numpy and torch (reference script)", "[half]") {
    // Checksums printed by tests/reference/dtypes_reference.py (numpy 1.24.2, torch 1.13.0).
    std::uint64_t wide_f16 = fnv_offset;
    std::uint64_t wide_bf16 = fnv_offset;
    for (std::uint32_t b = 0; b < 0x10000; ++b) {
        const auto b16 = static_cast<std::uint16_t>(b);
        wide_f16 = fnv1a64(wide_f16, quiet_if_nan(bits_of(blend::to_f32(f16::from_bits(b16)))), 4);
        wide_bf16 = fnv1a64(wide_bf16, quiet_if_nan(bits_of(blend::to_f32(bf16::from_bits(b16)))), 4);
    }
    CHECK(wide_f16 == 0x5D79F1B086F30345u);
    CHECK(wide_bf16 == 0x446E9707B1D12D25u);

    std::uint64_t narrow_f16 = fnv_offset;
    std::uint64_t narrow_bf16 = fnv_offset;
    for (std::uint64_t i = 0; i < (2u << 20); ++i) {
        const float x = float_of(sequence_input(i));
        const bool nan = std::isnan(x);
        narrow_f16 = fnv1a64(narrow_f16, nan ? 0x7E00u : blend::to_f16(x).bits, 2);
        narrow_bf16 = fnv1a64(narrow_bf16, nan ? 0x7FC0u : blend::to_bf16(x).bits, 2);
    }
    CHECK(narrow_f16 == 0x6FF669D217057BEAu);
    CHECK(narrow_bf16 == 0xFC4518F4CE133F1Eu);

    for (const tricky_row& row : tricky) {
        INFO("float32 bits 0x" << std::hex << row.in);
        const float x = float_of(row.in);
        if (std::isnan(x)) {
            CHECK(std::isnan(blend::to_f32(blend::to_f16(x))));
            CHECK(std::isnan(blend::to_f32(blend::to_bf16(x))));
        } else {
            CHECK(blend::to_f16(x).bits == row.f16_bits);
            CHECK(blend::to_bf16(x).bits == row.bf16_bits);
        }
    }
}
