#pragma once
/// @file blend/core/error.hpp
/// The exception hierarchy and `BLEND_ASSERT`.
///
/// Every error blend raises derives from `blend::error` (itself a `std::runtime_error`), so a host can
/// catch all of blend with one handler. Messages are one line and name the file, tensor, key and the
/// offending value; build them with fmt (`blend::io_error{fmt::format("{}: ...", path)}`).
///
///   blend::error            : std::runtime_error   — root
///   ├── io_error                                   — unreadable/malformed files, failed writes
///   ├── shape_error                                — tensors whose shapes do not fit together
///   ├── config_error                               — bad merge configuration (keys, methods, values)
///   ├── invalid_argument                           — a bad value passed to a library function
///   └── internal_error                             — a broken invariant (thrown by BLEND_ASSERT)

#include <stdexcept>
#include <string>

namespace blend {

/// Root of every exception blend throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A file could not be read or written, or its content violates its format.
class io_error : public error {
public:
    using error::error;
};

/// Tensors whose shapes do not match what an operation requires.
class shape_error : public error {
public:
    using error::error;
};

/// A merge or ensemble configuration that is invalid (unknown key, method or value).
class config_error : public error {
public:
    using error::error;
};

/// A value passed to a library function is outside its domain.
class invalid_argument : public error {
public:
    using error::error;
};

/// An internal invariant does not hold: a bug in blend, never the caller's input.
class internal_error : public error {
public:
    using error::error;
};

namespace detail {
/// Throws the `internal_error` of a failed `BLEND_ASSERT`. (`__FILE__`/`__LINE__` rather than
/// `std::source_location`, which Clang 14 cannot compile with libstdc++ 12.)
[[noreturn, gnu::noinline, gnu::cold]] inline void assertion_failed(const char* expression, const char* message,
                                                                     const char* file, long line) {
    std::string text = std::string{"blend: internal check failed: "} + expression;
    if (message != nullptr && *message != '\0') {
        text += " (";
        text += message;
        text += ")";
    }
    text += " at ";
    text += file;
    text += ":";
    text += std::to_string(line);
    throw internal_error{text};
}
}  // namespace detail

}  // namespace blend

/// Checks an internal invariant; when it does not hold, throws `blend::internal_error` naming the
/// expression, the optional message and the source location. Always on (the checks guard memory
/// safety of the kernels and cost nothing measurable outside inner loops, where they are not used).
#define BLEND_ASSERT(expression, ...)                                                                \
    do {                                                                                             \
        if (!(expression)) [[unlikely]] {                                                            \
            ::blend::detail::assertion_failed(#expression, "" __VA_ARGS__, __FILE__, __LINE__);                 \
        }                                                                                            \
    } while (false)
