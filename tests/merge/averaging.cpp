// Tests for blend/merge/averaging.hpp (METHODS.md §1 "Training-time averaging").
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/merge/averaging.hpp>

#include "support/catch.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

using state = std::map<std::string, xt::xarray<float>>;

/// The float32 values of an accumulator's average of `name`.
std::vector<float> values(const blend::any_tensor_view& view) {
    REQUIRE(view.type == blend::dtype::f32);
    std::vector<float> out(view.size());
    std::memcpy(out.data(), view.bytes.data(), view.bytes.size());
    return out;
}

xt::xarray<float> random_tensor(std::uint64_t key, std::size_t n) {
    blend::random_stream rng(11, key);
    xt::xarray<float> x = xt::xarray<float>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) x.data()[i] = rng.uniform_float(i) * 2.f - 1.f;
    return x;
}

}  // namespace

TEST_CASE("swa: the first update copies, then the average is the running mean", "[merge][averaging]") {
    blend::merge::swa_average swa;
    CHECK(swa.empty());
    swa.update(xt::xarray<float>{1.f, 2.f, -4.f});
    CHECK(swa.count() == 1);
    CHECK(values(swa.average()) == std::vector<float>{1.f, 2.f, -4.f});
    swa.update(xt::xarray<float>{3.f, 4.f, 8.f});
    // (1+3)/2 = 2, (2+4)/2 = 3, (-4+8)/2 = 2
    CHECK(values(swa.average()) == std::vector<float>{2.f, 3.f, 2.f});
    swa.update(xt::xarray<float>{5.f, -1.f, 2.f});
    // 2 + (5-2)/3 = 3, 3 + (-1-3)/3 = 5/3, 2 + (2-2)/3 = 2
    CHECK(values(swa.average()) == std::vector<float>{3.f, static_cast<float>(5.0 / 3.0), 2.f});
    CHECK(swa.count() == 3);
}

TEST_CASE("swa of a sequence equals its mean to float32 rounding", "[merge][averaging]") {
    constexpr std::size_t n = 1000;
    constexpr int steps = 20;
    blend::merge::swa_average swa;
    std::vector<double> sum(n, 0.0);
    for (int k = 0; k < steps; ++k) {
        const auto x = random_tensor(static_cast<std::uint64_t>(k), n);
        for (std::size_t i = 0; i < n; ++i) sum[i] += x.data()[i];
        swa.update(state{{"w", x}});
    }
    const auto avg = values(swa.average("w"));
    for (std::size_t i = 0; i < n; ++i) {
        // one float32 rounding per step: |error| <= steps * 2^-24 * max|avg| (|x| < 1)
        CHECK(std::abs(avg[i] - sum[i] / steps) <= steps * 0x1p-24);
    }
}

TEST_CASE("ema: hand-computed values with a constant decay", "[merge][averaging]") {
    blend::merge::ema_average ema({.decay = 0.75});
    ema.update(xt::xarray<float>{1.f, 2.f});  // first update copies: [1, 2]
    CHECK(values(ema.average()) == std::vector<float>{1.f, 2.f});
    ema.update(xt::xarray<float>{5.f, -2.f});  // 0.75*1 + 0.25*5 = 2, 0.75*2 + 0.25*(-2) = 1
    CHECK(values(ema.average()) == std::vector<float>{2.f, 1.f});
    ema.update(xt::xarray<float>{6.f, 5.f});  // 0.75*2 + 0.25*6 = 3, 0.75*1 + 0.25*5 = 2
    CHECK(values(ema.average()) == std::vector<float>{3.f, 2.f});
    // A step without warm-up only matters while step <= update_after_step + 1 (= 1): step 1 copies.
    ema.update(xt::xarray<float>{-1.f, 0.f}, 1);
    CHECK(values(ema.average()) == std::vector<float>{-1.f, 0.f});
    ema.update(xt::xarray<float>{3.f, 4.f}, 2);  // 0.75*(-1) + 0.25*3 = 0, 0.75*0 + 0.25*4 = 1
    CHECK(values(ema.average()) == std::vector<float>{0.f, 1.f});
    CHECK(ema.count() == 5);
}

