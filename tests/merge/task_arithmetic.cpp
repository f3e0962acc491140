// Tests for blend/merge/task_arithmetic.hpp (METHODS.md §1, generalized task arithmetic).
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/task_arithmetic.hpp>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/isa_levels.hpp"
#include "support/owned_tensor.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

namespace {

using blend::merge::task_method;
namespace bm = blend::merge;

xt::xarray<float> noise(std::uint64_t key, std::size_t n, float scale) {
    blend::random_stream rng(11, key);
    xt::xarray<float> x = xt::xarray<float>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) x.data()[i] = (rng.uniform_float(i) * 2.f - 1.f) * scale;
    return x;
}

const xt::xarray<float> golden_base = xt::zeros<float>({6});
const std::vector<xt::xarray<float>> golden_models{{1.f, -2.f, 0.5f, 0.f, 3.f, -0.1f}, {-0.5f, -1.f, 2.f, 1.5f, -3.5f, 0.2f}};

}  // namespace

TEST_CASE("ties with density 1: sum consensus, with and without normalize (issue golden)", "[merge][ties]") {
    const std::array weights{1.0};
    const auto merged = bm::ties(golden_base, golden_models, {.weights = weights, .normalize = false});
    CHECK((merged == xt::xarray<float>{1.f, -3.f, 2.5f, 1.5f, -3.5f, 0.2f}));
    // The golden case: density 1, `sum` consensus, normalize (the ties default).
    const auto normalized = bm::ties(golden_base, golden_models, {.weights = weights});
    CHECK((normalized == xt::xarray<float>{1.f, -1.5f, 1.25f, 1.5f, -3.5f, 0.2f}));
}

TEST_CASE("ties with density 0.5 and normalize keeps the top half by magnitude", "[merge][ties]") {
    const std::array weights{1.0};
    const std::array densities{0.5};
    const auto merged = bm::ties(golden_base, golden_models, {.weights = weights, .densities = densities});
    CHECK((merged == xt::xarray<float>{1.f, -2.f, 2.f, 1.5f, -3.5f, 0.f}));
}

TEST_CASE("lambda 0 gives the base and identical inputs give themselves", "[merge][task_arithmetic]") {
    const auto base = noise(1, 5000, 1.f);
    const std::vector<xt::xarray<float>> models{base + noise(2, 5000, 0.1f), base + noise(3, 5000, 0.1f)};
    const std::array weights{0.4, 0.6};
    const std::array densities{0.3};
    for (const auto method : {task_method::task_arithmetic, task_method::ties, task_method::dare_linear,
                              task_method::dare_ties, task_method::breadcrumbs, task_method::breadcrumbs_ties,
                              task_method::della, task_method::della_linear}) {
        CAPTURE(bm::method_name(method));
        const auto zero = bm::task_arithmetic(base, models,
                                              {.method = method, .weights = weights, .densities = densities, .lambda = 0.0});
        CHECK((zero == base));
        const std::vector<xt::xarray<float>> same{base, base};
        CHECK((bm::task_arithmetic(base, same, {.method = method, .weights = weights, .densities = densities}) == base));
    }
}

TEST_CASE("task_arithmetic is base + lambda * weighted sum of deltas", "[merge][task_arithmetic]") {
    const xt::xarray<double> base{1.0, 2.0, 3.0};
    const std::vector<xt::xarray<double>> models{{2.0, 2.0, 1.0}, {0.0, 4.0, 3.0}};
    const std::array weights{0.5, 2.0};
    const auto merged = bm::task_arithmetic(base, models, {.weights = weights, .lambda = 2.0});
    // d1 = [1, 0, -2], d2 = [-1, 2, 0]; sum w d = [0.5 - 2, 4, -1] = [-1.5, 4, -1]; * 2
    CHECK((merged == xt::xarray<double>{-2.0, 10.0, 1.0}));
    const auto normalized = bm::task_arithmetic(base, models, {.weights = weights, .normalize = true});
    CHECK(std::abs(normalized(0) - (1.0 - 1.5 / 2.5)) < 1e-15);
}

