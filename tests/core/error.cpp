// Tests for blend/core/error.hpp.
#include <blend/core/error.hpp>

#include "support/catch.hpp"

#include <string>

TEST_CASE("every blend exception is a blend::error and a std::runtime_error", "[error]") {
    STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, blend::error>);
    STATIC_REQUIRE(std::is_base_of_v<blend::error, blend::io_error>);
    STATIC_REQUIRE(std::is_base_of_v<blend::error, blend::shape_error>);
    STATIC_REQUIRE(std::is_base_of_v<blend::error, blend::config_error>);
    STATIC_REQUIRE(std::is_base_of_v<blend::error, blend::invalid_argument>);
    STATIC_REQUIRE(std::is_base_of_v<blend::error, blend::internal_error>);
    CHECK_THROWS_AS(throw blend::io_error{"model.safetensors: truncated"}, blend::error);
    CHECK_THROWS_WITH(throw blend::io_error{"model.safetensors: truncated"}, "model.safetensors: truncated");
}

TEST_CASE("BLEND_ASSERT passes silently when the condition holds", "[error]") {
    int evaluated = 0;
    BLEND_ASSERT(++evaluated == 1);
    CHECK(evaluated == 1);
}

TEST_CASE("BLEND_ASSERT throws internal_error naming the expression, message and place", "[error]") {
    const int rank = 3;
    try {
        BLEND_ASSERT(rank == 2, "rank must be 2");
        FAIL("BLEND_ASSERT did not throw");
    } catch (const blend::internal_error& e) {
        const std::string what = e.what();
        CHECK(what.find("rank == 2") != std::string::npos);
        CHECK(what.find("rank must be 2") != std::string::npos);
        CHECK(what.find("error.cpp:") != std::string::npos);
    }
}
