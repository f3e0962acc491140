#pragma once
/// @file examples/demo/dataset.hpp
/// Fashion-MNIST for the demo: the gzip-compressed IDX files of Debian's `dataset-fashion-mnist`
/// (/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz), inflated with
/// zlib and parsed with `blend::io::parse_idx`, and the seeded row splits the demo trains and scores on.

#include <blend/core/detail/xtensor.hpp>
#include <blend/core/error.hpp>
#include <blend/core/random.hpp>
#include <blend/io/idx.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

namespace demo {

/// Images as float32 rows scaled to [0, 1] (N, 784) and their labels 0..9 (N,).
struct dataset {
    xt::xtensor<float, 2> x;
    xt::xtensor<std::int64_t, 1> y;

    [[nodiscard]] std::size_t rows() const noexcept { return y.size(); }
};

inline constexpr std::size_t classes = 10;
inline constexpr std::size_t pixels = 28 * 28;

/// The whole content of a gzip file, inflated by zlib (`gzread`; a file that is not gzip-compressed
/// is read as it is). Throws `blend::io_error` naming the file.
[[nodiscard]] inline std::vector<std::byte> gunzip_file(const std::filesystem::path& path) {
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) throw blend::io_error{fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno))};
    std::vector<std::byte> out;
    std::size_t used = 0;
    for (;;) {
        out.resize(used + (std::size_t{1} << 22));
        const int n = gzread(file, out.data() + used, static_cast<unsigned>(out.size() - used));
        int code = Z_OK;
        const char* message = gzerror(file, &code);
        if (n < 0 || code != Z_OK) {  // a truncated stream ends with n == 0 and Z_BUF_ERROR
            const std::string text = message;
            gzclose(file);
            throw blend::io_error{fmt::format("{}: cannot inflate: {}", path.string(), text)};
        }
        used += static_cast<std::size_t>(n);
        if (n == 0) break;
    }
    gzclose(file);
    out.resize(used);
    return out;
}

/// One split of Fashion-MNIST from `dir`: `prefix` is "train" (60000 rows) or "t10k" (10000 rows).
/// Throws `blend::io_error` naming the file for a missing, corrupt or inconsistent file (images not
/// u8 (N, 28, 28), labels not u8 (N,), different row counts, a label above 9).
[[nodiscard]] inline dataset load_fashion_mnist(const std::filesystem::path& dir, const std::string& prefix) {
    const auto images_path = dir / (prefix + "-images-idx3-ubyte.gz");
    const auto labels_path = dir / (prefix + "-labels-idx1-ubyte.gz");
    const auto images = blend::io::parse_idx(gunzip_file(images_path), images_path.string());
    const auto labels = blend::io::parse_idx(gunzip_file(labels_path), labels_path.string());
    if (images.type != blend::dtype::u8 || images.shape.size() != 3 || images.shape[1] != 28 || images.shape[2] != 28) {
        throw blend::io_error{fmt::format("{}: expected u8 images of shape [N, 28, 28], got {} [{}]", images_path.string(),
                                          blend::name(images.type), fmt::join(images.shape, ", "))};
    }
    if (labels.type != blend::dtype::u8 || labels.shape.size() != 1 || labels.shape[0] != images.shape[0]) {
        throw blend::io_error{fmt::format("{}: expected {} u8 labels, got {} [{}]", labels_path.string(), images.shape[0],
                                          blend::name(labels.type), fmt::join(labels.shape, ", "))};
    }
    const std::size_t n = images.shape[0];
    dataset out{xt::xtensor<float, 2>::from_shape({n, pixels}), xt::xtensor<std::int64_t, 1>::from_shape({n})};
    for (std::size_t i = 0; i < n * pixels; ++i) {
        out.x.data()[i] = static_cast<float>(std::to_integer<std::uint8_t>(images.data[i])) / 255.0f;
    }
    for (std::size_t i = 0; i < n; ++i) {
        out.y(i) = std::to_integer<std::uint8_t>(labels.data[i]);
        if (out.y(i) >= static_cast<std::int64_t>(classes)) {
            throw blend::io_error{fmt::format("{}: label {} at row {} is not a class 0..9", labels_path.string(), out.y(i), i)};
        }
    }
    return out;
}

/// A uniformly random permutation of 0..n-1 (Fisher–Yates driven by element i of the Philox stream
/// `blend::random_stream{seed, key}`): the same for a given (seed, key) on every machine.
[[nodiscard]] inline std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed, std::uint64_t key) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    const blend::random_stream rng{seed, key};
    for (std::size_t i = n; i > 1; --i) {
        const auto j = static_cast<std::size_t>(rng.uniform(i) * static_cast<double>(i));
        std::swap(order[i - 1], order[j < i ? j : i - 1]);
    }
    return order;
}

/// The rows `rows` of `from`, in that order.
[[nodiscard]] inline dataset take_rows(const dataset& from, std::span<const std::size_t> rows) {
    dataset out{xt::xtensor<float, 2>::from_shape({rows.size(), pixels}), xt::xtensor<std::int64_t, 1>::from_shape({rows.size()})};
    for (std::size_t r = 0; r < rows.size(); ++r) {
        std::memcpy(out.x.data() + r * pixels, from.x.data() + rows[r] * pixels, pixels * sizeof(float));
        out.y(r) = from.y(rows[r]);
    }
    return out;
}

}  // namespace demo
