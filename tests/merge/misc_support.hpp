#pragma once
/// @file tests/merge/misc_support.hpp
/// Shared helpers of the tests of model_stock, nearswap, ram, arcee_fusion and passthrough: loading the
/// fixtures written by tests/reference/make_misc_fixtures.py (and make_misc_mergekit_fixtures.py) and
/// checking a merge against a float64 reference with the tolerances:
///   bf16 outputs: |got - ref| <= 1 bf16 ulp at |ref|;
///   f32/f64 outputs: |got - ref| <= 2e-5 (|ref| + 1e-3 max|ref|).

#include <blend/core/convert.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/io/npy.hpp>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/owned_tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace misc_test {

namespace fs = std::filesystem;

inline fs::path data_dir() { return blend::test::fixture_dir(__FILE__, "misc"); }

using owned = blend::test::owned_tensor;
using blend::test::converted;
inline owned make(blend::dtype type, const blend::shape_type& shape) { return blend::test::make_owned(type, shape); }
inline std::vector<double> doubles(const blend::any_tensor_view& t) { return blend::test::values_of(t); }

/// The storage dtype a fixture name ends in: _bf16, _f32 or _f64.
inline blend::dtype dtype_of_case(const std::string& name) {
    if (name.ends_with("_bf16")) return blend::dtype::bf16;
    if (name.ends_with("_f64")) return blend::dtype::f64;
    return blend::dtype::f32;
}

/// A fixture: inputs (the base first when there is one) in the case's dtype, and the reference.
struct fixture {
    blend::dtype type = blend::dtype::f32;
    std::vector<owned> inputs;
    std::vector<double> ref;

    [[nodiscard]] std::vector<blend::any_tensor_view> views() const {
        std::vector<blend::any_tensor_view> out;
        for (const auto& input : inputs) out.push_back(input.view());
        return out;
    }
};

inline fixture load_case(const std::string& name, const fs::path& ref_file = {}) {
    fixture f;
    f.type = dtype_of_case(name);
    const fs::path dir = data_dir();
    if (fs::exists(dir / (name + ".base.npy"))) {
        f.inputs.push_back(converted(blend::io::read_npy(dir / (name + ".base.npy")).view(), f.type));
    }
    for (int i = 1; fs::exists(dir / (name + ".x" + std::to_string(i) + ".npy")); ++i) {
        f.inputs.push_back(converted(blend::io::read_npy(dir / (name + ".x" + std::to_string(i) + ".npy")).view(), f.type));
    }
    f.ref = doubles(blend::io::read_npy(ref_file.empty() ? dir / (name + ".ref.npy") : ref_file).view());
    return f;
}

/// Spacing of bfloat16 numbers at |r| (1 ulp).
inline double bf16_ulp(double r) {
    const double a = std::abs(r);
    if (a < 0x1p-126) return 0x1p-133;
    int e = 0;
    (void)std::frexp(a, &e);  // a = m 2^e, m in [0.5, 1)
    return std::ldexp(1.0, e - 8);
}

/// Checks `got` against `ref` with the tolerance for `type`; returns the worst error in units of
/// the tolerance (bf16: ulps; f32/f64: |got - ref| / (|ref| + 1e-3 max|ref|), to compare with 2e-5).
inline double check_close(const std::string& name, blend::dtype type, std::span<const double> got,
                          std::span<const double> ref) {
    REQUIRE(got.size() == ref.size());
    double max_ref = 0.0;
    for (double r : ref) max_ref = std::max(max_ref, std::abs(r));
    double worst = 0.0;
    std::size_t failures = 0;
    for (std::size_t j = 0; j < ref.size(); ++j) {
        const double err = std::abs(got[j] - ref[j]);
        const double units = type == blend::dtype::bf16 ? err / bf16_ulp(ref[j]) : err / (std::abs(ref[j]) + 1e-3 * max_ref);
        const bool ok = type == blend::dtype::bf16 ? units <= 1.0 : units <= 2e-5;
        if (!ok && ++failures <= 5) {
            UNSCOPED_INFO(name << ": entry " << j << " got " << got[j] << " ref " << ref[j]);
        }
        worst = std::max(worst, units);
    }
    CHECK(failures == 0);
    std::printf("  %-28s %-4s worst %s %.3g\n", name.c_str(), std::string(blend::name(type)).c_str(),
                type == blend::dtype::bf16 ? "ulp" : "rel", worst);
    return worst;
}

/// Runs `merge(views, out)` on fixture `name` with an output of the case's dtype and checks it against
/// the reference `ref_file` (default: the case's .ref.npy).
inline double check_case(const std::string& name,
                         const std::function<void(std::span<const blend::any_tensor_view>, const blend::any_mutable_tensor_view&)>& merge,
                         const fs::path& ref_file = {}) {
    const fixture f = load_case(name, ref_file);
    const std::vector<blend::any_tensor_view> views = f.views();
    owned out = make(f.type, f.inputs.back().shape);
    merge(views, out.mutable_view());
    return check_close(name, f.type, doubles(out.view()), f.ref);
}

}  // namespace misc_test

namespace misc_test {

/// Agreement with mergekit 0.1.5's own result (tests/merge/data/misc/mergekit/NAME.npy, written by
/// make_misc_mergekit_fixtures.py). float32/float64 cases: the tolerance, as against the
/// reference. bf16 cases: mergekit computes in bf16, so only the fraction of entries more than 1 bf16
/// ulp apart is checked, against `max_fraction_beyond_ulp` (docs/methods.md explains each figure).
inline void check_mergekit(const std::string& name,
                           const std::function<void(std::span<const blend::any_tensor_view>, const blend::any_mutable_tensor_view&)>& merge,
                           double max_fraction_beyond_ulp = 0.0) {
    const fs::path file = data_dir() / "mergekit" / (name + ".npy");
    if (dtype_of_case(name) != blend::dtype::bf16) {
        std::printf("  vs mergekit:");
        check_case(name, merge, file);
        return;
    }
    const fixture f = load_case(name, file);
    const std::vector<blend::any_tensor_view> views = f.views();
    owned out = make(f.type, f.inputs.back().shape);
    merge(views, out.mutable_view());
    const std::vector<double> got = doubles(out.view());
    std::size_t beyond = 0;
    double worst = 0.0;
    for (std::size_t j = 0; j < got.size(); ++j) {
        const double units = std::abs(got[j] - f.ref[j]) / bf16_ulp(f.ref[j]);
        beyond += units > 1.0 ? 1 : 0;
        worst = std::max(worst, units);
    }
    const double fraction = static_cast<double>(beyond) / static_cast<double>(got.size());
    std::printf("  vs mergekit: %-28s bf16 %.2f %% of entries > 1 ulp (worst %.3g ulp; mergekit computes in bf16)\n",
                name.c_str(), 100.0 * fraction, worst);
    CHECK(fraction <= max_fraction_beyond_ulp);
}

}  // namespace misc_test
