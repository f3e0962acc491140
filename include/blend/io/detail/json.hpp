#pragma once
/// @file blend/io/detail/json.hpp
/// JSON helpers shared by the file-format readers (safetensors headers, index.json): strict parsing with
/// nlohmann_json into a DOM that rejects duplicate keys, UTF-8 validation, and printing of bad input in
/// one-line error messages.

#include <blend/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace blend::io::detail {

/// `text` fit for a one-line message: control bytes escaped, cut after 200 bytes.
[[nodiscard]] inline std::string printable(std::string_view text) {
    constexpr std::size_t limit = 200;
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7F) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    if (text.size() > limit) out += "...";
    return out;
}

/// A JSON value shown in a message: compact, cut after about 200 bytes, containers nested deeper than
/// 4 shown as `[...]`/`{...}`. (Not `dump()`: it recurses once per nesting level, and a 100 MB header
/// of `[[[[…` would overflow the stack.)
[[nodiscard]] inline std::string printable_json(const nlohmann::json& value, int depth = 0) {
    if (!value.is_structured())
        return printable(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    const bool object = value.is_object();
    if (depth >= 4) return object ? "{...}" : "[...]";
    std::string out(1, object ? '{' : '[');
    for (auto it = value.begin(); it != value.end(); ++it) {
        if (out.size() > 200) {
            out += "...";
            break;
        }
        if (it != value.begin()) out += ',';
        if (object) out += printable_json(it.key()) + ':';
        out += printable_json(it.value(), depth + 1);
    }
    return out + (object ? '}' : ']');
}

/// Index of the first byte of `text` that is not part of valid UTF-8 (RFC 3629: no overlong forms,
/// surrogates or code points above U+10FFFF), or `text.size()`.
[[nodiscard]] inline std::size_t invalid_utf8_at(std::span<const std::byte> text) noexcept {
    const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    for (std::size_t i = 0, n = text.size(); i < n;) {
        const unsigned char c = at(i);
        // Sequence length, and the range of the second byte (narrowed for E0, ED, F0, F4).
        const std::size_t len = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
        const unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        const unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        if (len == 0 || n - i < len) return i;
        for (std::size_t k = 1; k < len; ++k) {
            if (at(i + k) < (k == 1 ? lo : 0x80) || at(i + k) > (k == 1 ? hi : 0xBF)) return i;
        }
        i += len;
    }
    return text.size();
}

/// What `parse_json_object` saw besides the DOM: the top-level keys in document order.
struct json_object_parse {
    nlohmann::json value;
    std::vector<std::string> keys;  ///< top-level keys, in the order of the document
};

/// A SAX handler building the DOM like nlohmann's own, and also rejecting duplicate keys at the top
/// level and one level down (nlohmann silently keeps the last one). Not nlohmann's parser callback: it
/// rescans the parent object at the end of every child object, quadratic in the number of tensors.
template <class DescribeDuplicate>
class checked_dom_builder final : public nlohmann::json_sax<nlohmann::json> {
public:
    using json = nlohmann::json;
    checked_dom_builder(json_object_parse& out, std::string_view file, std::string_view what,
                        DescribeDuplicate& duplicate)
        : out_{out}, file_{file}, what_{what}, duplicate_{duplicate} {}

    bool null() override { return add(nullptr); }
    bool boolean(bool v) override { return add(v); }
    bool number_integer(number_integer_t v) override { return add(v); }
    bool number_unsigned(number_unsigned_t v) override { return add(v); }
    bool number_float(number_float_t v, const string_t&) override { return add(v); }
    bool string(string_t& v) override { return add(std::move(v)); }
    bool binary(binary_t& v) override { return add(json::binary(std::move(v))); }
    bool start_object(std::size_t) override {
        open_.push_back(insert(json::object()));
        if (open_.size() == 2) nested_keys_.clear();
        return true;
    }
    bool start_array(std::size_t) override {
        open_.push_back(insert(json::array()));
        return true;
    }
    bool end_object() override { return close(); }
    bool end_array() override { return close(); }
    bool key(string_t& k) override {
        const bool top = open_.size() == 1;
        const bool nested = open_.size() == 2 && open_[0]->is_object();
        if (top && !top_keys_.insert(k).second) {
            throw io_error{
                fmt::format("{}: {}", file_, duplicate_(static_cast<const std::string*>(nullptr), k))};
        }
        if (nested && !nested_keys_.insert(k).second) {
            throw io_error{fmt::format("{}: {}", file_, duplicate_(&out_.keys.back(), k))};
        }
        if (top) out_.keys.push_back(k);
        key_ = std::move(k);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e) override {
        throw io_error{fmt::format("{}: {} is not valid JSON: {}", file_, what_, printable(e.what()))};
    }

private:
    /// Places `v` in the innermost open container (or as the root); returns where it went. Pointers
    /// into an array stay valid: nothing is appended to it while its last element is open.
    json* insert(json v) {
        if (open_.empty()) {
            out_.value = std::move(v);
            return &out_.value;
        }
        json& top = *open_.back();
        if (top.is_array()) {
            top.get_ref<json::array_t&>().push_back(std::move(v));
            return &top.back();
        }
        return &top.get_ref<json::object_t&>().insert_or_assign(std::move(key_), std::move(v)).first->second;
    }
    bool add(json v) {
        insert(std::move(v));
        return true;
    }
    bool close() {
        open_.pop_back();
        return true;
    }

    json_object_parse& out_;
    std::string_view file_, what_;
    DescribeDuplicate& duplicate_;
    std::vector<json*> open_;  // the open containers, outermost first
    std::set<std::string> top_keys_, nested_keys_;
    std::string key_;
};

/// Parses `text` with nlohmann_json's strict RFC 8259 parser into a DOM, rejecting duplicate keys at
/// the top level and one level down. On a duplicate, throws `io_error{"<file>: " + duplicate(outer,
/// key)}`, `outer` being the top-level key holding the nested object, or null for a top-level
/// duplicate. A syntax error is `io_error{"<file>: <what> is not valid JSON: <nlohmann's message>"}`.
template <class DescribeDuplicate>
[[nodiscard]] json_object_parse parse_json_object(std::string_view text, std::string_view file,
                                                  std::string_view what, DescribeDuplicate duplicate) {
    // nlohmann reads a NUL byte as the end of the input and would ignore what follows it; a raw NUL
    // is never valid JSON (inside strings control characters must be escaped), so reject it here.
    if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
        throw io_error{fmt::format("{}: {} is not valid JSON: NUL byte at offset {}", file, what, nul)};
    }
    json_object_parse result;
    checked_dom_builder<DescribeDuplicate> builder{result, file, what, duplicate};
    (void)nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
    return result;
}

/// Reads a JSON integer in [0, 2^64) into `out`; false for anything else (negative, float, other).
[[nodiscard]] inline bool json_u64(const nlohmann::json& v, std::uint64_t& out) noexcept {
    if (!v.is_number_unsigned()) return false;
    out = v.get<std::uint64_t>();
    return true;
}

}  // namespace blend::io::detail
