// Tests for blend/core/convert.hpp: typed `convert` and runtime-typed `convert_bytes`.
#include <blend/core/convert.hpp>

#include "support/catch.hpp"
#include "support/isa_levels.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <vector>

namespace {

using blend::bf16;
using blend::dtype;
using blend::f16;

constexpr std::size_t sample_count = 1000;  // > one 256-element chunk, not a multiple of 64

// Values every dtype is tried with (converted to the source type with blend's own rules first).
// clang-format off
constexpr double specials[] = {
    0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.5, 127.0, 128.0, -129.0, 255.0, 256.0, 300.0, -300.0,
    32767.0, 32768.0, 65504.0, 65520.0, 70000.0, -70000.0, 1e10, -1e10, 1e30, -1e30, 1e300, -1e300,
    1e-40, -1e-40, 3.14159, 2147483648.0, -2147483649.0, 4294967296.0, 9223372036854775808.0,
    -9223372036854775808.0, 18446744073709551616.0, HUGE_VAL, -HUGE_VAL,
    std::numeric_limits<double>::quiet_NaN(),
};
// clang-format on

template <class T>
std::unique_ptr<T[]> sample_values(std::mt19937_64& rng) {
    auto values = std::make_unique<T[]>(sample_count);
    std::size_t i = 0;
    for (double d : specials) values[i++] = blend::detail::convert_value<T>(d);
    std::normal_distribution<double> normal{0.0, 1.0};
    for (; i < sample_count / 2; ++i) {
        const double magnitude = std::ldexp(normal(rng), static_cast<int>(rng() % 80) - 20);
        values[i] = blend::detail::convert_value<T>(magnitude);
    }
    for (; i < sample_count; ++i) {
        if constexpr (std::is_same_v<T, bool>) {
            values[i] = (rng() & 1u) != 0;
        } else {
            const std::uint64_t raw = rng();
            std::memcpy(&values[i], &raw, sizeof(T));  // any bit pattern, NaNs included
        }
    }
    return values;
}

// The object representation of n elements (NaN payloads and bool bytes included).
template <class T>
std::vector<std::byte> bytes_of(const T* p, std::size_t n) {
    std::vector<std::byte> bytes(n * sizeof(T));
    std::memcpy(bytes.data(), p, bytes.size());
    return bytes;
}

template <class T>
std::span<const T> view(const std::unique_ptr<T[]>& p) {
    return {p.get(), sample_count};
}

}  // namespace

TEST_CASE("convert_bytes on misaligned buffers equals the typed convert for every dtype pair", "[convert]") {
    std::mt19937_64 rng{12345u};
    std::size_t pairs = 0;
    for (const dtype from : blend::all_dtypes) {
        blend::visit_dtype(from, [&]<class From>(std::type_identity<From>) {
            const auto source = sample_values<From>(rng);
            for (const dtype to : blend::all_dtypes) {
                blend::visit_dtype(to, [&]<class To>(std::type_identity<To>) {
                    INFO(blend::name(from) << " -> " << blend::name(to));
                    auto typed = std::make_unique<To[]>(sample_count);
                    blend::convert(view(source), std::span<To>{typed.get(), sample_count});
                    const std::vector<std::byte> expected = bytes_of(typed.get(), sample_count);
                    for (std::size_t offset : {1u, 3u}) {
                        std::vector<std::byte> in(sample_count * sizeof(From) + offset);
                        std::vector<std::byte> out(sample_count * sizeof(To) + offset, std::byte{0xA5});
                        std::memcpy(in.data() + offset, source.get(), sample_count * sizeof(From));
                        blend::convert_bytes(from, in.data() + offset, to, out.data() + offset, sample_count);
                        REQUIRE(std::equal(out.begin() + static_cast<std::ptrdiff_t>(offset), out.end(),
                                           expected.begin(), expected.end()));
                        REQUIRE(out[0] == std::byte{0xA5});  // nothing written before the buffer
                    }
                    for (std::size_t i = 0; i < sample_count; ++i) {
                        const To one = blend::detail::convert_value<To>(source[i]);
                        REQUIRE(bytes_of(&one, 1) == bytes_of(&typed[i], 1));
                    }
                    ++pairs;
                });
            }
        });
    }
    CHECK(pairs == std::size(blend::all_dtypes) * std::size(blend::all_dtypes));
}

