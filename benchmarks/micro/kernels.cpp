// Google Benchmark micro-benchmarks of blend's hot kernels: dtype conversion and the weighted sum of the
// averaging merges. Bytes/s are counted over the input bytes read.
#include <blend/blend.hpp>

#include <benchmark/benchmark.h>

#include <vector>

namespace {

constexpr std::size_t elements = 1 << 22;

void bf16_to_f32(benchmark::State& state) {
    std::vector<blend::bf16> in(elements, blend::bf16::from_bits(0x3F81));
    std::vector<float> out(elements);
    for (auto _ : state) {
        blend::convert(std::span<const blend::bf16>(in), std::span<float>(out));
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * elements * sizeof(blend::bf16)));
}
BENCHMARK(bf16_to_f32);

void f32_to_bf16(benchmark::State& state) {
    std::vector<float> in(elements, 1.00390625f);
    std::vector<blend::bf16> out(elements);
    for (auto _ : state) {
        blend::convert(std::span<const float>(in), std::span<blend::bf16>(out));
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * elements * sizeof(float)));
}
BENCHMARK(f32_to_bf16);

void linear_bf16_4_models(benchmark::State& state) {
    blend::set_num_threads(static_cast<std::size_t>(state.range(0)));
    std::vector<xt::xarray<blend::bf16>> models(4, xt::xarray<blend::bf16>::from_shape({elements}));
    for (auto& m : models) std::fill(m.begin(), m.end(), blend::bf16::from_bits(0x3F81));
    for (auto _ : state) {
        auto merged = blend::merge::linear(models);
        benchmark::DoNotOptimize(merged.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 4 * elements * sizeof(blend::bf16)));
}
BENCHMARK(linear_bf16_4_models)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
