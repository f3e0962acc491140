// Tests for blend/core/concepts.hpp: which types are tensors, state dicts and predictors (static,
// positive and negative), and that the accessors reach the host's memory without copying.
#include <blend/core/concepts.hpp>
#include <blend/core/tensor_view.hpp>

#include "support/catch.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace host {
/// A host framework's tensor whose members are spelled differently: opts in via tensor_traits.
class tiny_tensor {
public:
    tiny_tensor(std::vector<std::int64_t> sizes, std::vector<float> values)
        : sizes_{std::move(sizes)}, values_{std::move(values)} {}
    [[nodiscard]] const float* raw() const { return values_.data(); }
    [[nodiscard]] float* raw() { return values_.data(); }
    [[nodiscard]] const std::vector<std::int64_t>& sizes() const { return sizes_; }

private:
    std::vector<std::int64_t> sizes_;
    std::vector<float> values_;
};

/// A host type that opts in structurally: value_type, data(), shape().
struct plain_matrix {
    using value_type = double;
    std::array<double, 6> storage{1, 2, 3, 4, 5, 6};
    std::array<std::size_t, 2> extents{2, 3};
    [[nodiscard]] const double* data() const { return storage.data(); }
    [[nodiscard]] const std::array<std::size_t, 2>& shape() const { return extents; }
};

/// Not a tensor: data() without a shape.
struct no_shape {
    using value_type = float;
    [[nodiscard]] const float* data() const { return nullptr; }
};

/// Not a tensor: its element type is not a blend element.
struct wrong_element {
    using value_type = char;
    [[nodiscard]] const char* data() const { return nullptr; }
    [[nodiscard]] std::array<std::size_t, 1> shape() const { return {0}; }
};

/// A predictor with a `predict` member.
struct member_model {
    [[nodiscard]] xt::xtensor<double, 2> predict(const xt::xtensor<float, 2>& x) const {
        return xt::xtensor<double, 2>::from_shape({x.shape()[0], 3});
    }
};
}  // namespace host

template <>
struct blend::tensor_traits<host::tiny_tensor> {
    using value_type = float;
    static const float* data(const host::tiny_tensor& t) { return t.raw(); }
    static float* data(host::tiny_tensor& t) { return t.raw(); }
    static const std::vector<std::int64_t>& shape(const host::tiny_tensor& t) { return t.sizes(); }
};

// --- tensor: positive ---
static_assert(blend::tensor<xt::xarray<float>>);
static_assert(blend::tensor<xt::xtensor<double, 2>>);
static_assert(blend::tensor<xt::xtensor_fixed<float, xt::xshape<2, 3>>>);
static_assert(blend::tensor<xt::xarray<blend::bf16>>);
static_assert(blend::tensor<const xt::xarray<float>&>);
static_assert(blend::tensor<blend::tensor_view<const float>>);
static_assert(blend::tensor<blend::tensor_view<std::int64_t>>);
static_assert(blend::tensor<host::tiny_tensor>);
static_assert(blend::tensor<host::plain_matrix>);
static_assert(std::is_same_v<blend::tensor_value_t<host::tiny_tensor>, float>);
static_assert(std::is_same_v<blend::tensor_value_t<blend::tensor_view<const float>>, float>);
static_assert(std::is_same_v<blend::tensor_value_t<xt::xarray<std::uint8_t>>, std::uint8_t>);
// --- tensor: negative ---
static_assert(!blend::tensor<int>);
static_assert(!blend::tensor<std::vector<float>>);  // no shape
static_assert(!blend::tensor<host::no_shape>);
static_assert(!blend::tensor<host::wrong_element>);
static_assert(!blend::tensor<xt::xarray<float, xt::layout_type::column_major>>);
static_assert(!blend::tensor<xt::xarray<float, xt::layout_type::dynamic>>);
static_assert(!blend::tensor<decltype(xt::view(std::declval<xt::xarray<float>&>(), 0))>);
static_assert(!blend::tensor<decltype(std::declval<xt::xarray<float>&>() + 1.0f)>);
// --- mutable_tensor ---
static_assert(blend::mutable_tensor<xt::xarray<float>>);
static_assert(blend::mutable_tensor<host::tiny_tensor>);
static_assert(blend::mutable_tensor<blend::tensor_view<float>>);
static_assert(!blend::mutable_tensor<blend::tensor_view<const float>>);
static_assert(!blend::mutable_tensor<host::plain_matrix>);  // data() is const only
// --- state_dict ---
static_assert(blend::state_dict<std::map<std::string, xt::xarray<float>>>);
static_assert(blend::state_dict<std::unordered_map<std::string, host::tiny_tensor>>);
static_assert(blend::state_dict<std::map<std::string, blend::tensor_view<const blend::f16>>>);
static_assert(!blend::state_dict<std::map<std::string, std::vector<float>>>);
static_assert(!blend::state_dict<std::map<int, xt::xarray<float>>>);
static_assert(!blend::state_dict<std::vector<xt::xarray<float>>>);
// --- predictor ---
namespace {
auto lambda_model = [](const xt::xtensor<float, 2>& x) { return xt::xtensor<float, 2>(x * 2.0f); };
}
static_assert(blend::predictor<host::member_model, xt::xtensor<float, 2>>);
static_assert(blend::predictor<decltype(lambda_model), xt::xtensor<float, 2>>);
static_assert(!blend::predictor<decltype(lambda_model), std::vector<float>>);  // input not a tensor
static_assert(!blend::predictor<int, xt::xtensor<float, 2>>);
static_assert(!blend::predictor<decltype([](const xt::xtensor<float, 2>&) { return 1.0; }), xt::xtensor<float, 2>>);

