// libFuzzer target for blend/io/safetensors_header.hpp: the input is a whole safetensors file.
// A rejected file must be a `blend::io_error` (anything else escapes and crashes the run). An accepted
// one must be safe to read: every tensor's view lies inside the input and holds product(shape) elements,
// its values convert, and the canonical serialization of the header parses back to the same tensors.
#include <blend/core/convert.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/io/safetensors_header.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

void check_accepted(std::span<const std::byte> file, const blend::io::safetensors_header& header) {
    require(header.data_offset >= 8 && header.data_offset <= file.size());
    const auto data = file.subspan(static_cast<std::size_t>(header.data_offset));
    std::uint64_t covered = 0;
    std::vector<float> values;
    for (const auto& t : header.tensors) {
        require(t.begin == covered && t.end >= t.begin && t.end <= data.size());
        covered = t.end;
        const blend::any_tensor_view view{t.type, t.shape, data.subspan(t.begin, t.byte_size())};
        require(view.size() * blend::size_of(view.type) == view.bytes.size());
        values.resize(view.size());
        blend::convert_bytes(view.type, view.bytes.data(), blend::dtype::f32,
                             reinterpret_cast<std::byte*>(values.data()), values.size());
    }
    require(covered == data.size());

    // Round trip: the canonical header of what was read parses back to the same tensors and metadata.
    std::string text = blend::io::serialize_safetensors_header(header.tensors, header.metadata);
    std::vector<std::byte> again(8);
    for (std::size_t i = 0; i < 8; ++i) again[i] = static_cast<std::byte>((text.size() >> (8 * i)) & 0xFF);
    for (const char c : text) again.push_back(static_cast<std::byte>(c));
    again.insert(again.end(), data.begin(), data.end());
    const auto reparsed = blend::io::parse_safetensors_header(again, "round-trip");
    require(reparsed.metadata == header.metadata && reparsed.tensors.size() == header.tensors.size());
    for (std::size_t i = 0; i < header.tensors.size(); ++i) {
        const auto& a = header.tensors[i];
        const auto& b = reparsed.tensors[i];
        require(a.name == b.name && a.type == b.type && a.shape == b.shape && a.begin == b.begin && a.end == b.end);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
    blend::io::safetensors_header header;
    try {
        header = blend::io::parse_safetensors_header(file, "fuzz.safetensors");
    } catch (const blend::io_error&) {
        return 0;
    }
    check_accepted(file, header);
    return 0;
}
