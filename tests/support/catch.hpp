#pragma once
/// @file tests/support/catch.hpp
/// One include for Catch2 v2 (Debian 12: <catch2/catch.hpp>) and v3 (<catch2/catch_all.hpp>),
/// so test files never name the version. Both export `Catch2::Catch2WithMain`.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