TEST_CASE("convert_bytes_to / convert_bytes_from equal convert_bytes at every instruction-set level", "[convert][isa]") {
    std::mt19937_64 rng{777u};
    for (const dtype other : blend::all_dtypes) {
        blend::visit_dtype(other, [&]<class Other>(std::type_identity<Other>) {
            const auto source = sample_values<Other>(rng);
            const auto* source_bytes = reinterpret_cast<const std::byte*>(source.get());
            // The merge kernels' math types: float32 and float64, both directions.
            auto check_math_type = [&]<class M>(std::type_identity<M>) {
                INFO(blend::name(other) << " <-> " << blend::name(blend::dtype_of<M>));
                std::vector<M> expected_to(sample_count);
                blend::convert_bytes(other, source_bytes, blend::dtype_of<M>, reinterpret_cast<std::byte*>(expected_to.data()), sample_count);
                const auto values = sample_values<M>(rng);
                std::vector<std::byte> expected_from(sample_count * sizeof(Other));
                blend::convert_bytes(blend::dtype_of<M>, reinterpret_cast<const std::byte*>(values.get()), other, expected_from.data(), sample_count);
                blend::test::for_each_isa_level([&](blend::isa_level level) {
                    INFO(blend::name(level));
                    std::vector<M> to(sample_count);
                    blend::convert_bytes_to<M>(other, source_bytes, to.data(), sample_count);
                    CHECK(bytes_of(to.data(), sample_count) == bytes_of(expected_to.data(), sample_count));
                    std::vector<std::byte> from(sample_count * sizeof(Other));
                    blend::convert_bytes_from<M>(values.get(), other, from.data(), sample_count);
                    CHECK(from == expected_from);
                });
            };
            check_math_type(std::type_identity<float>{});
            check_math_type(std::type_identity<double>{});
        });
    }
}

TEST_CASE("convert rejects spans of different sizes", "[convert]") {
    std::vector<float> in(4, 1.0f);
    std::vector<bf16> out(3);
    CHECK_THROWS_AS(blend::convert(std::span<const float>{in}, std::span<bf16>{out}),
                    blend::invalid_argument);
    CHECK_THROWS_AS(blend::convert(std::span<float>{in}, std::span<bf16>{out}), blend::error);
    std::vector<float> same(3);
    CHECK_THROWS_AS(blend::convert(std::span<float>{in}, std::span<float>{same}), blend::invalid_argument);
}

TEST_CASE("convert handles empty input, identical types and in-place copies", "[convert]") {
    blend::convert(std::span<const float>{}, std::span<double>{});
    blend::convert_bytes(dtype::f32, nullptr, dtype::bf16, nullptr, 0);
    std::vector<float> a{1.0f, 2.0f, 3.0f};
    std::vector<float> b(3);
    blend::convert(std::span<float>{a}, std::span<float>{b});
    CHECK(b == a);
    blend::convert(std::span<float>{a}, std::span<float>{a});
    CHECK(a == std::vector<float>{1.0f, 2.0f, 3.0f});
    auto* bytes = reinterpret_cast<std::byte*>(a.data());
    blend::convert_bytes(dtype::f32, bytes, dtype::f32, bytes, a.size());
    CHECK(a == std::vector<float>{1.0f, 2.0f, 3.0f});
}

