// Loads the ensemble-selection fixtures written by tests/reference/selection_reference.py (AutoGluon's
// EnsembleSelection on sklearn models' predictions): tests/ensemble/{selection,cmaes}.cpp.
#pragma once
#include "support/catch.hpp"
#include "support/files.hpp"

#include <blend/ensemble/member_block.hpp>
#include <blend/io/npy.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace selection_fixture {

/// A case: the members' predictions (M, N[, C]) float64 viewed as a member_block, the labels (int64
/// classes or float64 targets) and AutoGluon's result (`NAME.json`).
struct fixture {
    blend::io::npy_array preds, labels;
    nlohmann::json expected;
    blend::ensemble::member_block block;
    std::vector<std::int64_t> classes;
    std::vector<double> targets;
};

inline fixture load(const std::string& name) {
    const auto dir = blend::test::fixture_dir(__FILE__, "selection");
    fixture f;
    f.preds = blend::io::read_npy(dir / (name + "_preds.npy"));
    f.labels = blend::io::read_npy(dir / (name + "_labels.npy"));
    std::ifstream in(dir / (name + ".json"));
    f.expected = nlohmann::json::parse(in);
    const auto& s = f.preds.shape;
    REQUIRE(f.preds.type == blend::dtype::f64);
    const std::size_t members = s[0], rows = s[1], columns = s.size() == 3 ? s[2] : 1;
    f.block = blend::ensemble::member_block{.rows = rows, .columns = columns, .vector_input = columns == 1, .members = {}};
    for (std::size_t m = 0; m < members; ++m)
        f.block.members.push_back({blend::dtype::f64, f.preds.data.data() + m * rows * columns * sizeof(double)});
    if (f.labels.type == blend::dtype::f64) {
        f.targets.resize(rows);
        std::memcpy(f.targets.data(), f.labels.data.data(), rows * sizeof(double));
    } else {
        REQUIRE(f.labels.type == blend::dtype::i64);
        f.classes.resize(rows);
        std::memcpy(f.classes.data(), f.labels.data.data(), rows * sizeof(std::int64_t));
    }
    return f;
}

}  // namespace selection_fixture
