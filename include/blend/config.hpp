#pragma once
/// @file blend/config.hpp
/// Umbrella for the mergekit-YAML front end (target `blend::config`, needs yaml-cpp): the config
/// struct and parameter lookup, the YAML parser, model references, the config → plan builder and the
/// output-directory job.
#include <blend/config/layers.hpp>
#include <blend/config/merge_config.hpp>
#include <blend/config/methods.hpp>
#include <blend/config/model_ref.hpp>
#include <blend/config/output.hpp>
#include <blend/config/plan.hpp>
#include <blend/config/yaml.hpp>