TEST_CASE("ema_decay follows timm ModelEmaV3.get_decay", "[merge][averaging]") {
    using blend::merge::ema_decay;
    const blend::merge::ema_options plain{};
    CHECK(ema_decay(plain) == 0.9999);
    CHECK(ema_decay(plain, 0) == 0.0);  // s = max(0, 0 - 0 - 1) = 0 → copy
    CHECK(ema_decay(plain, 1) == 0.0);  // s = 0 → copy
    CHECK(ema_decay(plain, 2) == 0.9999);
    const blend::merge::ema_options warm{.warmup = true};
    // step 2: s = 1, 1 - (1 + 1)^(-2/3) = 1 - 0.629960524947437 = 0.370039475052563
    CHECK(ema_decay(warm, 2) == Approx(0.370039475052563).epsilon(1e-14));
    // step 9: s = 8, 1 - 9^(-2/3) = 1 - 3^(-4/3) = 1 - 0.231120424783545 = 0.768879575216455
    CHECK(ema_decay(warm, 9) == Approx(0.768879575216455).epsilon(1e-14));
    // s = 10^6 - 1: 1 - (10^6)^(-2/3) = 1 - 1e-4 = 0.9999, then min(., decay 0.999) = 0.999
    CHECK(ema_decay({.decay = 0.999, .warmup = true}, 1'000'000) == 0.999);
    // min_decay lifts the warm-up: s = 1 gives 0.370…, raised to 0.5
    CHECK(ema_decay({.min_decay = 0.5, .warmup = true}, 2) == 0.5);
    // update_after_step = 3: steps up to 4 copy, step 5 has s = 1
    const blend::merge::ema_options later{.update_after_step = 3, .warmup = true, .warmup_power = 1.0};
    CHECK(ema_decay(later, 4) == 0.0);
    CHECK(ema_decay(later, 5) == 0.5);  // 1 - (1 + 1)^-1
    // gamma scales the step: s = 2, gamma 2 → 1 - (1 + 1)^-1 = 0.5
    CHECK(ema_decay({.warmup = true, .warmup_gamma = 2.0, .warmup_power = 1.0}, 3) == 0.5);
    CHECK_THROWS_AS(blend::merge::ema_average({.decay = 1.5}), blend::invalid_argument);
    CHECK_THROWS_AS(blend::merge::ema_average({.warmup_gamma = 0.0}), blend::invalid_argument);
}

TEST_CASE("ema: hand-computed values with warm-up", "[merge][averaging]") {
    // power 1, gamma 1: decay_t = 1 - 1/(1 + s) = s/(s+1) with s = step - 1, i.e. the running mean.
    blend::merge::ema_average ema({.decay = 0.9999, .warmup = true, .warmup_power = 1.0});
    ema.update(xt::xarray<float>{4.f, 0.f}, 1);   // s = 0: copy → [4, 0]
    ema.update(xt::xarray<float>{8.f, 2.f}, 2);   // s = 1, decay 1/2: [6, 1]
    CHECK(values(ema.average()) == std::vector<float>{6.f, 1.f});
    ema.update(xt::xarray<float>{0.f, 4.f}, 3);   // s = 2, decay 2/3: 2/3*6 + 1/3*0 = 4, 2/3*1 + 1/3*4 = 2
    CHECK(values(ema.average()) == std::vector<float>{4.f, 2.f});
    ema.update(xt::xarray<float>{8.f, -2.f}, 4);  // s = 3, decay 3/4: 3 + 2 = 5, 1.5 - 0.5 = 1
    CHECK(values(ema.average()) == std::vector<float>{5.f, 1.f});

    // default power 2/3: step 2 has s = 1, decay 1 - 2^(-2/3), so avg = 0 + 2^(-2/3) * (1 - 0)
    blend::merge::ema_average timm({.warmup = true});
    timm.update(xt::xarray<float>{0.f}, 0);  // s = 0: copy
    timm.update(xt::xarray<float>{1.f}, 2);
    CHECK(values(timm.average())[0] == static_cast<float>(0.62996052494743658));
}

TEST_CASE("ema: decay 0 copies every step, decay 1 keeps the first", "[merge][averaging]") {
    blend::merge::ema_average tracking({.decay = 0.0});
    blend::merge::ema_average frozen({.decay = 1.0});
    const auto first = random_tensor(1, 257);
    tracking.update(first);
    frozen.update(first);
    for (std::uint64_t k = 2; k < 6; ++k) {
        const auto x = random_tensor(k, 257);
        tracking.update(x);
        frozen.update(x);
        CHECK(values(tracking.average()) == std::vector<float>(x.begin(), x.end()));
    }
    CHECK(values(frozen.average()) == std::vector<float>(first.begin(), first.end()));
}

TEST_CASE("averages write back into a host state dict in place", "[merge][averaging]") {
    state model{{"a", xt::xarray<float>{1.f, 2.f}}, {"b", xt::xarray<float>{{0.f, 4.f}, {2.f, 2.f}}}};
    blend::merge::swa_average swa;
    swa.update(model);
    model["a"] = xt::xarray<float>{3.f, 6.f};
    model["b"] = xt::xarray<float>{{2.f, 0.f}, {2.f, -2.f}};
    swa.update(model);
    CHECK(swa.names() == std::vector<std::string>{"a", "b"});
    const float* storage = model["b"].data();
    swa.write_to(model);
    CHECK(model["b"].data() == storage);  // written into the host's own buffer
    CHECK((model["a"] == xt::xarray<float>{2.f, 4.f}));
    CHECK((model["b"] == xt::xarray<float>{{1.f, 2.f}, {2.f, 0.f}}));

    // a bf16 host: the float32 average is rounded once into it (1 + 2^-9 rounds to 1 in bf16)
    std::map<std::string, xt::xarray<blend::bf16>> half{{"a", xt::xarray<blend::bf16>::from_shape({1})}};
    blend::merge::ema_average ema({.decay = 0.5});
    ema.update(std::map<std::string, xt::xarray<float>>{{"a", {1.f}}});
    ema.update(std::map<std::string, xt::xarray<float>>{{"a", {1.f + 0x1p-8f}}});
    ema.write_to(half);
    CHECK(half["a"].data()[0].bits == 0x3F80);

    state wrong{{"a", xt::xarray<float>{0.f, 0.f, 0.f}}};
    CHECK_THROWS_AS(swa.write_to(wrong), blend::shape_error);
    state unknown{{"c", xt::xarray<float>{0.f}}};
    CHECK_THROWS_WITH(swa.write_to(unknown), "running average: no parameter named 'c'");
}

