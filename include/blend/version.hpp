#pragma once
/// @file blend/version.hpp
/// The library version. CMake reads the three numbers below to configure `project()` and the
/// installed `blendConfigVersion.cmake`, so this file is the single source of truth.

#define BLEND_VERSION_MAJOR 0
#define BLEND_VERSION_MINOR 1
#define BLEND_VERSION_PATCH 0

/// Packed version, e.g. 0.1.0 -> 100, 1.2.3 -> 10203.
#define BLEND_VERSION (BLEND_VERSION_MAJOR * 10000 + BLEND_VERSION_MINOR * 100 + BLEND_VERSION_PATCH)

namespace blend {
/// The version as a string, "MAJOR.MINOR.PATCH".
inline constexpr const char* version_string = "0.1.0";
}  // namespace blend
