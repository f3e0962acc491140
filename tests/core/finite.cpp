#include <blend/core/finite.hpp>

#include "support/catch.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace {

template <class T>
void check_every_position() {
    const T specials[] = {std::numeric_limits<T>::quiet_NaN(), -std::numeric_limits<T>::quiet_NaN(),
                          std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity(),
                          std::numeric_limits<T>::signaling_NaN()};
    std::vector<T> values(37);
    for (std::size_t k = 0; k < values.size(); ++k) values[k] = static_cast<T>(k) - T{18.5};
    REQUIRE(blend::all_finite(std::span<const T>(values)));
    REQUIRE(blend::first_non_finite(std::span<const T>(values)) == values.size());
    for (const T special : specials) {
        for (std::size_t k = 0; k < values.size(); ++k) {
            std::vector<T> copy = values;
            copy[k] = special;
            CHECK_FALSE(blend::all_finite(std::span<const T>(copy)));
            CHECK(blend::first_non_finite(std::span<const T>(copy)) == k);
        }
    }
}

}  // namespace

TEST_CASE("all_finite finds NaN and Inf at every position, float and double", "[core][finite]") {
    check_every_position<float>();
    check_every_position<double>();
}

TEST_CASE("all_finite accepts the extremes of the finite range", "[core][finite]") {
    const float f[] = {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                       std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(), -0.0f};
    const double d[] = {std::numeric_limits<double>::max(), -std::numeric_limits<double>::max(),
                        std::numeric_limits<double>::denorm_min(), -0.0};
    CHECK(blend::all_finite(std::span<const float>(f)));
    CHECK(blend::all_finite(std::span<const double>(d)));
    CHECK(blend::all_finite(std::span<const float>{}));
}
