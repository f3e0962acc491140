#pragma once
#include "support/files.hpp"
/// @file tests/metrics/fixtures.hpp
/// Fixture access for the metrics tests: the .npy files and reference values written by
/// tests/reference/metrics_reference.py into tests/metrics/data/{sklearn,crps}/.

#include <blend/core/tensor_view.hpp>
#include <blend/io/npy.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <span>
#include <string>

namespace metrics_test {

namespace fs = std::filesystem;

/// tests/metrics/data/<part> beside this file, else relative to the tests/ working directory.
inline fs::path data_dir(const std::string& part) {
    return blend::test::fixture_dir(__FILE__, part);
}

/// The reference values of one part.
inline nlohmann::json values(const std::string& part) {
    std::ifstream in(data_dir(part) / "values.json");
    return nlohmann::json::parse(in);
}

/// A fixture array, owning its bytes, viewed as a typed blend tensor.
struct array {
    blend::io::npy_array npy;

    template <class E>
    [[nodiscard]] blend::tensor_view<const E> as() const {
        if (npy.type != blend::dtype_of<E>) throw blend::error{"fixture dtype mismatch"};
        return {std::span<const E>(reinterpret_cast<const E*>(npy.data.data()), blend::shape_size(npy.shape)), npy.shape};
    }
};

inline array load(const std::string& part, const std::string& name) {
    return {blend::io::read_npy(data_dir(part) / (name + ".npy"))};
}

}  // namespace metrics_test
