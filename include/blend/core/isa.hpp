#pragma once
/// @file blend/core/isa.hpp
/// Runtime instruction-set dispatch for the hot loops: `with_isa(f)` runs `f` compiled for the widest
/// vector instruction set this CPU has, whatever the build's -march — so a portable x86-64 build still
/// gets AVX2 or AVX-512 loops where they run.
///
/// How. On x86-64 with GCC or Clang, `f` is called from one of two copies of a small trampoline, AVX2
/// (+BMI1/2, POPCNT) and AVX-512 (F, BW, VL, DQ on top), or directly at the baseline level. Each copy
/// carries `flatten`, so `f` and everything it calls that can be inlined is compiled into that copy for
/// its instruction set; calls that are not inlined (out-of-line functions, other parallel loops) run
/// their ordinary code. The CPU is asked once (`__builtin_cpu_supports`, which also checks that the OS
/// saves the vector state). Elsewhere `with_isa` calls `f`.
///
/// Same numbers at every level. Nothing may contract a * b + c into a fused multiply-add: the copies say
/// so themselves (GCC: `optimize("fp-contract=off")`; Clang: FMA disabled, which on Clang also leaves the
/// AVX-512 copy at AVX2 code), and the CMake target `blend::blend` adds `-ffp-contract=off` so that code
/// outside them rounds the same way even under an FMA-capable -march (builds without CMake should pass
/// it too). Every operation then rounds as in the baseline build and results are bitwise identical
/// across levels and machines; tests run the kernels at every level the CPU has and compare bytes, and
/// check directly that no level fuses (tests/core/isa.cpp).
///
/// Control. The environment variable `BLEND_ISA` (`baseline`, `avx2`, `avx512`, any case) caps the level
/// for the process (read once; another value means no cap); `limit_isa` caps it from code (tests,
/// benchmarks) and `isa_limit` reads the cap. Neither can raise the level above what the CPU has.
/// Defining `BLEND_NO_ISA_DISPATCH` (for the whole program: it changes inline functions) drops the copies
/// — `with_isa` just calls `f`; merge translation units then compile ~1.5x faster, which the sanitizer
/// build uses — but keeps the CPU query, so the few hand-written vector kernels (`BLEND_ISA_X86`, e.g.
/// merge/detail/select.hpp) still run and are tested.

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

namespace blend {

/// Instruction-set levels of `with_isa`, in increasing order.
enum class isa_level : int { baseline = 0, avx2 = 1, avx512 = 2 };

/// The level's name as `BLEND_ISA` spells it.
[[nodiscard]] constexpr std::string_view name(isa_level level) noexcept {
    switch (level) {
    case isa_level::avx2: return "avx2";
    case isa_level::avx512: return "avx512";
    default: return "baseline";
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BLEND_ISA_X86 1  // the CPU is asked; hand-written AVX2 / AVX-512 kernels may be compiled
#endif
#if defined(BLEND_ISA_X86) && !defined(BLEND_NO_ISA_DISPATCH)
#define BLEND_ISA_DISPATCH 1  // with_isa runs per-level copies
#if defined(__clang__)
#define BLEND_ISA_AVX2_ATTRIBUTES __attribute__((flatten, target("avx2,bmi,bmi2,popcnt,no-fma")))
#define BLEND_ISA_AVX512_ATTRIBUTES \
    __attribute__((flatten, target("avx512f,avx512bw,avx512vl,avx512dq,avx2,bmi,bmi2,popcnt,no-fma")))
#else
#define BLEND_ISA_AVX2_ATTRIBUTES \
    __attribute__((flatten, optimize("fp-contract=off"), target("avx2,bmi,bmi2,popcnt")))
#define BLEND_ISA_AVX512_ATTRIBUTES                        \
    __attribute__((flatten, optimize("fp-contract=off"), \
                   target("avx512f,avx512bw,avx512vl,avx512dq,avx2,bmi,bmi2,popcnt")))
#endif
#endif

namespace detail {

/// The widest level this CPU supports (and this build can dispatch to).
[[nodiscard]] inline isa_level cpu_isa_level() noexcept {
#if defined(BLEND_ISA_X86)
    static const isa_level level = [] {
        __builtin_cpu_init();
        const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
                          __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
        if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
            return isa_level::avx512;
        }
        return avx2 ? isa_level::avx2 : isa_level::baseline;
    }();
    return level;
#else
    return isa_level::baseline;
#endif
}

/// The cap from `BLEND_ISA` (any case), or avx512 (no cap) when unset or unrecognised.
[[nodiscard]] inline isa_level environment_isa_cap() noexcept {
    const char* value = std::getenv("BLEND_ISA");
    if (value == nullptr) return isa_level::avx512;
    std::string v{value};
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "baseline") return isa_level::baseline;
    if (v == "avx2") return isa_level::avx2;
    return isa_level::avx512;
}

/// The process-wide cap set by `limit_isa` (initially `BLEND_ISA`'s).
[[nodiscard]] inline std::atomic<int>& isa_cap() noexcept {
    static std::atomic<int> cap{static_cast<int>(environment_isa_cap())};
    return cap;
}

#if defined(BLEND_ISA_DISPATCH)
template <class F>
BLEND_ISA_AVX2_ATTRIBUTES decltype(auto) run_avx2(F& f) {
    return f();
}
template <class F>
BLEND_ISA_AVX512_ATTRIBUTES decltype(auto) run_avx512(F& f) {
    return f();
}
#endif

}  // namespace detail

/// The level `with_isa` runs at: the CPU's widest, capped by `BLEND_ISA` and `limit_isa`.
[[nodiscard]] inline isa_level active_isa() noexcept {
    const int cpu = static_cast<int>(detail::cpu_isa_level());
    const int cap = detail::isa_cap().load(std::memory_order_relaxed);
    return static_cast<isa_level>(cpu < cap ? cpu : cap);
}

/// The widest level this CPU supports (what `active_isa` is without a cap).
[[nodiscard]] inline isa_level cpu_isa() noexcept { return detail::cpu_isa_level(); }

/// The current cap (`BLEND_ISA`'s until `limit_isa` changes it; avx512 = no cap).
[[nodiscard]] inline isa_level isa_limit() noexcept {
    return static_cast<isa_level>(detail::isa_cap().load(std::memory_order_relaxed));
}

/// Caps the level of every later `with_isa` call in the process (thread-safe; results do not depend on
/// it, only speed does). `limit_isa(isa_level::avx512)` removes the cap.
inline void limit_isa(isa_level max) noexcept { detail::isa_cap().store(static_cast<int>(max), std::memory_order_relaxed); }

/// Calls `f()` compiled for `active_isa()` (see the file comment) and returns its result. Put it around
/// the body of a chunk of work (microseconds or more), not around single elements.
template <class F>
decltype(auto) with_isa(F&& f) {
#if defined(BLEND_ISA_DISPATCH)
    switch (active_isa()) {
    case isa_level::avx512: return detail::run_avx512(f);
    case isa_level::avx2: return detail::run_avx2(f);
    default: return f();
    }
#else
    return f();
#endif
}

}  // namespace blend
