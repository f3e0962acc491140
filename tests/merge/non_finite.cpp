// NaN or Inf in an input tensor is an error (METHODS.md §1): every method's kernel reads its inputs
// through the one loader (merge/detail/elementwise.hpp, load_values), which throws non_finite_input
// naming the input and element; the engine names the model file and tensor (tests/merge/engine.cpp).
#include <blend/core/finite.hpp>
#include <blend/merge.hpp>

#include "support/catch.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace {

namespace bm = blend::merge;
using blend::any_mutable_tensor_view;
using blend::any_tensor_view;

constexpr std::size_t size = 5000;  // more than one chunk of the elementwise core
constexpr std::size_t bad_element = 4321;

/// Three float32 and three bf16 tensors of `size` elements (distinct, well-conditioned values).
struct inputs_of {
    std::vector<std::vector<float>> f32;
    std::vector<std::vector<blend::bf16>> b16;
    explicit inputs_of(std::size_t poisoned, float poison) {
        for (std::size_t m = 0; m < 3; ++m) {
            std::vector<float> v(size);
            for (std::size_t k = 0; k < size; ++k) v[k] = std::sin(0.37f * static_cast<float>(k) + static_cast<float>(m));
            if (m == poisoned) v[bad_element] = poison;
            std::vector<blend::bf16> h(size);
            for (std::size_t k = 0; k < size; ++k) h[k] = blend::to_bf16(v[k]);
            f32.push_back(std::move(v));
            b16.push_back(std::move(h));
        }
    }
    template <class E>
    std::vector<any_tensor_view> views(const std::vector<std::vector<E>>& data) const {
        std::vector<any_tensor_view> out;
        for (const auto& v : data) out.push_back(any_tensor_view::of(blend::tensor_view<const E>(v, {size})));
        return out;
    }
};

using method_call = std::function<void(std::span<const any_tensor_view>, const any_mutable_tensor_view&)>;

struct named_method {
    std::string name;
    method_call call;
};

std::vector<named_method> every_method() {
    static const std::vector<double> half{0.5};
    const auto gta = [](bm::task_method method) {
        return [method](std::span<const any_tensor_view> in, const any_mutable_tensor_view& out) {
            bm::task_arithmetic_into(in[0], in.subspan(1), out, {.method = method, .densities = half, .tensor_name = "t"});
        };
    };
    return {
        {"linear", [](auto in, const auto& out) { bm::linear_into(in, out); }},
        {"task_arithmetic", gta(bm::task_method::task_arithmetic)},
        {"ties", gta(bm::task_method::ties)},
        {"dare_ties", gta(bm::task_method::dare_ties)},
        {"breadcrumbs_ties", gta(bm::task_method::breadcrumbs_ties)},
        {"della", gta(bm::task_method::della)},
        {"sce", [](auto in, const auto& out) { bm::sce_into(in[0], in.subspan(1), out); }},
        {"slerp", [](auto in, const auto& out) { bm::slerp_into(in.subspan(0, 2), out, {.t = 0.3}); }},
        {"nuslerp", [](auto in, const auto& out) { bm::nuslerp_into(&in[0], in.subspan(1), out); }},
        {"multislerp", [](auto in, const auto& out) { bm::multislerp_into(&in[0], in.subspan(1), out); }},
        {"karcher", [](auto in, const auto& out) { bm::karcher_into(in, out); }},
        {"model_stock", [](auto in, const auto& out) { bm::model_stock_into(in, out); }},
        {"nearswap", [](auto in, const auto& out) { bm::nearswap_into(in.subspan(0, 2), out, {.t = 0.5}); }},
        {"ram", [](auto in, const auto& out) { bm::ram_into(in, out); }},
        {"ramplus_tl", [](auto in, const auto& out) { bm::ramplus_tl_into(in, out); }},
        {"arcee_fusion", [](auto in, const auto& out) { bm::arcee_fusion_into(in.subspan(0, 2), out); }},
        {"passthrough", [](auto in, const auto& out) { bm::passthrough_into(in.subspan(0, 1), out); }},
    };
}

/// The input count a method reads (poisoning a later input would not be seen).
std::size_t inputs_read(const std::string& name) {
    if (name == "passthrough") return 1;
    if (name == "slerp" || name == "nearswap" || name == "arcee_fusion") return 2;
    return 3;
}

}  // namespace

TEST_CASE("every method rejects NaN and Inf inputs, naming the input and element", "[merge][non_finite]") {
    const float poisons[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                             -std::numeric_limits<float>::infinity()};
    for (const auto& method : every_method()) {
        for (std::size_t poisoned = 0; poisoned < inputs_read(method.name); ++poisoned) {
            for (const float poison : poisons) {
                INFO(method.name << ": input " << poisoned << " holds " << poison);
                const inputs_of data{poisoned, poison};
                std::vector<float> out32(size);
                std::vector<blend::bf16> out16(size);
                blend::tensor_view<float> view32(out32, {size});
                blend::tensor_view<blend::bf16> view16(out16, {size});
                for (int storage = 0; storage < 2; ++storage) {
                    const auto views = storage == 0 ? data.views(data.f32) : data.views(data.b16);
                    const any_mutable_tensor_view out =
                        storage == 0 ? any_mutable_tensor_view::of(view32)
                                     : any_mutable_tensor_view::of(view16);
                    try {
                        method.call(views, out);
                        FAIL("no error");
                    } catch (const blend::non_finite_input& e) {
                        CHECK(e.input() == poisoned);
                        CHECK(e.element() == bad_element);
                        CHECK(std::isnan(e.value()) == std::isnan(poison));
                    }
                }
            }
        }
    }
}

TEST_CASE("finite inputs merge without error in every method", "[merge][non_finite]") {
    const inputs_of data{99, 0.f};
    std::vector<float> out(size);
    blend::tensor_view<float> view(out, {size});
    for (const auto& method : every_method()) {
        INFO(method.name);
        CHECK_NOTHROW(method.call(data.views(data.f32), any_mutable_tensor_view::of(view)));
        CHECK(blend::all_finite(std::span<const float>(out)));
    }
}