TEST_CASE("count consensus elects by the sum of signs", "[merge][ties]") {
    const xt::xarray<double> base{0.0};
    const std::vector<xt::xarray<double>> models{{-5.0}, {1.0}, {1.0}};
    const auto by_sum = bm::ties(base, models, {.normalize = false});
    CHECK(by_sum(0) == -5.0);
    const auto by_count = bm::ties(base, models, {.normalize = false, .consensus = bm::consensus_mode::count});
    CHECK(by_count(0) == 2.0);
}

TEST_CASE("kept count is floor(density n), also with massive ties", "[merge][ties]") {
    // bf16-like task vectors: values from a handful of levels, so almost every |d| is tied.
    const std::size_t n = 100003;
    blend::random_stream rng(5, 5);
    xt::xarray<float> base = xt::zeros<float>({n});
    xt::xarray<float> model = xt::xarray<float>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) model.data()[i] = static_cast<float>(static_cast<int>(rng.uniform_float(i) * 9) - 4) * 0.25f;
    for (const double density : {0.0, 1e-6, 0.1, 0.33, 0.5, 0.9, 0.99999}) {
        const std::array densities{density};
        const std::vector<xt::xarray<float>> models{model};
        const auto merged = bm::ties(base, models, {.densities = densities, .normalize = false});
        std::size_t kept = 0;
        std::size_t nonzero = 0;
        for (std::size_t i = 0; i < n; ++i) nonzero += model.data()[i] != 0.f;
        for (std::size_t i = 0; i < n; ++i) kept += merged.data()[i] != 0.f;
        const auto k = static_cast<std::size_t>(std::floor(density * static_cast<double>(n)));
        CAPTURE(density);
        CHECK(kept == std::min(k, nonzero));
    }
}

TEST_CASE("DARE with l1 rescale preserves the L1 norm of each task vector", "[merge][dare_linear]") {
    const auto base = noise(1, 20000, 1.f);
    const std::vector<xt::xarray<double>> models{xt::cast<double>(base + noise(4, 20000, 0.01f))};
    const xt::xarray<double> base64 = xt::cast<double>(base);
    const std::array densities{0.3};
    const auto merged = bm::dare_linear(base64, models, {.densities = densities, .tensor_name = "w"});
    const double before = xt::sum(xt::abs(models[0] - base64))();
    const double after = xt::sum(xt::abs(merged - base64))();
    CHECK(std::abs(after - before) < 1e-9 * before);
}

TEST_CASE("DARE keeps a fraction within 3 sigma of density over 1000 seeds", "[merge][dare_ties]") {
    const std::size_t n = 1000;
    const auto base = noise(1, n, 1.f);
    const std::vector<xt::xarray<float>> models{base + noise(6, n, 0.5f)};
    const std::array densities{0.3};
    std::size_t kept = 0;
    for (std::uint64_t seed = 0; seed < 1000; ++seed) {
        const auto merged = bm::dare_ties(base, models,
                                          {.densities = densities, .rescale = bm::rescale_mode::none, .seed = seed, .tensor_name = "t"});
        for (std::size_t i = 0; i < n; ++i) kept += merged.data()[i] != base.data()[i];
    }
    const double trials = 1000.0 * static_cast<double>(n);
    const double sigma = std::sqrt(trials * 0.3 * 0.7);
    CHECK(std::abs(static_cast<double>(kept) - 0.3 * trials) < 3 * sigma);
}

