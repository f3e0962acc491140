// Writes, with blend's safetensors_writer, the files tests/reference/check_safe_open.py loads with the
// Python library's `safetensors.safe_open` (the tensors of tests/io/safetensors_patterns.hpp):
//
//   OUT_DIR/all_dtypes.safetensors  every dtype, "scalar", "empty", in blend's order (dtype enum order),
//                                   written in reverse order from two threads; metadata
//                                   {"format": "pt", "writer": "blend"}
//   OUT_DIR/escapes.safetensors     the escape names, metadata {"note": escape_note}
//   OUT_DIR/sharded/                the BF16 model, 1000-byte shards + model.safetensors.index.json
//
// usage: write_for_safe_open OUT_DIR        (exit 0, or 1 with one error line on stderr)
#include <blend/io/safetensors_writer.hpp>

#include "io/safetensors_patterns.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <thread>

namespace {

void write_file(const std::filesystem::path& file, const std::vector<blend_test::named_tensor>& tensors,
                std::map<std::string, std::string> metadata) {
    auto w = blend::io::safetensors_writer::to_file(file, blend_test::specs_of(tensors), std::move(metadata));
    const auto half = [&](std::size_t parity) {
        for (std::size_t i = tensors.size(); i-- > 0;) {
            if (i % 2 == parity) w.write(i, tensors[i].bytes);
        }
    };
    std::thread other{half, 1};
    half(0);
    other.join();
    w.commit();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: write_for_safe_open OUT_DIR\n");
        return 2;
    }
    try {
        const std::filesystem::path out{argv[1]};
        std::filesystem::create_directories(out);
        write_file(out / "all_dtypes.safetensors", blend_test::all_dtypes_tensors(), {{"format", "pt"}, {"writer", "blend"}});
        write_file(out / "escapes.safetensors", blend_test::escape_tensors(), {{"note", blend_test::escape_note}});
        const auto model = blend_test::model_tensors();
        auto w = blend::io::safetensors_writer::to_directory(out / "sharded", blend_test::specs_of(model),
                                                             {.shard_size = blend_test::model_shard_limit});
        for (std::size_t i = 0; i < model.size(); ++i) w.write(i, model[i].bytes);
        w.commit();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "write_for_safe_open: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
