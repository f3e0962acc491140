#pragma once
/// @file examples/demo/network.hpp
/// The demo's models: fully connected ReLU networks (784-128-10 MLPs, and 784-10 softmax regression as
/// the network without a hidden layer), trained in float32 by minibatch SGD with momentum on the
/// softmax cross-entropy, every matrix product a BLAS sgemm through xtensor-blas.
///
/// Layer l computes z = a W_l^T + b_l with W_l of shape (out, in), as torch.nn.Linear stores it, so a
/// saved state dict ("layers.<l>.weight", "layers.<l>.bias") reads like a PyTorch one. Initialisation
/// is torch.nn.Linear's default: W and b uniform on (-1/sqrt(in), 1/sqrt(in)), drawn from the Philox
/// stream (seed, "init/<l>/weight|bias"). SGD follows torch.optim.SGD with momentum mu:
/// v = mu v + g, W -= lr v (v = g at the first step). The batches of an epoch are the rows of a seeded
/// permutation in chunks of `batch`; the last incomplete chunk is dropped (torch's drop_last).

#include "dataset.hpp"

#include <blend/core/detail/xtensor.hpp>
#include <blend/core/error.hpp>
#include <blend/core/random.hpp>

#include <xtensor-blas/xblas.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

/// OpenBLAS's thread control when the BLAS in use is OpenBLAS; a weak reference, null with other BLAS.
extern "C" void openblas_set_num_threads(int threads) __attribute__((weak));

namespace demo {

/// Runs BLAS on one thread. OpenBLAS cuts a product into different pieces for different thread counts,
/// which changes its rounding, so with its default (one thread per core) the demo's numbers would depend
/// on the machine. Nothing to do for the reference BLAS and BLIS, which default to one thread.
inline void use_one_blas_thread() {
    if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
}

/// A model as blend's merges see it: tensor name → float32 tensor.
using state_dict = std::map<std::string, xt::xarray<float>>;

/// Weights (out, in) and biases (out,) of each layer; ReLU between layers, none after the last.
struct network {
    std::vector<xt::xtensor<float, 2>> weights;
    std::vector<xt::xtensor<float, 1>> biases;
};

/// A fresh network with layer widths `sizes` (input first), initialised from `seed` (see file comment).
[[nodiscard]] inline network make_network(std::span<const std::size_t> sizes, std::uint64_t seed) {
    network net;
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
        const std::size_t in = sizes[l], out = sizes[l + 1];
        const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(in)));
        auto draw = [&](float* dst, std::size_t n, const char* what) {
            std::vector<float> u(n);
            blend::random_stream{seed, blend::stream_key(fmt::format("init/{}/{}", l, what), 0)}.fill_uniform(0, u);
            for (std::size_t i = 0; i < n; ++i) dst[i] = (2.0f * u[i] - 1.0f) * bound;
        };
        net.weights.push_back(xt::xtensor<float, 2>::from_shape({out, in}));
        net.biases.push_back(xt::xtensor<float, 1>::from_shape({out}));
        draw(net.weights.back().data(), out * in, "weight");
        draw(net.biases.back().data(), out, "bias");
    }
    return net;
}

/// The network as a state dict ("layers.<l>.weight", "layers.<l>.bias"), copying the tensors.
[[nodiscard]] inline state_dict to_state_dict(const network& net) {
    state_dict out;
    for (std::size_t l = 0; l < net.weights.size(); ++l) {
        out.emplace(fmt::format("layers.{}.weight", l), xt::xarray<float>(net.weights[l]));
        out.emplace(fmt::format("layers.{}.bias", l), xt::xarray<float>(net.biases[l]));
    }
    return out;
}