TEST_CASE("averages keep float32 for 16-bit params, float64 for float64, copy integers", "[merge][averaging]") {
    // bf16 params: increments of (1 - decay) * 1 = 2^-10 are far below bf16's step at 1 (2^-7) but
    // survive in the float32 average: 1 + 2^-10 after one update.
    std::map<std::string, xt::xarray<blend::bf16>> bf{{"w", {blend::bf16::from_bits(0x3F80)}}};
    blend::merge::ema_average ema({.decay = 1.0 - 0x1p-10});
    ema.update(bf);
    bf["w"].data()[0] = blend::bf16::from_bits(0x4000);  // 2
    ema.update(bf);
    CHECK(values(ema.average("w"))[0] == 1.f + 0x1p-10f);

    std::map<std::string, xt::xarray<double>> f64{{"w", {1.0 / 3.0}}};
    blend::merge::swa_average swa;
    swa.update(f64);
    CHECK(swa.average("w").type == blend::dtype::f64);

    // mixed runtime-typed parameters: the int32 counter is copied, the floats averaged
    xt::xarray<std::int32_t> counter{7};
    xt::xarray<float> weight{2.f};
    blend::merge::swa_average mixed;
    mixed.update(std::vector<blend::merge::named_tensor_view>{{"n", blend::any_tensor_view::of(counter)},
                                                              {"w", blend::any_tensor_view::of(weight)}});
    counter(0) = 9;
    weight(0) = 4.f;
    mixed.update(std::vector<blend::merge::named_tensor_view>{{"n", blend::any_tensor_view::of(counter)},
                                                              {"w", blend::any_tensor_view::of(weight)}});
    CHECK(mixed.average("n").type == blend::dtype::i32);
    xt::xarray<std::int32_t> n_back{0};
    mixed.write_to("n", blend::any_mutable_tensor_view::of(n_back));
    CHECK(n_back(0) == 9);
    CHECK(values(mixed.average("w"))[0] == 3.f);
}

TEST_CASE("averages reject parameters that change names or shapes", "[merge][averaging]") {
    blend::merge::swa_average swa;
    swa.update(state{{"a", {1.f, 2.f}}});
    CHECK_THROWS_AS(swa.update(state{{"a", {1.f, 2.f, 3.f}}}), blend::shape_error);
    CHECK_THROWS_WITH(swa.update(state{{"b", {1.f, 2.f}}}), "running average: no parameter named 'b'");
    CHECK_THROWS_AS(swa.update(state{{"a", {1.f, 2.f}}, {"b", {1.f}}}), blend::invalid_argument);
    CHECK(swa.count() == 1);  // failed updates change nothing
    CHECK(values(swa.average("a")) == std::vector<float>{1.f, 2.f});
    swa.reset();
    swa.update(state{{"b", {5.f}}});
    CHECK(values(swa.average("b")) == std::vector<float>{5.f});

    const xt::xarray<float> a{1.f};
    const std::vector<blend::merge::named_tensor_view> twice{{"a", blend::any_tensor_view::of(a)},
                                                             {"a", blend::any_tensor_view::of(a)}};
    blend::merge::ema_average ema;
    CHECK_THROWS_WITH(ema.update(twice), "ema_average: parameter 'a' given twice");
    CHECK(ema.empty());
}

TEST_CASE("averages are identical for 1 and 2 threads", "[merge][averaging]") {
    auto run = [](std::size_t threads) {
        blend::set_num_threads(threads);
        blend::merge::ema_average ema({.decay = 0.9, .warmup = true});
        blend::merge::swa_average swa;
        for (std::uint64_t k = 0; k < 4; ++k) {
            const state params{{"w", random_tensor(k, 100003)}};
            ema.update(params, static_cast<std::int64_t>(k + 1));
            swa.update(params);
        }
        return std::pair{values(ema.average("w")), values(swa.average("w"))};
    };
    const std::size_t previous = blend::num_threads();
    const auto one = run(1);
    const auto two = run(2);
    blend::set_num_threads(previous);
    CHECK(one.first == two.first);
    CHECK(one.second == two.second);
}
