#pragma once
/// @file blend/metrics.hpp
/// Umbrella for the metrics layer: classification losses, calibration error, regression error, CRPS,
/// diversity and uncertainty (docs/metrics.md).
#include <blend/metrics/calibration_error.hpp>
#include <blend/metrics/classification.hpp>
#include <blend/metrics/crps.hpp>
#include <blend/metrics/diversity.hpp>
#include <blend/metrics/regression.hpp>
#include <blend/metrics/uncertainty.hpp>
