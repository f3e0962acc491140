// Tests for blend/core/dtype.hpp: the dtype enum, names, sizes, storage types and visit_dtype.
#include <blend/core/dtype.hpp>

#include "support/catch.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <type_traits>

namespace {

using blend::dtype;

template <dtype D, class T>
constexpr bool maps_to() {
    const bool same_type = std::is_same_v<blend::storage_t<D>, T>;
    return same_type && blend::dtype_of<T> == D;
}

static_assert(maps_to<dtype::boolean, bool>());
static_assert(maps_to<dtype::u8, std::uint8_t>());
static_assert(maps_to<dtype::i8, std::int8_t>());
static_assert(maps_to<dtype::i16, std::int16_t>());
static_assert(maps_to<dtype::u16, std::uint16_t>());
static_assert(maps_to<dtype::f16, blend::f16>());
static_assert(maps_to<dtype::bf16, blend::bf16>());
static_assert(maps_to<dtype::i32, std::int32_t>());
static_assert(maps_to<dtype::u32, std::uint32_t>());
static_assert(maps_to<dtype::f32, float>());
static_assert(maps_to<dtype::f64, double>());
static_assert(maps_to<dtype::i64, std::int64_t>());
static_assert(maps_to<dtype::u64, std::uint64_t>());
static_assert(maps_to<dtype::f8_e4m3, blend::f8_e4m3>());
static_assert(maps_to<dtype::f8_e5m2, blend::f8_e5m2>());

// element: exactly the storage types, cv-qualifiers ignored.
static_assert(blend::element<float> && blend::element<const blend::bf16> && blend::element<volatile bool>);
static_assert(blend::dtype_of<const double> == dtype::f64);
static_assert(!blend::element<long double>);
static_assert(!blend::element<char>);  // distinct from both int8_t and uint8_t
static_assert(!blend::element<float*>);
static_assert(!blend::element<float&>);
static_assert(!blend::element<std::string>);

// The enum is usable in constant expressions.
static_assert(blend::size_of(dtype::bf16) == 2 && blend::size_of(dtype::f8_e5m2) == 1);
static_assert(blend::name(dtype::bf16) == "bfloat16");
static_assert(blend::dtype_from_safetensors_name("F8_E4M3") == dtype::f8_e4m3);
static_assert(std::size(blend::all_dtypes) == 15);

}  // namespace

TEST_CASE("all_dtypes lists every dtype once, in enum order", "[dtype]") {
    std::set<int> seen;
    int expected = 0;
    for (const dtype t : blend::all_dtypes) {
        CHECK(static_cast<int>(t) == expected++);
        seen.insert(static_cast<int>(t));
    }
    CHECK(seen.size() == 15);
}

TEST_CASE("dtype names round-trip and unknown names are rejected", "[dtype]") {
    std::set<std::string_view> names;
    std::set<std::string_view> safetensors_names;
    for (const dtype t : blend::all_dtypes) {
        INFO(blend::name(t));
        CHECK(blend::dtype_from_name(blend::name(t)) == t);
        CHECK(blend::dtype_from_safetensors_name(blend::safetensors_name(t)) == t);
        names.insert(blend::name(t));
        safetensors_names.insert(blend::safetensors_name(t));
    }
    CHECK(names.size() == 15);
    CHECK(safetensors_names.size() == 15);
    CHECK(blend::safetensors_name(dtype::boolean) == "BOOL");
    CHECK(blend::safetensors_name(dtype::bf16) == "BF16");
    CHECK(blend::safetensors_name(dtype::f8_e5m2) == "F8_E5M2");
    CHECK(blend::name(dtype::f8_e4m3) == "float8_e4m3fn");
    CHECK(blend::name(dtype::boolean) == "bool");
    CHECK_FALSE(blend::dtype_from_name("float128").has_value());
    CHECK_FALSE(blend::dtype_from_name("F32").has_value());  // the two spellings are not mixed
    CHECK_FALSE(blend::dtype_from_safetensors_name("float32").has_value());
    CHECK_FALSE(blend::dtype_from_safetensors_name("").has_value());
}

TEST_CASE("size_of and is_floating agree with the storage types", "[dtype]") {
    for (const dtype t : blend::all_dtypes) {
        INFO(blend::name(t));
        const auto [size, floating] = blend::visit_dtype(t, []<class T>(std::type_identity<T>) {
            return std::pair{sizeof(T), !std::is_integral_v<T>};
        });
        CHECK(blend::size_of(t) == size);
        CHECK(blend::is_floating(t) == floating);
    }
}

TEST_CASE("visit_dtype calls the function with the storage type of the runtime dtype", "[dtype]") {
    for (const dtype t : blend::all_dtypes) {
        const dtype back =
            blend::visit_dtype(t, []<class T>(std::type_identity<T>) { return blend::dtype_of<T>; });
        CHECK(back == t);
    }
    // Usable in constant expressions, and forwards the function's result.
    constexpr std::size_t bf16_size =
        blend::visit_dtype(dtype::bf16, []<class T>(std::type_identity<T>) { return sizeof(T); });
    static_assert(bf16_size == 2);
}
