#pragma once
/// @file blend/merge.hpp
/// Umbrella for the weight-merging layer: every data-free method, the training-time averages, model
/// soups, and the streaming engine.
#include <blend/merge/arcee_fusion.hpp>
#include <blend/merge/averaging.hpp>
#include <blend/merge/engine.hpp>
#include <blend/merge/karcher.hpp>
#include <blend/merge/linear.hpp>
#include <blend/merge/model_stock.hpp>
#include <blend/merge/multislerp.hpp>
#include <blend/merge/nearswap.hpp>
#include <blend/merge/passthrough.hpp>
#include <blend/merge/ram.hpp>
#include <blend/merge/sce.hpp>
#include <blend/merge/slerp.hpp>
#include <blend/merge/soup.hpp>
#include <blend/merge/task_arithmetic.hpp>