TEST_CASE("results are identical for 1 and 2 threads and at every instruction-set level", "[merge][task_arithmetic]") {
    const std::size_t n = 3 * (std::size_t{1} << 20) + 77;
    const auto base = noise(1, n, 1.f);
    std::vector<xt::xarray<float>> models{base + noise(7, n, 0.01f), base + noise(8, n, 0.01f)};
    // Heavy ties across chunk boundaries: quantise the deltas.
    for (auto& m : models) m = base + xt::round((m - base) * 300.f) / 300.f;
    // The same inputs stored as bf16 (the fused bf16 loaders) with a bf16 output.
    std::vector<blend::test::owned_tensor> bf16_inputs;
    for (const auto* t : std::array<const xt::xarray<float>*, 3>{&base, &models[0], &models[1]}) {
        bf16_inputs.push_back(blend::test::converted(blend::any_tensor_view{blend::dtype::f32, {n}, std::as_bytes(std::span(t->data(), n))},
                                                     blend::dtype::bf16));
    }
    const std::array model_views{bf16_inputs[1].view(), bf16_inputs[2].view()};
    const std::array densities{0.37};
    const std::array weights{0.7, 0.5};
    for (const auto method : {task_method::ties, task_method::dare_ties, task_method::breadcrumbs_ties, task_method::della,
                              task_method::task_arithmetic}) {
        CAPTURE(bm::method_name(method));
        // lambda != 1: a fused multiply-add in base + lambda * mix would change the last bit.
        const bm::task_arithmetic_options options{.method = method, .weights = weights, .densities = densities,
                                                  .lambda = 0.7, .seed = 3, .tensor_name = "layer.0"};
        blend::set_num_threads(1);
        const auto one = bm::task_arithmetic(base, models, options);
        auto one_bf16 = blend::test::make_owned(blend::dtype::bf16, {n});
        bm::task_arithmetic_into(bf16_inputs[0].view(), model_views, one_bf16.mutable_view(), options);
        blend::set_num_threads(2);
        const auto two = bm::task_arithmetic(base, models, options);
        CHECK((one == two));
        blend::test::for_each_isa_level([&](blend::isa_level level) {
            CAPTURE(blend::name(level));
            CHECK((bm::task_arithmetic(base, models, options) == one));
            auto bf16 = blend::test::make_owned(blend::dtype::bf16, {n});
            bm::task_arithmetic_into(bf16_inputs[0].view(), model_views, bf16.mutable_view(), options);
            CHECK(bf16.bytes == one_bf16.bytes);
        });
    }
    blend::set_num_threads(0);
}

TEST_CASE("breadcrumbs drops the largest and keeps floor(density n) in total", "[merge][breadcrumbs]") {
    const xt::xarray<double> base = xt::zeros<double>({10});
    const std::vector<xt::xarray<double>> models{{1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0, 9.0, -10.0}};
    const std::array densities{0.3};
    const std::array gammas{0.2};
    const auto merged = bm::breadcrumbs(base, models, {.densities = densities, .gammas = gammas});
    CHECK((merged == xt::xarray<double>{0, 0, 0, 0, 0, -6.0, 7.0, -8.0, 0, 0}));
    // n_top = floor(0.01 * 10) = 0: no large ones dropped (mergekit 0.1.4 zeroed the tensor).
    const auto no_top = bm::breadcrumbs(base, models, {.densities = densities});
    CHECK((no_top == xt::xarray<double>{0, 0, 0, 0, 0, 0, 0, -8.0, 9.0, -10.0}));
}

TEST_CASE("della keeps one-element rows with probability density", "[merge][della]") {
    const xt::xarray<float> base = xt::zeros<float>({4000, 1});
    const xt::xarray<float> model = xt::ones<float>({4000, 1});
    const std::vector<xt::xarray<float>> models{model};
    const std::array densities{0.4};
    const auto merged = bm::della(base, models, {.densities = densities, .rescale = bm::rescale_mode::none});
    const double kept = xt::sum(merged)();
    CHECK(std::abs(kept - 1600.0) < 3 * std::sqrt(4000 * 0.24));
}

