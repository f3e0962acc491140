// A downstream program: merges two tiny models and soft-votes two predictions through the installed
// (or add_subdirectory'd) blend, then prints what the consumer tests match.
#include <blend/blend.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

int main() {
    const std::vector<xt::xarray<float>> models{xt::xarray<float>{1.f, 2.f}, xt::xarray<float>{3.f, 4.f}};
    const auto merged = blend::merge::linear(models, {});  // uniform soup: [2, 3]
    const std::vector<xt::xtensor<double, 2>> members{xt::xtensor<double, 2>{{0.8, 0.2}},
                                                      xt::xtensor<double, 2>{{0.4, 0.6}}};
    const auto vote = blend::ensemble::soft_vote(members, {});  // [[0.6, 0.4]]
    fmt::print("blend {}: merged [{}], soft vote [{:.1f}, {:.1f}]\n", blend::version_string,
               fmt::join(merged, ", "), vote(0, 0), vote(0, 1));
    return 0;
}
