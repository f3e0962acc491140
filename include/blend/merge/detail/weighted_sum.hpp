#pragma once
/// @file blend/merge/detail/weighted_sum.hpp
/// out = scale * sum_i w_i x_i on the elementwise core: the kernel of the averaging merges (linear,
/// task arithmetic's mix, model soups). float64 accumulation, one rounding to the output dtype.

#include <blend/merge/detail/elementwise.hpp>

#include <span>
#include <string_view>

namespace blend::merge::detail {

/// out[j] = scale * sum_i weights[i] * inputs[i][j]; `weights.size() == inputs.size()`.
inline void weighted_sum(std::string_view method, std::span<const any_tensor_view> inputs,
                         std::span<const double> weights, double scale, const any_mutable_tensor_view& out) {
    BLEND_ASSERT(inputs.size() == weights.size());
    elementwise(method, inputs, out, [&]<class M>(const chunk<M>& c) {
        for (std::size_t i = 0; i < c.inputs.size(); ++i) {
            const double w = weights[i];
            const M* x = c.inputs[i].data();
            for (std::size_t j = 0; j < c.out.size(); ++j) c.out[j] += w * static_cast<double>(x[j]);
        }
        for (double& v : c.out) v *= scale;
    });
}

}  // namespace blend::merge::detail
