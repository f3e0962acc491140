// Tests for blend/core/tensor_view.hpp.
#include <blend/core/tensor_view.hpp>

#include "support/catch.hpp"

#include <vector>

TEST_CASE("tensor_view views a span with a shape", "[tensor_view]") {
    std::vector<float> storage{1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
    blend::tensor_view<float> v(std::span<float>(storage), {3, 2});
    CHECK(v.data() == storage.data());
    CHECK(v.dimension() == 2);
    CHECK(blend::tensor_shape(v) == blend::shape_type{3, 2});
    blend::tensor_data(v)[5] = 60.f;
    CHECK(storage[5] == 60.f);
}

TEST_CASE("tensor_view rejects a shape that does not match the span", "[tensor_view]") {
    std::vector<float> storage(5);
    CHECK_THROWS_AS(blend::tensor_view<float>(std::span<float>(storage), {2, 3}), blend::shape_error);
    CHECK_THROWS_WITH(blend::tensor_view<float>(std::span<float>(storage), {2, 3}),
                      "tensor_view: shape [2, 3] holds 6 elements but the span has 5");
}

TEST_CASE("tensor_view of an xtensor container aliases it", "[tensor_view]") {
    xt::xtensor<double, 2> a = {{1.0, 2.0}, {3.0, 4.0}};
    blend::tensor_view view(a);
    STATIC_REQUIRE(std::is_same_v<decltype(view), blend::tensor_view<double>>);
    CHECK(view.data() == a.data());
    const auto& ca = a;
    blend::tensor_view cview(ca);
    STATIC_REQUIRE(std::is_same_v<decltype(cview), blend::tensor_view<const double>>);
    CHECK(cview.shape() == blend::shape_type{2, 2});
}

TEST_CASE("any_tensor_view carries the dtype, shape and bytes of a typed tensor", "[tensor_view]") {
    const xt::xarray<blend::bf16> a = xt::xarray<blend::bf16>::from_shape({2, 3});
    const auto any = blend::any_tensor_view::of(a);
    CHECK(any.type == blend::dtype::bf16);
    CHECK(any.shape == blend::shape_type{2, 3});
    CHECK(any.size() == 6);
    CHECK(any.bytes.size() == 12);
    CHECK(static_cast<const void*>(any.bytes.data()) == static_cast<const void*>(a.data()));
}