TEST_CASE("invalid parameters are errors naming the method and value", "[merge][task_arithmetic]") {
    const auto base = noise(1, 10, 1.f);
    const std::vector<xt::xarray<float>> models{base, base};
    const std::array three{1.0, 1.0, 1.0};
    CHECK_THROWS_AS(bm::ties(base, models, {.weights = three}), blend::invalid_argument);
    const std::array negative{-0.5};
    CHECK_THROWS_WITH(bm::ties(base, models, {.densities = negative}), Catch::Contains("ties") && Catch::Contains("-0.5"));
    const std::array d{0.1};
    CHECK_THROWS_WITH(bm::della(base, models, {.densities = d}), Catch::Contains("della") && Catch::Contains("epsilon"));
    const std::vector<xt::xarray<float>> wrong{xt::zeros<float>({11})};
    CHECK_THROWS_AS(bm::ties(base, wrong), blend::shape_error);
    xt::xarray<float> nan_model = base;
    nan_model(3) = std::nanf("");
    const std::vector<xt::xarray<float>> bad{base, nan_model};
    try {
        (void)bm::task_arithmetic(base, bad, {.tensor_name = "x"});
        FAIL("a NaN input merged");
    } catch (const blend::non_finite_input& e) {
        CHECK(e.input() == 2);  // input 0 is the base, 1 + i model i
        CHECK(e.element() == 3);
    }
}

TEST_CASE("masks do not depend on the tensor order or on other models", "[merge][dare_linear]") {
    const auto base = noise(1, 3000, 1.f);
    const auto m0 = base + noise(2, 3000, 0.1f);
    const auto m1 = base + noise(3, 3000, 0.1f);
    const std::array densities{0.5};
    const std::array weights{1.0};
    const bm::task_arithmetic_options options{.weights = weights, .densities = densities, .rescale = bm::rescale_mode::none,
                                              .seed = 9, .tensor_name = "a"};
    const std::vector<xt::xarray<float>> both{m0, m1};
    const std::vector<xt::xarray<float>> first{m0};
    auto other = options;
    other.tensor_name = "b";
    (void)bm::dare_linear(base, both, other);  // another tensor merged in between changes nothing
    const auto merged_both = bm::dare_linear(base, both, options);
    const auto merged_first = bm::dare_linear(base, first, options);
    // Model 0's kept entries are the same whether or not model 1 is merged too.
    for (std::size_t i = 0; i < 3000; ++i) {
        const bool kept_first = merged_first.data()[i] != base.data()[i];
        const bool m1_kept = blend::random_stream(9, blend::stream_key("a", 1)).uniform_float(i) < 0.5f;
        if (!m1_kept) CHECK(kept_first == (merged_both.data()[i] != base.data()[i]));
    }
}

// ---------------------------------------------------------------------------------------------------
// Agreement with the independent float64 reference (tests/reference/make_gta_fixtures.py).
#include <blend/core/convert.hpp>
#include <blend/io/npy.hpp>

#include <filesystem>
#include <string>

namespace gta_fixture {

namespace fs = std::filesystem;

inline fs::path data_dir() { return blend::test::fixture_dir(__FILE__, "gta"); }

inline constexpr std::string_view tensor = "model.layers.0.mlp.weight";

/// One case of make_gta_fixtures.py's CASES, with storage for the spans.
struct gta_case {
    std::string name;
    task_method method;
    std::vector<double> weights;
    std::vector<double> densities{};
    std::vector<double> gammas{};
    std::vector<double> epsilons{};
    double lambda = 1.0;
    std::optional<bool> normalize{};
    std::optional<bm::rescale_mode> rescale{};
    std::optional<bm::consensus_mode> consensus{};
    std::uint64_t seed = 0;

