// Regression tests for the xtensor <= 0.25 C++20/GCC miscompile (XTENSOR.md, fact 1), built twice, at
// -O0 and -O2 (tests/CMakeLists.txt). Without blend's backport in blend/core/detail/xtensor.hpp, the
// transpose case does not compile under GCC -std=c++20, and the other three throw
// bad_array_new_length (-O0) or crash (-O2).
#include <blend/core/detail/xtensor.hpp>

#include "support/catch.hpp"

namespace {
xt::xarray<double> two_by_three() { return xt::xarray<double>{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}; }
}  // namespace

TEST_CASE("xarray temporaries keep a dynamic rank", "[xtensor][regression]") {
    using temporary = xt::temporary_type_t<xt::xarray<double>>;
    STATIC_REQUIRE(std::is_same_v<temporary, xt::xarray<double>>);
}

TEST_CASE("eval of a transposed xarray is the transpose", "[xtensor][regression]") {
    const auto a = two_by_three();
    const auto t = xt::eval(xt::transpose(a));
    REQUIRE(t.dimension() == 2);
    REQUIRE(t.shape()[0] == 3);
    REQUIRE(t.shape()[1] == 2);
    CHECK(t(2, 1) == 6.0);
    CHECK(t(0, 1) == 4.0);
}

TEST_CASE("immediate mean of an xarray is the mean", "[xtensor][regression]") {
    const auto a = two_by_three();
    CHECK(xt::mean(a, xt::evaluation_strategy::immediate)() == 3.5);
    CHECK(xt::mean(a)() == 3.5);
}

TEST_CASE("immediate sum of an xarray is the sum", "[xtensor][regression]") {
    const auto a = two_by_three();
    CHECK(xt::sum(a, xt::evaluation_strategy::immediate)() == 21.0);
    const xt::xarray<double> rows = xt::sum(a, {1}, xt::evaluation_strategy::immediate);
    REQUIRE(rows.shape()[0] == 2);
    CHECK(rows(0) == 6.0);
    CHECK(rows(1) == 15.0);
}

TEST_CASE("tile of an xarray repeats it", "[xtensor][regression]") {
    const auto a = two_by_three();
    const xt::xarray<double> tiled = xt::tile(a, {2, 1});
    REQUIRE(tiled.dimension() == 2);
    REQUIRE(tiled.shape()[0] == 4);
    REQUIRE(tiled.shape()[1] == 3);
    CHECK(tiled(3, 2) == 6.0);
    CHECK(tiled(2, 0) == 1.0);
}