TEST_CASE("float to integer truncates toward zero, clamps and maps NaN to 0", "[convert]") {
    using blend::detail::convert_value;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(convert_value<std::int32_t>(-1.5f) == -1);
    CHECK(convert_value<std::int32_t>(2.9) == 2);
    CHECK(convert_value<std::int8_t>(300.0) == 127);
    CHECK(convert_value<std::int8_t>(-300.0f) == -128);
    CHECK(convert_value<std::int8_t>(-128.9) == -128);
    CHECK(convert_value<std::uint8_t>(-1.5f) == 0);
    CHECK(convert_value<std::uint8_t>(255.9) == 255);
    CHECK(convert_value<std::uint8_t>(256.0) == 255);
    CHECK(convert_value<std::int64_t>(1e30) == std::numeric_limits<std::int64_t>::max());
    CHECK(convert_value<std::int64_t>(-1e30f) == std::numeric_limits<std::int64_t>::min());
    CHECK(convert_value<std::int64_t>(9223372036854775808.0) == std::numeric_limits<std::int64_t>::max());
    CHECK(convert_value<std::int64_t>(-9223372036854775808.0) == std::numeric_limits<std::int64_t>::min());
    CHECK(convert_value<std::int64_t>(9223372036854774784.0) == 9223372036854774784);
    CHECK(convert_value<std::uint64_t>(18446744073709549568.0) == 18446744073709549568u);
    CHECK(convert_value<std::uint64_t>(18446744073709551616.0) == std::numeric_limits<std::uint64_t>::max());
    CHECK(convert_value<std::uint32_t>(4294967295.0) == 4294967295u);
    CHECK(convert_value<std::uint32_t>(4294967296.0f) == 4294967295u);
    CHECK(convert_value<std::int32_t>(nan) == 0);
    CHECK(convert_value<std::uint16_t>(std::numeric_limits<float>::quiet_NaN()) == 0);
    CHECK(convert_value<std::int16_t>(f16::from_bits(0x7C00)) == 32767);        // +Inf
    CHECK(convert_value<std::int16_t>(f16::from_bits(0xFC00)) == -32768);       // -Inf
    CHECK(convert_value<std::int32_t>(bf16::from_bits(0x7FC0)) == 0);           // NaN
    CHECK(convert_value<std::int32_t>(blend::f8_e4m3::from_bits(0xC2)) == -2);  // -2.5
}

TEST_CASE("integer to integer wraps modulo 2^N and bool is x != 0", "[convert]") {
    using blend::detail::convert_value;
    CHECK(convert_value<std::int8_t>(std::int32_t{300}) == 44);
    CHECK(convert_value<std::uint8_t>(std::int16_t{-1}) == 255);
    CHECK(convert_value<std::int32_t>(std::uint64_t{0xFFFFFFFF00000005u}) == 5);
    CHECK(convert_value<bool>(0.5f));
    CHECK(convert_value<bool>(std::numeric_limits<double>::quiet_NaN()));
    CHECK_FALSE(convert_value<bool>(-0.0));
    CHECK_FALSE(convert_value<bool>(f16::from_bits(0x8000)));
    CHECK(convert_value<bool>(bf16::from_bits(0x0001)));  // a subnormal is nonzero
    CHECK(convert_value<bool>(std::int64_t{-7}));
    CHECK(convert_value<f16>(true).bits == 0x3C00);
    CHECK(convert_value<std::int32_t>(true) == 1);
    CHECK(convert_value<double>(false) == 0.0);
}

TEST_CASE("convert_bytes reads any nonzero BOOL byte as true", "[convert]") {
    const std::array<std::byte, 4> in{std::byte{0}, std::byte{1}, std::byte{2}, std::byte{0xFF}};
    std::array<std::byte, 16> out{};
    blend::convert_bytes(dtype::boolean, in.data(), dtype::f32, out.data(), 4);
    std::array<float, 4> values{};
    std::memcpy(values.data(), out.data(), sizeof(values));
    CHECK(values == std::array<float, 4>{0.0f, 1.0f, 1.0f, 1.0f});
    std::array<std::byte, 4> normalized{};
    blend::convert_bytes(dtype::boolean, in.data(), dtype::boolean, normalized.data(), 4);
    CHECK(normalized == std::array<std::byte, 4>{std::byte{0}, std::byte{1}, std::byte{1}, std::byte{1}});
}

