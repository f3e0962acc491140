// Loads the scikit-learn fixtures written by tests/reference/stacking_reference.py.
#pragma once
#include "support/files.hpp"

#include <blend/io/npy.hpp>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace stacking_fixture {

inline std::filesystem::path data_dir() { return blend::test::fixture_dir(__FILE__, "stacking"); }

/// An array of the case as float64 or int64 values, with its shape.
template <class E>
struct array {
    std::vector<E> values;
    blend::shape_type shape;
};

template <class E>
array<E> load(const std::string& case_name, const std::string& key) {
    const auto npy = blend::io::read_npy(data_dir() / (case_name + "_" + key + ".npy"));
    if (npy.type != blend::dtype_of<E>)
        throw std::runtime_error("stacking fixture " + key + ": unexpected dtype");
    array<E> out{std::vector<E>(npy.data.size() / sizeof(E)), npy.shape};
    std::memcpy(out.values.data(), npy.data.data(), npy.data.size());
    return out;
}

}  // namespace stacking_fixture
