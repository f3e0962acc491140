#pragma once
/// @file blend/core.hpp
/// Umbrella for the core layer: dtypes, concepts, views, errors, parallel-for, RNG.
#include <blend/core/concepts.hpp>
#include <blend/core/convert.hpp>
#include <blend/core/dtype.hpp>
#include <blend/core/error.hpp>
#include <blend/core/float8.hpp>
#include <blend/core/half.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/random.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/version.hpp>
