#pragma once
/// @file blend/ensemble.hpp
/// Umbrella for the prediction-ensembling layer: combinators (soft/hard vote, logit, geometric, rank,
/// median, trimmed, max), composable predictor ensembles, calibration, prediction files, ensemble
/// selection (greedy, CMA-ES) and stacking meta-learners.
#include <blend/ensemble/calibration.hpp>
#include <blend/ensemble/cmaes.hpp>
#include <blend/ensemble/combine.hpp>
#include <blend/ensemble/hard_vote.hpp>
#include <blend/ensemble/logistic.hpp>
#include <blend/ensemble/member_block.hpp>
#include <blend/ensemble/predictions.hpp>
#include <blend/ensemble/predictor_ensemble.hpp>
#include <blend/ensemble/ridge.hpp>
#include <blend/ensemble/selection.hpp>
#include <blend/ensemble/soft_vote.hpp>
#include <blend/ensemble/stacking.hpp>
