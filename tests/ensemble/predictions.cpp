// Tests for blend/ensemble/predictions.hpp: CLI.md's shape rules for prediction files, labels of any
// integer width or float, task detection, and errors naming the file and value.
#include <blend/ensemble/predictions.hpp>

#include "ensemble/fixtures.hpp"
#include "support/scratch_dir.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace blend::ensemble;
namespace fs = std::filesystem;
using blend::shape_type;

namespace {
template <class E>
fs::path write(const blend::test::scratch_dir& dir, const std::string& name, const std::vector<E>& values, shape_type shape) {
    const auto path = dir.path / name;
    blend::io::write_npy(path, blend::tensor_view<const E>(std::span(values), std::move(shape)));
    return path;
}
std::string message_of(auto&& f) {
    try {
        f();
    } catch (const blend::error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("prediction files of 1, 2 and 3 dimensions concatenate into members", "[ensemble][predictions]") {
    blend::test::scratch_dir dir{"predictions"};
    const std::vector<float> a{0.1f, 0.9f, 0.4f, 0.6f};                 // (2, 2) float32: one member
    const std::vector<double> b{0.2, 0.8, 0.3, 0.7, 0.5, 0.5, 1.0, 0.0};  // (2, 2, 2) float64: two members
    const fs::path files[] = {write(dir, "a.npy", a, {2, 2}), write(dir, "b.npy", b, {2, 2, 2})};
    const auto set = load_predictions(files);
    REQUIRE(set.block.size() == 3);
    CHECK(set.block.rows == 2);
    CHECK(set.block.columns == 2);
    CHECK_FALSE(set.block.vector_input);
    CHECK(set.block.output_shape() == shape_type{2, 2});
    CHECK(set.member_names == std::vector<std::string>{files[0].string(), files[1].string() + "[0]", files[1].string() + "[1]"});
    CHECK(set.block.members[0].type == blend::dtype::f32);
    CHECK(detail::member_value(set.block.members[0], 3) == Approx(0.6f));
    CHECK(detail::member_value(set.block.members[2], 2) == 1.0);

    // (N,), (N, 1) and (M, N, 1) are all single-column members with (N,) output
    const fs::path single[] = {write(dir, "v.npy", std::vector<double>{0.2, 0.9, 0.4}, {3}),
                               write(dir, "c.npy", std::vector<float>{0.1f, 0.2f, 0.3f}, {3, 1}),
                               write(dir, "s.npy", std::vector<double>(6, 0.5), {2, 3, 1})};
    const auto s = load_predictions(single);
    CHECK(s.block.size() == 4);
    CHECK(s.block.single_column());
    CHECK(s.block.output_shape() == shape_type{3});
}

TEST_CASE("fortran-order prediction files are read in C order", "[ensemble][predictions]") {
    // numpy.asfortranarray(np.arange(6.).reshape(2, 3)) saved by hand: header with fortran_order True
    blend::test::scratch_dir dir{"predictions"};
    std::string header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
    header.append(128 - 10 - header.size() - 1, ' ');  // data at offset 128
    header += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
    for (double v : {0.0, 3.0, 1.0, 4.0, 2.0, 5.0}) bytes.append(reinterpret_cast<const char*>(&v), 8);
    blend::io::write_file_atomically(dir.path / "f.npy", std::as_bytes(std::span(bytes)));
    const fs::path files[] = {dir.path / "f.npy"};
    const auto set = load_predictions(files);
    for (std::size_t j = 0; j < 6; ++j) CHECK(detail::member_value(set.block.members[0], j) == static_cast<double>(j));
}

TEST_CASE("prediction files are checked with messages naming the file", "[ensemble][predictions]") {
    blend::test::scratch_dir dir{"predictions"};
    const fs::path ints[] = {write(dir, "ints.npy", std::vector<std::int32_t>{0, 1}, {2})};
    CHECK_THROWS_AS(load_predictions(ints), blend::io_error);
    CHECK(message_of([&] { (void)load_predictions(ints); }).find("ints.npy: predictions must be float32 or float64, not int32") != std::string::npos);
    const fs::path mismatch[] = {write(dir, "p.npy", std::vector<double>(4, 0.5), {2, 2}), write(dir, "q.npy", std::vector<double>(6, 0.5), {2, 3})};
    CHECK_THROWS_AS(load_predictions(mismatch), blend::shape_error);
    CHECK(message_of([&] { (void)load_predictions(mismatch); }).rfind(mismatch[1].string() + ": predictions (2, 3)", 0) == 0);
    const fs::path four[] = {write(dir, "4d.npy", std::vector<double>(2, 0.5), {1, 1, 2, 1})};
    CHECK_THROWS_AS(load_predictions(four), blend::shape_error);
    const fs::path missing[] = {dir.path / "missing.npy"};
    CHECK_THROWS_AS(load_predictions(missing), blend::io_error);
    const fs::path empty[] = {write(dir, "empty.npy", std::vector<double>{}, {0, 3})};
    CHECK_THROWS_AS(load_predictions(empty), blend::shape_error);
    CHECK_THROWS_AS(load_predictions(std::span<const fs::path>{}), blend::invalid_argument);

    std::vector<double> bad(6, 0.5);
    bad[4] = std::numeric_limits<double>::infinity();
    const fs::path inf[] = {write(dir, "inf.npy", bad, {2, 3, 1})};
    const auto set = load_predictions(inf);
    CHECK(message_of([&] { check_finite(set); }) == (dir.path / "inf.npy").string() + "[1]: prediction is not finite at row 1 column 0: inf");
}

TEST_CASE("labels of any integer width or float, and task detection", "[ensemble][predictions]") {
    blend::test::scratch_dir dir{"predictions"};
    const member_block multi{.rows = 3, .columns = 4, .vector_input = false, .members = {}};
    const member_block single{.rows = 3, .columns = 1, .vector_input = true, .members = {}};
    const auto u8 = load_labels(write(dir, "u8.npy", std::vector<std::uint8_t>{3, 0, 1}, {3}));
    CHECK(u8.classes == std::vector<std::int64_t>{3, 0, 1});
    CHECK(detect_task(multi, u8) == task_kind::multiclass);
    const auto i16 = load_labels(write(dir, "i16.npy", std::vector<std::int16_t>{1, 0, 1}, {3}));
    CHECK(detect_task(single, i16) == task_kind::binary);
    const auto u64 = load_labels(write(dir, "u64.npy", std::vector<std::uint64_t>{1, 0, 1}, {3}));
    CHECK(detect_task(single, u64) == task_kind::binary);
    const auto f32 = load_labels(write(dir, "f.npy", std::vector<float>{1.5f, -2.0f, 0.25f}, {3}));
    CHECK(f32.floating);
    CHECK(f32.values == std::vector<double>{1.5, -2.0, 0.25});
    CHECK(detect_task(single, f32) == task_kind::regression);
    CHECK_THROWS_AS(detect_task(multi, f32), blend::shape_error);  // regression needs (N,)
    CHECK_THROWS_AS(detect_task(single, u8), blend::io_error);     // label 3 is not binary
    CHECK(message_of([&] { (void)detect_task(single, u8); }).find("label 3 at row 0") != std::string::npos);
    const auto four = load_labels(write(dir, "four.npy", std::vector<std::int64_t>{0, 1, 2, 3}, {4}));
    CHECK_THROWS_AS(detect_task(multi, four), blend::shape_error);  // 4 labels for 3 rows
    CHECK_THROWS_AS(load_labels(write(dir, "neg.npy", std::vector<std::int32_t>{0, -1}, {2})), blend::io_error);
    CHECK_THROWS_AS(load_labels(write(dir, "big.npy", std::vector<std::uint64_t>{1ull << 63}, {1})), blend::io_error);
    CHECK_THROWS_AS(load_labels(write(dir, "2d.npy", std::vector<std::int64_t>{0, 1}, {2, 1})), blend::shape_error);
    CHECK_THROWS_AS(load_labels(write(dir, "nan.npy", std::vector<double>{0.0, std::nan("")}, {2})), blend::io_error);
    CHECK_THROWS_AS(load_labels(dir.path / "missing.npy"), blend::io_error);
}
