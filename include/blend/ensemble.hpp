#pragma once
/// @file blend/ensemble.hpp
/// Umbrella for the prediction-ensembling layer.
#include <blend/ensemble/soft_vote.hpp>
