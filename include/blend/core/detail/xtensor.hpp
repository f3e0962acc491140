#pragma once
/// @file blend/core/detail/xtensor.hpp
/// The only header of blend that includes xtensor. Every other blend header includes this one.
///
/// Why: with GCC in C++20 mode, xtensor <= 0.25 compiles out the `xtype_for_shape` specialization
/// for xarray's dynamic shape (`svector<size_t, N, A, Init>`) because it is guarded by
/// `__cplusplus == 201703L`. GCC's relaxed template-template matching then picks the
/// `S<X, N>` specialization and types every `xt::xarray` temporary as a rank-4 `xt::xtensor`:
/// `xt::eval(xt::transpose(a))` fails to compile, immediate `xt::mean`/`xt::sum` and `xt::tile`
/// throw `bad_array_new_length` (-O0) or crash (-O2). Upstream fixed this in 0.26.0 by guarding the
/// specialization with `__cpp_template_template_args`. We backport exactly that: declare the same
/// specialization right after `xexpression_traits.hpp`, before any other xtensor header can
/// instantiate the trait, only for the flat (<= 0.25) header layout and only when 0.26's guard
/// would include it while the installed guard excluded it. See `../shared/XTENSOR.md`, fact 1, and
/// the regression tests in `tests/core/xtensor_regression.cpp`.
///
/// Header paths moved in 0.26 (`xtensor/xarray.hpp` -> `xtensor/containers/xarray.hpp`); both
/// layouts are selected with `__has_include`, spelled out in full (GCC cannot build the path with a
/// macro).

#if __has_include(<xtensor/core/xtensor_config.hpp>)
// xtensor >= 0.26: the fix is upstream.
#define BLEND_XTENSOR_NESTED_LAYOUT 1
#include <xtensor/core/xexpression_traits.hpp>
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xarray.hpp>
#include <xtensor/containers/xtensor.hpp>
#include <xtensor/core/xmath.hpp>
#include <xtensor/generators/xbuilder.hpp>
#include <xtensor/misc/xmanipulation.hpp>
#include <xtensor/misc/xpad.hpp>
#include <xtensor/views/xview.hpp>
#else
#define BLEND_XTENSOR_NESTED_LAYOUT 0
#include <xtensor/xexpression_traits.hpp>

#if defined(__GNUC__) && defined(__cpp_template_template_args) && \
    !((__GNUC__ > 6) && (__cplusplus == 201703L))
#define BLEND_XTENSOR_SHAPE_BACKPORT 1
namespace xt::detail {
/// Backport of xtensor 0.26's `xtype_for_shape` specialization for xarray's dynamic shape.
template <template <class, std::size_t, class, bool> class S, class X, std::size_t N, class A, bool Init>
struct xtype_for_shape<S<X, N, A, Init>> {
    template <class T, layout_type L>
    using type = xarray<T, L>;
};
}  // namespace xt::detail
#else
#define BLEND_XTENSOR_SHAPE_BACKPORT 0
#endif

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xpad.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>
#endif