// --- trainable ---
namespace host {
/// A refittable model: fit on (features, labels), then predict.
struct refittable {
    void fit(const xt::xtensor<double, 2>&, const xt::xtensor<std::int64_t, 1>&) {}
    [[nodiscard]] xt::xtensor<double, 2> predict(const xt::xtensor<double, 2>& x) const { return x; }
};
}  // namespace host
static_assert(blend::trainable<host::refittable, xt::xtensor<double, 2>, xt::xtensor<std::int64_t, 1>>);
static_assert(!blend::trainable<host::member_model, xt::xtensor<float, 2>, xt::xtensor<std::int64_t, 1>>);  // no fit
static_assert(!blend::trainable<host::refittable, xt::xtensor<double, 2>, std::vector<std::int64_t>>);     // labels not a tensor

TEST_CASE("xtensor containers expose their own storage", "[concepts]") {
    xt::xarray<float> a = {{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}};
    CHECK(blend::tensor_data(a) == a.data());
    CHECK(blend::tensor_shape(a) == blend::shape_type{2, 3});
    CHECK(blend::tensor_size(a) == 6);
    blend::tensor_data(a)[4] = 50.f;
    CHECK(a(1, 1) == 50.f);
}

TEST_CASE("a host tensor opted in through tensor_traits is read and written in place", "[concepts]") {
    host::tiny_tensor t({2, 2}, {1.f, 2.f, 3.f, 4.f});
    CHECK(blend::tensor_data(t) == t.raw());
    CHECK(blend::tensor_shape(t) == blend::shape_type{2, 2});
    blend::tensor_data(t)[3] = 40.f;
    CHECK(t.raw()[3] == 40.f);
    const host::tiny_tensor& ct = t;
    CHECK(blend::tensor_data(ct) == t.raw());
}

TEST_CASE("a structural host tensor exposes its members", "[concepts]") {
    const host::plain_matrix m;
    CHECK(blend::tensor_data(m) == m.storage.data());
    CHECK(blend::tensor_shape(m) == blend::shape_type{2, 3});
    CHECK(blend::tensor_size(m) == 6);
}

TEST_CASE("a scalar has an empty shape and one element; a zero extent has none", "[concepts]") {
    xt::xarray<double> scalar = 3.0;
    CHECK(blend::tensor_shape(scalar).empty());
    CHECK(blend::tensor_size(scalar) == 1);
    auto empty = xt::xarray<double>::from_shape({0, 4});
    CHECK(blend::tensor_size(empty) == 0);
}

TEST_CASE("find_tensor looks a tensor up by name", "[concepts]") {
    std::map<std::string, xt::xarray<float>> dict{{"a.weight", xt::xarray<float>{1.f, 2.f}}};
    const auto* found = blend::find_tensor(dict, "a.weight");
    REQUIRE(found != nullptr);
    CHECK(found == &dict.at("a.weight"));
    CHECK(blend::find_tensor(dict, "b.weight") == nullptr);
}

TEST_CASE("predict calls a predict member or the call operator", "[concepts]") {
    const xt::xtensor<float, 2> x = {{1.f, 2.f}, {3.f, 4.f}};
    host::member_model m;
    CHECK(blend::predict(m, x).shape()[1] == 3);
    auto doubled = blend::predict(lambda_model, x);
    CHECK(doubled(1, 1) == 8.f);
}
