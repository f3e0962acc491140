#pragma once
/// @file blend/config/plan.hpp
/// `merge_config` + opened models → the streaming engine's `merge::merge_plan` (as mergekit's
/// `MergePlanner` plans it; CLI.md):
///  - the `models:` form is one slice over all layers of every model (the base appended when the
///    method uses one and it is not listed);
///  - output layers are the slices' layers in order, renumbered from 0; layer k of a slice reads layer
///    `layer_range.begin + k` of each source, with t = k / (n - 1) (t = 1 for a one-layer slice);
///  - tensors before the layers (embeddings) come from the first slice's sources with its parameters,
///    the other tensors outside the layers from the last slice's, both with t = 0;
///  - shared parameters are looked up with the output tensor's name, per-model ones with the input
///    tensor's name, source > slice > top level (blend/config/merge_config.hpp);
///  - output order: the `models:` form keeps the base model's (else the first model's) tensor order;
///    a slice merge writes the embeddings, the layers, then the rest, each in its model's order;
///  - output dtype: `out_dtype`, else `dtype`, else the reference input tensor's dtype;
///  - embeddings of different vocabulary sizes (2-D tensors named `embed_tokens`, `wte`,
///    `word_embeddings`, `lm_head`; METHODS.md): the task-vector family crops every input to the base's
///    rows (an input with fewer rows is a shape error), the other methods to the fewest rows; the
///    columns must agree. Any other shape difference is a `shape_error` naming both models and shapes.
/// The names of the tensors of a layer come from the slice's reference source (its base, else its
/// first source); each other source must hold the same names at its own layer index.

#include <blend/config/layers.hpp>
#include <blend/config/merge_config.hpp>
#include <blend/config/methods.hpp>
#include <blend/core/error.hpp>
#include <blend/io/safetensors_reader.hpp>
#include <blend/merge/engine.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace blend::config {

/// Options of `plan_from_config`.
struct plan_options {
    /// Seed of every random mask (DARE, DELLA) and of arcee_fusion's sample (`--seed`, default 0).
    std::uint64_t seed = 0;
};

/// What one output tensor does, for `--dry-run` and for tests.
struct planned_tensor {
    std::string method;
    std::vector<std::string> inputs;  ///< "model:tensor", in the function's input order
    std::vector<std::pair<std::string, std::string>> parameters;  ///< resolved, shared then per model ("weight[ft1]")
};

/// A config's plan: the engine's plan plus a description of each task (same order).
struct planned_merge {
    merge::merge_plan plan;
    std::vector<planned_tensor> tensors;
    bool sliced = false;          ///< from `slices:` (the output's layer count may differ)
    std::size_t layer_count = 0;  ///< layers of the output
    std::size_t reference_model = 0;  ///< index (in `referenced_models`) whose config.json/tokenizer are copied
};

namespace detail {

struct planner {
    const merge_config& config;
    std::span<const io::model_reader* const> readers;
    const plan_options& options;
    method_spec method = find_method(config.merge_method);
    std::vector<std::string> refs = referenced_models(config);
    std::vector<layer_index> layers{};
    planned_merge out{};

    [[nodiscard]] std::size_t model_of(const std::string& ref) const {
        return static_cast<std::size_t>(std::find(refs.begin(), refs.end(), ref) - refs.begin());
    }

