// blend-quickstart: the smallest tour of blend, run by the README's first command until the real demo
// lands. It merges two tiny in-memory models (a uniform soup, tensor by tensor) and soft-votes the
// predictions of two host predictors, printing both. No files are read or written.
#include <blend/blend.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <string>
#include <vector>

namespace {

using state = std::map<std::string, xt::xarray<float>>;

/// A host predictor: a linear layer followed by a softmax over two classes.
struct linear_classifier {
    xt::xtensor<double, 2> weight;  // (F, 2)

    [[nodiscard]] xt::xtensor<double, 2> predict(const xt::xtensor<double, 2>& x) const {
        xt::xtensor<double, 2> logits = xt::zeros<double>({x.shape()[0], std::size_t{2}});
        for (std::size_t n = 0; n < x.shape()[0]; ++n)
            for (std::size_t c = 0; c < 2; ++c)
                for (std::size_t f = 0; f < x.shape()[1]; ++f) logits(n, c) += x(n, f) * weight(f, c);
        xt::xtensor<double, 2> p = xt::exp(logits);
        for (std::size_t n = 0; n < p.shape()[0]; ++n) {
            const double z = p(n, 0) + p(n, 1);
            p(n, 0) /= z;
            p(n, 1) /= z;
        }
        return p;
    }
};

}  // namespace

int main() {
    // Two fine-tuned "models" of the same architecture.
    const state a{{"layer.weight", xt::xarray<float>{{1.f, 2.f}, {3.f, 4.f}}}, {"layer.bias", xt::xarray<float>{0.f, 1.f}}};
    const state b{{"layer.weight", xt::xarray<float>{{3.f, 0.f}, {1.f, 2.f}}}, {"layer.bias", xt::xarray<float>{2.f, -1.f}}};
    static_assert(blend::state_dict<state>);

    fmt::print("blend {} quickstart\n\n1. Uniform soup of two models (blend::merge::linear, tensor by tensor)\n",
               blend::version_string);
    for (const auto& [name, tensor] : a) {
        const std::vector<xt::xarray<float>> inputs{tensor, *blend::find_tensor(b, name)};
        const auto merged = blend::merge::linear(inputs);
        fmt::print("   {:<13} [{}] -> [{}]\n", name, fmt::join(blend::tensor_shape(merged), ", "),
                   fmt::join(merged, ", "));
    }

    fmt::print("\n2. Soft vote of two predictors (blend::ensemble::soft_vote)\n");
    const linear_classifier first{{{1.0, -1.0}, {0.5, 0.0}}};
    const linear_classifier second{{{-0.5, 0.5}, {2.0, -1.0}}};
    static_assert(blend::predictor<linear_classifier, xt::xtensor<double, 2>>);
    const xt::xtensor<double, 2> batch = {{1.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}};
    const std::vector<xt::xtensor<double, 2>> members{blend::predict(first, batch), blend::predict(second, batch)};
    const auto vote = blend::ensemble::soft_vote(members);
    for (std::size_t n = 0; n < batch.shape()[0]; ++n) {
        fmt::print("   row {}: p1 = [{:.3f}, {:.3f}]  p2 = [{:.3f}, {:.3f}]  vote = [{:.3f}, {:.3f}]\n", n,
                   members[0](n, 0), members[0](n, 1), members[1](n, 0), members[1](n, 1), vote(n, 0), vote(n, 1));
    }
    return 0;
}
