#pragma once
/// @file blend/merge.hpp
/// Umbrella for the weight-merging layer.
#include <blend/merge/engine.hpp>
#include <blend/merge/linear.hpp>