    // One output tensor `name` from `sources[j]`'s tensor `inputs[j]` (ordered with the base first when used).
    void add_task(const output_slice& slice, const std::vector<std::size_t>& order, std::optional<std::size_t> base,
                  const std::string& name, const std::vector<std::string>& inputs, double t) {
        const auto& ref_source = slice.sources[base.value_or(order.front())];
        const io::model_reader& ref_reader = *readers[model_of(ref_source.model)];
        const std::string& ref_name = inputs[base.value_or(order.front())];
        const io::tensor_entry* ref = ref_reader.find(ref_name);
        if (ref == nullptr) throw io_error{fmt::format("{}: tensor '{}' not found", ref_reader.path().string(), ref_name)};
        merge::tensor_task task{name, config.out_dtype.value_or(config.dtype.value_or(ref->type)), ref->shape, {}, {}};
        // Embeddings of different vocabulary sizes (METHODS.md): the task-vector family crops every input
        // to the base's rows, the other methods to the fewest rows; the columns must agree.
        const bool vocabulary = is_embedding(name) && ref->shape.size() == 2;
        if (vocabulary && !method.crops_to_base) {
            for (std::size_t j = 0; j < slice.sources.size(); ++j) {
                const io::tensor_entry* e = readers[model_of(slice.sources[j].model)]->find(inputs[j]);
                if (e != nullptr && e->shape.size() == 2) task.shape[0] = std::min(task.shape[0], e->shape[0]);
            }
        }
        bool cropped = false;
        planned_tensor info{config.merge_method, {}, {}};
        resolved_parameters p;
        const std::vector<const parameter_map*> shared_levels{&slice.parameters, &config.parameters};
        for (const auto& spec : method.shared) {
            auto value = resolve_parameter(shared_levels, spec.name, name, t);
            if (!value) value = spec.fallback;
            if (!value && spec.required) {
                throw config_error{fmt::format("tensor '{}': parameter '{}' is required by {}", name, spec.name, method.name)};
            }
            if (value) {
                info.parameters.emplace_back(spec.name, to_string(*value));
                p.shared.emplace(spec.name, std::move(*value));
            }
        }
        std::vector<std::size_t> all = order;
        if (base) all.insert(all.begin(), *base);
        for (std::size_t j : all) {
            const input_slice& source = slice.sources[j];
            const std::size_t m = model_of(source.model);
            const io::tensor_entry* entry = readers[m]->find(inputs[j]);
            if (entry == nullptr) {
                throw io_error{fmt::format("{}: tensor '{}' not found (model '{}', needed for '{}')", readers[m]->path().string(),
                                           inputs[j], source.model, name)};
            }
            const bool croppable = vocabulary && entry->shape.size() == 2 && entry->shape[1] == ref->shape[1] &&
                                   entry->shape[0] >= task.shape[0];
            cropped = cropped || (croppable && entry->shape[0] != task.shape[0]);
            if (entry->shape != ref->shape && !croppable) {
                throw shape_error{fmt::format("tensor '{}': model '{}' has shape [{}] but model '{}' has [{}]", inputs[j], source.model,
                                              fmt::join(entry->shape, ", "), ref_source.model, fmt::join(ref->shape, ", "))};
            }
            task.inputs.push_back({m, inputs[j]});
            info.inputs.push_back(fmt::format("{}:{}", source.model, inputs[j]));
            if (base && j == *base) continue;
            // Per-model levels: every source of this slice naming the model, the slice, the top level.
            std::vector<const parameter_map*> levels;
            for (const auto& s : slice.sources) {
                if (s.model == source.model) levels.push_back(&s.parameters);
            }
            levels.push_back(&slice.parameters);
            levels.push_back(&config.parameters);
            auto& values = p.per_model.emplace_back();
            for (const auto& spec : method.per_model) {
                auto value = resolve_parameter(levels, spec.name, inputs[j], t);
                if (!value) value = spec.fallback;
                if (!value && spec.required) {
                    throw config_error{fmt::format("tensor '{}': parameter '{}' of model '{}' is required by {}", inputs[j], spec.name,
                                                   source.model, method.name)};
                }
                if (value) {
                    info.parameters.emplace_back(fmt::format("{}[{}]", spec.name, source.model), to_string(*value));
                    values.emplace(spec.name, std::move(*value));
                }
            }
        }
        task.produce = make_tensor_function(method, p, name, {.seed = options.seed, .has_base = base.has_value()});
        if (cropped) task.produce = cropping(std::move(task.produce), task.shape[0]);
        out.plan.tasks.push_back(std::move(task));
        out.tensors.push_back(std::move(info));
    }

    // `produce` on the first `rows` rows of each (row-major, 2-D) input.
    [[nodiscard]] static merge::tensor_function cropping(merge::tensor_function produce, std::size_t rows) {
        return [produce = std::move(produce), rows](std::span<const any_tensor_view> in, const any_mutable_tensor_view& out) {
            std::vector<any_tensor_view> views(in.begin(), in.end());
            for (auto& v : views) {
                if (v.shape[0] == rows) continue;
                const std::size_t row_bytes = v.bytes.size() / v.shape[0];
                v = any_tensor_view{v.type, {rows, v.shape[1]}, v.bytes.first(rows * row_bytes)};
            }
            produce(views, out);
        };
    }

    // The base's source index in `slice` (when the method uses it) and the other sources' indices.
    [[nodiscard]] std::pair<std::optional<std::size_t>, std::vector<std::size_t>> roles(const output_slice& slice,
                                                                                     std::size_t slice_index) const {
        const auto& base_ref = slice.base_model ? slice.base_model : config.base_model;
        std::optional<std::size_t> base;
        if (method.base == base_use::required || method.base == base_use::optional) {
            if (base_ref) {
                for (std::size_t j = 0; j < slice.sources.size(); ++j) {
                    if (slice.sources[j].model == *base_ref) {
                        base = j;
                        break;
                    }
                }
                if (!base) {
                    throw config_error{fmt::format("slices[{}]: base_model '{}' is not one of the slice's sources", slice_index, *base_ref)};
                }
            } else if (method.base == base_use::required) {
                throw config_error{fmt::format("base_model: required by merge_method {}", method.name)};
            }
        }
        std::vector<std::size_t> others;
        for (std::size_t j = 0; j < slice.sources.size(); ++j) {
            if (!base || j != *base) others.push_back(j);
        }
        if (others.empty()) throw config_error{fmt::format("slices[{}]: no model to merge besides the base", slice_index)};
        return {base, others};
    }

