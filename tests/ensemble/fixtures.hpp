#pragma once
/// @file tests/ensemble/fixtures.hpp
/// Loading the golden fixtures of tests/reference/ensemble_reference.py (tests/ensemble/data/).
#include <blend/ensemble/member_block.hpp>
#include <blend/io/npy.hpp>

#include "support/catch.hpp"
#include "support/files.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace blend::test {

inline std::filesystem::path ensemble_data(const std::string& name) {
    return fixture_dir(__FILE__) / name;
}

inline io::npy_array load_fixture(const std::string& name) { return io::read_npy(ensemble_data(name)); }

/// The values of a float64 or int64 fixture as doubles.
inline std::vector<double> fixture_values(const io::npy_array& a) {
    std::vector<double> out(shape_size(a.shape));
    for (std::size_t j = 0; j < out.size(); ++j) {
        if (a.type == dtype::f64) {
            double v;
            std::memcpy(&v, a.data.data() + 8 * j, 8);
            out[j] = v;
        } else {
            REQUIRE(a.type == dtype::i64);
            std::int64_t v;
            std::memcpy(&v, a.data.data() + 8 * j, 8);
            out[j] = static_cast<double>(v);
        }
    }
    return out;
}

/// A (M, N, C) float64 fixture as a member block over its data (C = 1 gives single-column members).
inline ensemble::member_block stacked_block(const io::npy_array& a) {
    REQUIRE(a.type == dtype::f64);
    REQUIRE(a.shape.size() == 3);
    ensemble::member_block block{.rows = a.shape[1], .columns = a.shape[2], .vector_input = a.shape[2] == 1,
                                 .members = {}};
    for (std::size_t m = 0; m < a.shape[0]; ++m)
        block.members.push_back({dtype::f64, a.data.data() + m * a.shape[1] * a.shape[2] * 8});
    return block;
}

}  // namespace blend::test