TEST_CASE("double and integer sources round once to the small float formats", "[convert]") {
    using blend::detail::convert_value;
    // Just above a tie of the target, but a tie after rounding to float first (PyTorch's two-step path
    // would give the even neighbour below).
    CHECK(convert_value<f16>(1.0 + 0x1p-11 + 0x1p-40).bits == 0x3C01);
    CHECK(convert_value<bf16>(1.0 + 0x1p-8 + 0x1p-30).bits == 0x3F81);
    CHECK(convert_value<blend::f8_e4m3>(1.0 + 0x1p-4 + 0x1p-30).bits == 0x39);
    CHECK(convert_value<bf16>(std::int32_t{16842753}).bits == 0x4B81);  // 2^24 + 2^16 + 1
    CHECK(convert_value<bf16>(std::int32_t{16842752}).bits == 0x4B80);  // exact tie: even
    CHECK(convert_value<f16>(1.0 + 0x1p-11).bits == 0x3C00);            // exact tie: even
    CHECK(convert_value<bf16>(1e300).bits == 0x7F80);
    CHECK(convert_value<bf16>(-1e300).bits == 0xFF80);
    CHECK(convert_value<bf16>(3.3895313892515355e38).bits == 0x7F7F);  // bf16 max exactly
    CHECK(convert_value<f16>(HUGE_VAL).bits == 0x7C00);
    CHECK(convert_value<f16>(1e-300).bits == 0x0000);
    CHECK(convert_value<f16>(-1e-300).bits == 0x8000);
    CHECK(std::isnan(blend::to_f32(convert_value<bf16>(std::numeric_limits<double>::quiet_NaN()))));
    CHECK(convert_value<blend::f8_e4m3>(1e300).bits == 0x7F);
    CHECK(convert_value<blend::f8_e5m2>(-1e300).bits == 0xFC);

    // Random doubles against rounding in double arithmetic: nearest f16, ties to even.
    std::mt19937_64 rng{99u};
    std::uniform_real_distribution<double> mantissa{1.0, 2.0};
    for (int i = 0; i < 200000; ++i) {
        const double d =
            std::ldexp(mantissa(rng), static_cast<int>(rng() % 44) - 28) * ((rng() & 1u) ? -1 : 1);
        int e = 0;
        std::frexp(d, &e);
        const double quantum = std::ldexp(1.0, std::max(e - 1, -14) - 10);
        double expected = std::nearbyint(d / quantum) * quantum;
        if (std::fabs(expected) > 65504.0) expected = std::copysign(HUGE_VAL, d);
        REQUIRE(static_cast<double>(blend::to_f32(convert_value<f16>(d))) == expected);
    }
}

TEST_CASE("the hot typed pairs convert exactly through the small-float functions", "[convert]") {
    std::vector<bf16> b(300);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = bf16::from_bits(static_cast<std::uint16_t>(i * 211u));
    std::vector<float> f(b.size());
    blend::convert(std::span<bf16>{b}, std::span<float>{f});
    std::vector<f16> h(f.size());
    blend::convert(std::span<float>{f}, std::span<f16>{h});
    std::vector<double> d(f.size());
    blend::convert(std::span<float>{f}, std::span<double>{d});
    for (std::size_t i = 0; i < b.size(); ++i) {
        REQUIRE(std::bit_cast<std::uint32_t>(f[i]) == std::bit_cast<std::uint32_t>(blend::to_f32(b[i])));
        REQUIRE(h[i].bits == blend::to_f16(f[i]).bits);
        REQUIRE((std::isnan(d[i]) ? std::isnan(f[i]) : d[i] == static_cast<double>(f[i])));
    }
}
