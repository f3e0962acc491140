#pragma once
/// @file blend/blend.hpp
/// Everything in blend's `blend::blend` target. (The mergekit-YAML front end, which needs yaml-cpp,
/// is the separate `blend::config` target with its own umbrella.)
#include <blend/core.hpp>
#include <blend/ensemble.hpp>
#include <blend/io.hpp>
#include <blend/merge.hpp>
#include <blend/metrics.hpp>