    // Tensors outside the layers of `slice` (before or after them), named as in its reference source.
    void plan_outside(const output_slice& slice, std::size_t slice_index, bool before) {
        const auto [base, others] = roles(slice, slice_index);
        const std::size_t ref_model = model_of(slice.sources[base.value_or(others.front())].model);
        for (const std::string& name : layers[ref_model].outside) {
            if (is_before_layers(name) != before) continue;
            add_task(slice, others, base, name, std::vector<std::string>(slice.sources.size(), name), 0.0);
        }
    }

    void plan_layers(const output_slice& slice, std::size_t slice_index) {
        const auto [base, others] = roles(slice, slice_index);
        std::vector<layer_range> ranges;
        for (std::size_t j = 0; j < slice.sources.size(); ++j) {
            const auto& source = slice.sources[j];
            const std::size_t count = layers[model_of(source.model)].layer_count();
            const layer_range range = source.layers.value_or(layer_range{0, count});
            if (range.end > count) {
                throw config_error{fmt::format("slices[{}].sources[{}].layer_range: [{}, {}) but model '{}' has {} layers", slice_index, j,
                                               range.begin, range.end, source.model, count)};
            }
            if (!ranges.empty() && range.size() != ranges.front().size()) {
                throw config_error{fmt::format("slices[{}]: sources differ in length: '{}' gives {} layers, '{}' gives {}", slice_index,
                                               slice.sources.front().model, ranges.front().size(), source.model, range.size())};
            }
            ranges.push_back(range);
        }
        const std::size_t ref = base.value_or(others.front());
        const std::size_t n = ranges.front().size();
        for (std::size_t k = 0; k < n; ++k) {
            const double t = n > 1 ? static_cast<double>(k) / static_cast<double>(n - 1) : 1.0;
            const auto& ref_layers = layers[model_of(slice.sources[ref].model)].layers;
            const auto it = ref_layers.find(ranges[ref].begin + k);
            if (it == ref_layers.end()) continue;  // a layer without tensors (never in practice)
            for (const std::string& ref_name : it->second) {
                const layer_position where = *find_layer(ref_name);
                std::vector<std::string> inputs;
                for (std::size_t j = 0; j < slice.sources.size(); ++j) inputs.push_back(with_layer(ref_name, where, ranges[j].begin + k));
                add_task(slice, others, base, with_layer(ref_name, where, out.layer_count), inputs, t);
            }
            ++out.layer_count;
        }
    }

    planned_merge run() {
        if (readers.size() != refs.size()) {
            throw invalid_argument{fmt::format("plan_from_config: {} readers for {} referenced models", readers.size(), refs.size())};
        }
        for (const auto* reader : readers) layers.push_back(index_layers(*reader));
        const bool with_base = method.base != base_use::none;
        const std::vector<output_slice> slices = normalized_slices(config, {.append_base = with_base});
        out.sliced = !config.slices.empty();
        out.reference_model = 0;  // the base when set (first in refs), else the first model
        plan_outside(slices.front(), 0, true);
        for (std::size_t s = 0; s < slices.size(); ++s) plan_layers(slices[s], s);
        plan_outside(slices.back(), slices.size() - 1, false);
        if (!out.sliced) {  // keep the reference model's tensor order
            std::unordered_map<std::string, std::size_t> position;
            const auto names = readers[out.reference_model]->tensor_names();
            for (std::size_t i = 0; i < names.size(); ++i) position.emplace(names[i], i);
            std::vector<std::size_t> order(out.plan.tasks.size());
            for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
            const auto pos = [&](std::size_t i) {
                const auto it = position.find(out.plan.tasks[i].name);
                return it == position.end() ? names.size() : it->second;
            };
            std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return pos(a) < pos(b); });
            planned_merge sorted{{}, {}, out.sliced, out.layer_count, out.reference_model};
            for (std::size_t i : order) {
                sorted.plan.tasks.push_back(std::move(out.plan.tasks[i]));
                sorted.tensors.push_back(std::move(out.tensors[i]));
            }
            out = std::move(sorted);
        }
        return std::move(out);
    }
};

}  // namespace detail

/// Plans `config` on `readers` — one opened model per entry of `referenced_models(config)`, in that
/// order (see the file comment for the rules). Throws `config_error` (unknown method, missing base or
/// required parameter, a parameter of the wrong type, weights summing to zero, sources of a slice
/// differing in length, a layer range beyond a model), `io_error` (a missing tensor, naming the model
/// and tensor) and `shape_error` (naming the tensor, both models and both shapes).
[[nodiscard]] inline planned_merge plan_from_config(const merge_config& config, std::span<const io::model_reader* const> readers,
                                                    const plan_options& options = {}) {
    return detail::planner{config, readers, options}.run();
}

}  // namespace blend::config
