#pragma once
/// @file examples/ensemble/commands.hpp
/// The subcommands of `blend-ensemble` (CLI.md): each takes the arguments after its name and returns
/// the process exit code (0 success, 2 usage / invalid value, 3 bad input, 1 write failure / internal),
/// having printed any error as one line `blend-ensemble: error: ...` on stderr.
#include <span>
#include <string_view>

int run_combine(std::span<const std::string_view> args);
int run_eval(std::span<const std::string_view> args);
int run_calibrate(std::span<const std::string_view> args);
/// Built only when examples/ensemble/select.cpp / stack.cpp exist (see CMakeLists.txt).
int run_select(std::span<const std::string_view> args);
int run_stack(std::span<const std::string_view> args);
