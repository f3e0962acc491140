// Tests for blend/ensemble/member_block.hpp: views of host tensors as members, without copies.
#include <blend/ensemble/member_block.hpp>

#include "support/catch.hpp"

#include <vector>

using namespace blend::ensemble;

TEST_CASE("a member block views float32/float64 tensors of one shape", "[ensemble][member_block]") {
    const std::vector<xt::xtensor<float, 2>> members{{{0.1f, 0.9f}, {0.5f, 0.5f}, {1.0f, 0.0f}}, {{0.2f, 0.8f}, {0.3f, 0.7f}, {0.0f, 1.0f}}};
    const auto block = make_member_block(members);
    CHECK(block.size() == 2);
    CHECK(block.rows == 3);
    CHECK(block.columns == 2);
    CHECK(block.output_shape() == blend::shape_type{3, 2});
    CHECK(block.members[1].data == members[1].data());  // no copy
    CHECK(block.members[0].type == blend::dtype::f32);
    CHECK(with_member_data(block.members[1], [](const auto* p) { return static_cast<double>(p[5]); }) == 1.0);

    const std::vector<xt::xtensor<double, 2>> columns{{{0.1}, {0.7}}, {{0.4}, {0.2}}};
    const auto single = make_member_block(columns);
    CHECK(single.single_column());
    CHECK(single.vector_input);
    CHECK(single.output_shape() == blend::shape_type{2});
}

TEST_CASE("a member block rejects no members and mismatched or 3-D shapes", "[ensemble][member_block]") {
    CHECK_THROWS_AS(make_member_block(std::vector<xt::xtensor<double, 1>>{}), blend::invalid_argument);
    const std::vector<xt::xarray<double>> mixed{xt::xarray<double>::from_shape({2, 3}), xt::xarray<double>::from_shape({3, 2})};
    CHECK_THROWS_AS(make_member_block(mixed), blend::shape_error);
    const std::vector<xt::xarray<double>> cube{xt::xarray<double>::from_shape({2, 2, 2})};
    CHECK_THROWS_AS(make_member_block(cube), blend::shape_error);
}