    [[nodiscard]] bm::task_arithmetic_options options() const {
        return {.method = method, .weights = weights, .densities = densities, .gammas = gammas, .epsilons = epsilons,
                .lambda = lambda, .normalize = normalize, .rescale = rescale, .consensus = consensus, .seed = seed,
                .tensor_name = tensor};
    }
};

inline std::vector<gta_case> cases() {
    using bm::rescale_mode;
    return {
        {"task_arithmetic", task_method::task_arithmetic, {0.3, 0.7, 0.5}, {}, {}, {}, 0.8},
        {"task_arithmetic_normalize", task_method::task_arithmetic, {0.3, 0.7, 0.5}, {}, {}, {}, 1.0, true},
        {"ties", task_method::ties, {1.0, 0.6, 0.4}, {0.5, 0.3, 0.7}},
        {"ties_l1_count", task_method::ties, {0.5, 0.5, 1.0}, {0.4}, {}, {}, 1.3, false, rescale_mode::l1, bm::consensus_mode::count},
        {"ties_inverse_density", task_method::ties, {1.0, 1.0, 1.0}, {0.5}, {}, {}, 1.0, {}, rescale_mode::inverse_density},
        {"breadcrumbs", task_method::breadcrumbs, {0.4, 0.4, 0.2}, {0.4}, {0.05}},
        {"breadcrumbs_ties", task_method::breadcrumbs_ties, {1.0, 0.5, 0.8}, {0.6, 0.5, 0.9}, {0.1}},
        {"breadcrumbs_ties_ntop0", task_method::breadcrumbs_ties, {1.0, 1.0, 1.0}, {0.5}, {0.001}},
        {"dare_linear", task_method::dare_linear, {0.5, 0.3, 0.2}, {0.4}, {}, {}, 1.0, {}, {}, {}, 5},
        {"dare_ties", task_method::dare_ties, {1.0, 0.7, 0.4}, {0.3, 0.5, 0.7}},
        {"dare_ties_inverse_density", task_method::dare_ties, {1.0, 1.0, 1.0}, {0.5}, {}, {}, 1.0, {}, rescale_mode::inverse_density, {}, 2},
        {"della", task_method::della, {1.0, 0.8, 0.6}, {0.5}, {}, {0.15}, 1.0, {}, {}, {}, 1},
        {"della_linear", task_method::della_linear, {0.4, 0.4, 0.2}, {0.4}, {}, {0.2}, 0.9, {}, rescale_mode::none, {}, 3},
    };
}

/// The fixture's float32 array converted to `type`.
struct stored {
    blend::dtype type;
    blend::shape_type shape;
    std::vector<std::byte> bytes;
    [[nodiscard]] blend::any_tensor_view view() const { return {type, shape, bytes}; }
};

inline stored load_as(const std::string& file, blend::dtype type) {
    const auto a = blend::io::read_npy(data_dir() / file);
    stored s{type, a.shape, std::vector<std::byte>(blend::shape_size(a.shape) * blend::size_of(type))};
    blend::convert_bytes(a.type, a.data.data(), type, s.bytes.data(), blend::shape_size(a.shape));
    return s;
}

/// Ordered integer of a bf16 pattern (monotone in the value), for ulp distances.
inline int bf16_order(std::uint16_t bits) { return (bits & 0x8000) != 0 ? -static_cast<int>(bits & 0x7FFF) : static_cast<int>(bits); }

}  // namespace gta_fixture

TEST_CASE("task-vector family agrees with the float64 reference on bf16 and f32 inputs", "[merge][task_arithmetic][reference]") {
    using namespace gta_fixture;
    for (const auto type : {blend::dtype::bf16, blend::dtype::f32}) {
        const std::string prefix = type == blend::dtype::bf16 ? "bf16_" : "f32_";
        const stored base = load_as(prefix + "base.npy", type);
        std::vector<stored> models;
        for (int i = 0; i < 3; ++i) models.push_back(load_as(prefix + "m" + std::to_string(i) + ".npy", type));
        std::vector<blend::any_tensor_view> views;
        for (const auto& m : models) views.push_back(m.view());
        for (const auto& c : cases()) {
            CAPTURE(prefix + c.name);
            const auto expected = blend::io::read_npy(data_dir() / (prefix + c.name + ".npy"));
            const std::size_t n = blend::shape_size(expected.shape);
            std::vector<std::byte> out(n * blend::size_of(type));
            bm::task_arithmetic_into(base.view(), views, {type, base.shape, out}, c.options());
            std::vector<double> want(n);
            blend::convert_bytes(expected.type, expected.data.data(), blend::dtype::f64, reinterpret_cast<std::byte*>(want.data()), n);
            if (type == blend::dtype::bf16) {
                std::vector<std::uint16_t> want_bits(n), got_bits(n);
                blend::convert_bytes(blend::dtype::f64, reinterpret_cast<const std::byte*>(want.data()), blend::dtype::bf16,
                                     reinterpret_cast<std::byte*>(want_bits.data()), n);
                std::memcpy(got_bits.data(), out.data(), n * 2);
                int worst = 0;
                for (std::size_t j = 0; j < n; ++j) worst = std::max(worst, std::abs(bf16_order(got_bits[j]) - bf16_order(want_bits[j])));
                CAPTURE(worst);
                CHECK(worst <= 1);
            } else {
                std::vector<float> got(n);
                std::memcpy(got.data(), out.data(), n * 4);
                double max_ref = 0.0;
                for (double v : want) max_ref = std::max(max_ref, std::abs(v));
                double worst = 0.0;
                for (std::size_t j = 0; j < n; ++j) {
                    const double tolerance = 2e-5 * (std::abs(want[j]) + 1e-3 * max_ref);
                    worst = std::max(worst, std::abs(static_cast<double>(got[j]) - want[j]) / tolerance);
                }
                CAPTURE(worst);
                CHECK(worst <= 1.0);
            }
        }
    }
}

