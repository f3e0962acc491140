// libFuzzer target for blend::config::parse_merge_config (blend/config/yaml.hpp), the mergekit-YAML
// parser of blend-merge. Any input must either parse into a merge_config that keeps the schema's
// invariants (a method name; exactly one of models / slices; non-empty layer ranges; parameter values
// that evaluate at any layer position), or throw blend::config_error; anything else (another
// exception, a sanitizer report, a failed check) is a bug. Seeds: tests/fuzz/corpus/config/ (example
// configs). Run with ./scripts/fuzz.sh 30 config.
#include <blend/config/merge_config.hpp>
#include <blend/config/yaml.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void evaluate_all(const blend::config::parameter_map& parameters) {
    for (const auto& [name, value] : parameters) {
        for (const double t : {0.0, 0.3, 1.0}) (void)blend::config::evaluate(value, "model.layers.1.self_attn.q_proj.weight", t);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto config = blend::config::parse_merge_config(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yml");
        if (config.models.empty() == config.slices.empty()) std::abort();
        evaluate_all(config.parameters);
        for (const auto& m : config.models) evaluate_all(m.parameters);
        for (const auto& s : config.slices) {
            if (s.sources.empty()) std::abort();
            evaluate_all(s.parameters);
            for (const auto& source : s.sources) {
                if (source.model.empty()) std::abort();
                if (source.layers && source.layers->begin >= source.layers->end) std::abort();
                evaluate_all(source.parameters);
            }
        }
        if (blend::config::referenced_models(config).empty()) std::abort();
        (void)blend::config::normalized_slices(config, {.append_base = true});
    } catch (const blend::config_error&) {}
    return 0;
}