/// The network stored in `dict` (as written by `to_state_dict`). Throws `blend::invalid_argument`
/// naming the tensor when one is missing or misshapen.
[[nodiscard]] inline network from_state_dict(const state_dict& dict) {
    network net;
    for (std::size_t l = 0;; ++l) {
        const auto w = dict.find(fmt::format("layers.{}.weight", l));
        if (w == dict.end()) break;
        const auto b = dict.find(fmt::format("layers.{}.bias", l));
        if (w->second.dimension() != 2 || b == dict.end() || b->second.dimension() != 1 ||
            b->second.shape()[0] != w->second.shape()[0]) {
            throw blend::invalid_argument{fmt::format("network: layer {} has no matching 'layers.{}.bias'", l, l)};
        }
        net.weights.emplace_back(w->second);
        net.biases.emplace_back(b->second);
    }
    if (net.weights.empty()) throw blend::invalid_argument{"network: state dict has no 'layers.0.weight'"};
    return net;
}

namespace detail {

/// The nonlinearity after a layer: ReLU between layers, none after the last.
enum class activation { none, relu };

/// The activation after layer `l` of a network with `layers` layers.
[[nodiscard]] constexpr activation activation_after(std::size_t l, std::size_t layers) noexcept {
    return l + 1 < layers ? activation::relu : activation::none;
}

/// Writes softmax(z) of one row of `c` logits to `out` (which may be `z` itself), in float64 before the
/// final rounding to `Out`, and returns log-sum-exp(z). Stable: the row maximum is subtracted before exp.
template <class Out>
[[nodiscard]] double softmax_row(const float* z, std::size_t c, Out* out) {
    const double top = *std::max_element(z, z + c);
    double total = 0.0;
    std::vector<double> e(c);
    for (std::size_t j = 0; j < c; ++j) total += e[j] = std::exp(static_cast<double>(z[j]) - top);
    for (std::size_t j = 0; j < c; ++j) out[j] = static_cast<Out>(e[j] / total);
    return top + std::log(total);
}

/// One step of SGD with momentum (torch.optim.SGD): v = mu v + g, w -= lr v, elementwise.
inline void sgd_step(std::span<float> w, std::span<float> v, std::span<const float> g, float lr, float mu) {
    for (std::size_t i = 0; i < w.size(); ++i) {
        v[i] = mu * v[i] + g[i];
        w[i] -= lr * v[i];
    }
}

/// out = act(a W^T + b) (a: (n, in), W: (out, in), out: (n, out), resized if needed).
inline void dense(const xt::xtensor<float, 2>& a, const xt::xtensor<float, 2>& w, const xt::xtensor<float, 1>& b,
                  xt::xtensor<float, 2>& out, activation act) {
    const std::size_t n = a.shape()[0], width = w.shape()[0];
    if (out.shape()[0] != n || out.shape()[1] != width) out.resize({n, width});
    xt::blas::gemm(a, w, out, false, true);
    float* z = out.data();
    for (std::size_t i = 0; i < n; ++i, z += width) {
        for (std::size_t j = 0; j < width; ++j) {
            const float v = z[j] + b(j);
            z[j] = act == activation::relu && v < 0.0f ? 0.0f : v;
        }
    }
}

}  // namespace detail

/// Logits (n, classes) of the rows of `x` (n, 784): the forward pass in float32.
[[nodiscard]] inline xt::xtensor<float, 2> logits(const network& net, const xt::xtensor<float, 2>& x) {
    xt::xtensor<float, 2> a = x, z;
    for (std::size_t l = 0; l < net.weights.size(); ++l) {
        detail::dense(a, net.weights[l], net.biases[l], z, detail::activation_after(l, net.weights.size()));
        std::swap(a, z);
    }
    return a;
}

/// Class probabilities softmax(logits) of the rows of `x`, computed in float64 (what blend's ensembling
/// and metrics take). Stable: the row maximum is subtracted before exp.
[[nodiscard]] inline xt::xtensor<double, 2> probabilities(const network& net, const xt::xtensor<float, 2>& x) {
    const auto z = logits(net, x);
    const std::size_t n = z.shape()[0], c = z.shape()[1];
    auto p = xt::xtensor<double, 2>::from_shape({n, c});
    for (std::size_t i = 0; i < n; ++i) (void)detail::softmax_row(z.data() + i * c, c, p.data() + i * c);
    return p;
}