TEST_CASE("task-vector family agrees with mergekit 0.1.5 where mergekit is deterministic", "[merge][task_arithmetic][mergekit]") {
    // Fixtures: tests/reference/make_gta_mergekit_fixtures.py (mergekit's own per-tensor functions on
    // the float32 inputs of the reference fixtures; distinct magnitudes, every k >= 1).
    using namespace gta_fixture;
    using bm::rescale_mode;
    const std::vector<gta_case> mergekit_cases{
        {"task_arithmetic", task_method::task_arithmetic, {0.3, 0.7, 0.5}, {}, {}, {}, 0.8},
        {"ties", task_method::ties, {1.0, 0.6, 0.4}, {0.5, 0.3, 0.7}},
        {"ties_no_normalize", task_method::ties, {0.5, 0.5, 1.0}, {0.4}, {}, {}, 1.3, false},
        {"ties_rescale", task_method::ties, {1.0, 1.0, 1.0}, {0.5}, {}, {}, 1.0, {}, rescale_mode::l1},
        {"breadcrumbs", task_method::breadcrumbs, {0.4, 0.4, 0.2}, {0.4}, {0.05}},
        {"breadcrumbs_ties", task_method::breadcrumbs_ties, {1.0, 0.5, 0.8}, {0.6, 0.5, 0.9}, {0.1}},
        {"breadcrumbs_ties_ntop0", task_method::breadcrumbs_ties, {1.0, 1.0, 1.0}, {0.5}, {0.001}},
    };
    const auto type = blend::dtype::f32;
    const stored base = load_as("f32_base.npy", type);
    std::vector<stored> models;
    for (int i = 0; i < 3; ++i) models.push_back(load_as("f32_m" + std::to_string(i) + ".npy", type));
    std::vector<blend::any_tensor_view> views;
    for (const auto& m : models) views.push_back(m.view());
    for (const auto& c : mergekit_cases) {
        CAPTURE(c.name);
        const auto expected = blend::io::read_npy(data_dir() / "mergekit" / (c.name + ".npy"));
        REQUIRE(expected.type == blend::dtype::f32);
        const std::size_t n = blend::shape_size(expected.shape);
        std::vector<float> got(n), want(n);
        bm::task_arithmetic_into(base.view(), views, {type, base.shape, std::as_writable_bytes(std::span(got))}, c.options());
        std::memcpy(want.data(), expected.data.data(), n * 4);
        double max_ref = 0.0;
        for (float v : want) max_ref = std::max(max_ref, std::abs(static_cast<double>(v)));
        double worst = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
            const double tolerance = 2e-5 * (std::abs(static_cast<double>(want[j])) + 1e-3 * max_ref);
            worst = std::max(worst, std::abs(static_cast<double>(got[j]) - static_cast<double>(want[j])) / tolerance);
        }
        CAPTURE(worst);
        CHECK(worst <= 1.0);
    }
}
