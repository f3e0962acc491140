// Tests for blend/merge/sce.hpp (METHODS.md §1 "sce", MERGEKIT_NOTES.md §8).
#include <blend/core/convert.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/io/npy.hpp>
#include <blend/merge/sce.hpp>

#include "support/catch.hpp"
#include "support/files.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace bm = blend::merge;

TEST_CASE("sce weights by mean squares and erases by the sum sign (hand-computed)", "[merge][sce]") {
    const xt::xarray<double> base{0.0, 0.0};
    const std::vector<xt::xarray<double>> models{{1.0, -2.0}, {3.0, 2.0}};
    const auto merged = bm::sce(base, models);
    // w = [2.5, 6.5] / 9; entry 0: both positive → (2.5 + 19.5)/9 / 1 = 22/9; entry 1: sum 0 → +1 → 2.
    CHECK(std::abs(merged(0) - 22.0 / 9.0) < 1e-15);
    CHECK(merged(1) == 2.0);
}

TEST_CASE("sce select keeps the top-k variance entries", "[merge][sce]") {
    const xt::xarray<double> base = xt::zeros<double>({4});
    // variances: entry 0: 0, entry 1: 1, entry 2: 4, entry 3: 1 → 3 nonzero; topk 0.67 → k = 2: entries 2, 1.
    const std::vector<xt::xarray<double>> models{{5.0, 1.0, 2.0, -1.0}, {5.0, -1.0, -2.0, 1.0}};
    const auto merged = bm::sce(base, models, {.select_topk = 0.67});
    CHECK(merged(0) == 0.0);
    CHECK(merged(3) == 0.0);
    CHECK(merged(1) != 0.0);
    CHECK(merged(2) != 0.0);
    const auto none = bm::sce(base, models, {.select_topk = 0.0});
    CHECK((none == base));
}

TEST_CASE("sce of identical inputs gives themselves; thread count does not matter", "[merge][sce]") {
    const std::size_t n = 2 * (std::size_t{1} << 20) + 5;
    blend::random_stream rng(1, 2);
    xt::xarray<float> base = xt::xarray<float>::from_shape({n});
    std::vector<xt::xarray<float>> models(3, xt::xarray<float>::from_shape({n}));
    for (std::size_t i = 0; i < n; ++i) {
        base.data()[i] = rng.uniform_float(i);
        for (std::size_t m = 0; m < 3; ++m) models[m].data()[i] = base.data()[i] + std::round(rng.uniform_float(n * (m + 1) + i) * 8.f) / 64.f;
    }
    const std::vector<xt::xarray<float>> same{base, base};
    CHECK((bm::sce(base, same, {.select_topk = 0.5}) == base));
    blend::set_num_threads(1);
    const auto one = bm::sce(base, models, {.select_topk = 0.3});
    blend::set_num_threads(2);
    const auto two = bm::sce(base, models, {.select_topk = 0.3});
    blend::set_num_threads(0);
    CHECK((one == two));
}

TEST_CASE("sce agrees with the float64 reference on bf16 and f32 inputs", "[merge][sce][reference]") {
    namespace fs = std::filesystem;
    const fs::path dir = blend::test::fixture_dir(__FILE__, "gta");
    const auto load = [&](const std::string& file, blend::dtype type) {
        const auto a = blend::io::read_npy(dir / file);
        std::vector<std::byte> bytes(blend::shape_size(a.shape) * blend::size_of(type));
        blend::convert_bytes(a.type, a.data.data(), type, bytes.data(), blend::shape_size(a.shape));
        return std::pair{a.shape, bytes};
    };
    for (const auto type : {blend::dtype::bf16, blend::dtype::f32}) {
        const std::string prefix = type == blend::dtype::bf16 ? "bf16_" : "f32_";
        const auto base = load(prefix + "base.npy", type);
        std::vector<std::pair<blend::shape_type, std::vector<std::byte>>> models;
        std::vector<blend::any_tensor_view> views;
        for (int i = 0; i < 3; ++i) models.push_back(load(prefix + "m" + std::to_string(i) + ".npy", type));
        for (const auto& m : models) views.push_back({type, m.first, m.second});
        for (const auto& [name, topk] : std::vector<std::pair<std::string, double>>{{"sce", 1.0}, {"sce_topk_0.5", 0.5}, {"sce_topk_0.1", 0.1}}) {
            CAPTURE(prefix + name);
            const auto expected = load(prefix + name + ".npy", blend::dtype::f64);
            const std::size_t n = blend::shape_size(base.first);
            std::vector<std::byte> out(n * blend::size_of(type));
            bm::sce_into({type, base.first, base.second}, views, {type, base.first, out}, {.select_topk = topk});
            std::vector<double> want(n), got(n);
            std::memcpy(want.data(), expected.second.data(), n * 8);
            blend::convert_bytes(type, out.data(), blend::dtype::f64, reinterpret_cast<std::byte*>(got.data()), n);
            if (type == blend::dtype::bf16) {
                std::vector<std::uint16_t> want_bits(n), got_bits(n);
                blend::convert_bytes(blend::dtype::f64, reinterpret_cast<const std::byte*>(want.data()), blend::dtype::bf16,
                                     reinterpret_cast<std::byte*>(want_bits.data()), n);
                std::memcpy(got_bits.data(), out.data(), n * 2);
                const auto order = [](std::uint16_t b) { return (b & 0x8000) != 0 ? -static_cast<int>(b & 0x7FFF) : static_cast<int>(b); };
                int worst = 0;
                for (std::size_t j = 0; j < n; ++j) worst = std::max(worst, std::abs(order(got_bits[j]) - order(want_bits[j])));
                CAPTURE(worst);
                CHECK(worst <= 1);
            } else {
                double max_ref = 0.0;
                for (double v : want) max_ref = std::max(max_ref, std::abs(v));
                double worst = 0.0;
                for (std::size_t j = 0; j < n; ++j) worst = std::max(worst, std::abs(got[j] - want[j]) / (2e-5 * (std::abs(want[j]) + 1e-3 * max_ref)));
                CAPTURE(worst);
                CHECK(worst <= 1.0);
            }
        }
    }
}