/// Hyper-parameters of `train`.
struct train_options {
    std::size_t epochs = 5;
    double learning_rate = 0.05;
    double momentum = 0.9;
    std::size_t batch = 64;
    /// Seed of the data order (epoch e uses the permutation with key stream_key("order", e)).
    std::uint64_t order_seed = 0;
};

/// Trains `net` in place on `data` (see the file comment); `on_epoch(e, mean training loss)` is called
/// after each epoch.
inline void train(network& net, const dataset& data, const train_options& options,
                  const std::function<void(std::size_t, double)>& on_epoch = {}) {
    const std::size_t layers = net.weights.size(), batch = options.batch, n = data.rows();
    if (batch == 0 || n < batch) throw blend::invalid_argument{fmt::format("train: {} rows for batches of {}", n, batch)};
    const auto lr = static_cast<float>(options.learning_rate), mu = static_cast<float>(options.momentum);
    std::vector<xt::xtensor<float, 2>> acts(layers + 1), grad_w(layers), vel_w(layers);
    std::vector<xt::xtensor<float, 1>> vel_b(layers);
    for (std::size_t l = 0; l < layers; ++l) {
        grad_w[l] = xt::zeros_like(net.weights[l]);
        vel_w[l] = xt::zeros_like(net.weights[l]);
        vel_b[l] = xt::zeros_like(net.biases[l]);
    }
    acts[0] = xt::xtensor<float, 2>::from_shape({batch, pixels});
    xt::xtensor<float, 2> delta, previous;
    std::vector<float> grad_b;
    for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
        const auto order = permutation(n, options.order_seed, blend::stream_key("order", epoch));
        double loss_sum = 0.0;
        const std::size_t steps = n / batch;
        for (std::size_t s = 0; s < steps; ++s) {
            for (std::size_t r = 0; r < batch; ++r) {
                std::copy_n(data.x.data() + order[s * batch + r] * pixels, pixels, acts[0].data() + r * pixels);
            }
            for (std::size_t l = 0; l < layers; ++l) detail::dense(acts[l], net.weights[l], net.biases[l], acts[l + 1], detail::activation_after(l, layers));
            // delta = (softmax(z) - onehot(y)) / batch, the gradient of the mean cross-entropy wrt z.
            delta = acts[layers];
            const std::size_t c = delta.shape()[1];
            for (std::size_t r = 0; r < batch; ++r) {
                float* d = delta.data() + r * c;
                const auto label = static_cast<std::size_t>(data.y(order[s * batch + r]));
                const double z_label = d[label];
                loss_sum += detail::softmax_row(d, c, d) - z_label;  // -log p_label
                d[label] -= 1.0f;
                for (std::size_t j = 0; j < c; ++j) d[j] /= static_cast<float>(batch);
            }
            for (std::size_t l = layers; l-- > 0;) {
                const std::size_t out = delta.shape()[1];
                xt::blas::gemm(delta, acts[l], grad_w[l], true, false);  // (out, in) = delta^T a
                grad_b.assign(out, 0.0f);
                for (std::size_t r = 0; r < batch; ++r) {
                    for (std::size_t j = 0; j < out; ++j) grad_b[j] += delta.data()[r * out + j];
                }
                if (l > 0) {  // delta of the layer below, through W and the ReLU
                    previous.resize({batch, net.weights[l].shape()[1]});
                    xt::blas::gemm(delta, net.weights[l], previous, false, false);
                    for (std::size_t i = 0; i < previous.size(); ++i) {
                        if (acts[l].data()[i] <= 0.0f) previous.data()[i] = 0.0f;
                    }
                }
                detail::sgd_step({net.weights[l].data(), net.weights[l].size()}, {vel_w[l].data(), vel_w[l].size()},
                                 {grad_w[l].data(), grad_w[l].size()}, lr, mu);
                detail::sgd_step({net.biases[l].data(), out}, {vel_b[l].data(), out}, grad_b, lr, mu);
                if (l > 0) std::swap(delta, previous);
            }
        }
        if (on_epoch) on_epoch(epoch, loss_sum / static_cast<double>(steps * batch));
    }
}

}  // namespace demo
