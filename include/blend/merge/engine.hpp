#pragma once
/// @file blend/merge/engine.hpp
/// The streaming merge engine: runs a plan (one task per output tensor) over memory-mapped input models
/// and a streaming safetensors writer, holding only the tensors in flight — never whole models.
///
/// For each task, in plan order: wait until its bytes (inputs + output) fit the memory budget, view its
/// inputs zero-copy in the mapped files, let the task's function compute the output (any storage dtype
/// in, any out; methods convert chunk-wise to float32/float64 math — see merge/detail/elementwise.hpp),
/// hand the bytes to the writer (which places them at their precomputed offset, so completion order
/// does not change the file), then drop the inputs' mapped pages and the output buffer. Tasks run in
/// parallel on the thread pool (a task's own loops then run on its thread); results are identical for
/// any thread count because each tensor's computation is. Progress is reported after every tensor.
/// On an exception nothing is committed: the writer's temporary files are removed by its destructor.

#include <blend/core/error.hpp>
#include <blend/core/finite.hpp>
#include <blend/core/parallel.hpp>
#include <blend/core/tensor_view.hpp>
#include <blend/io/safetensors_reader.hpp>
#include <blend/io/safetensors_writer.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace blend::merge {

/// One input of a task: the tensor named `tensor` in model number `model` of the engine's models.
struct tensor_source {
    std::size_t model = 0;
    std::string tensor;
};

/// Computes one output tensor: `inputs` are the task's sources in order (zero-copy views of the mapped
/// files, any dtype, possibly unaligned), `out` the output buffer in the task's dtype and shape.
using tensor_function = std::function<void(std::span<const any_tensor_view> inputs, const any_mutable_tensor_view& out)>;

/// One output tensor of a plan.
struct tensor_task {
    std::string name;
    dtype type = dtype::f32;
    shape_type shape;
    std::vector<tensor_source> inputs;
    tensor_function produce;
};

/// What a merge does, tensor by tensor; `tasks` are in output (file) order.
struct merge_plan {
    std::vector<tensor_task> tasks;
};

/// Progress after each finished tensor.
struct merge_progress {
    std::size_t tensors_done = 0;
    std::size_t tensors_total = 0;
    std::uint64_t bytes_done = 0;   ///< output bytes written so far
    std::uint64_t bytes_total = 0;  ///< output bytes of the whole plan
};

/// Options of `run_plan`.
struct engine_options {
    /// Bytes of inputs and outputs in flight at once. 0 (default): 3 × the largest task, so about as
    /// many tasks as threads run together without ever holding more than a few of the largest tensors.
    /// A task larger than the budget still runs, alone.
    std::uint64_t memory_budget = 0;
    /// Called after each tensor, serialised (never concurrently), from whichever thread finished it.
    std::function<void(const merge_progress&)> on_progress{};
};

/// The writer's specs for a plan's outputs, in plan order.
[[nodiscard]] inline std::vector<io::tensor_spec> output_specs(const merge_plan& plan) {
    std::vector<io::tensor_spec> specs;
    specs.reserve(plan.tasks.size());
    for (const auto& task : plan.tasks) specs.push_back({task.name, task.type, task.shape});
    return specs;
}

/// Options of `plan_per_tensor`.
struct per_tensor_options {
    /// Output dtype; empty keeps each tensor's dtype in the first model.
    std::optional<dtype> out_type{};
};

/// The plan of a merge that combines, for every tensor of the first model (in its order), the tensor of
/// the same name in every model with `produce`. Throws `io_error` naming the model and tensor when a
/// model lacks a tensor of the first, and `shape_error` naming both shapes when shapes differ.
[[nodiscard]] inline merge_plan plan_per_tensor(std::span<const io::model_reader* const> models, tensor_function produce,
                                                const per_tensor_options& options = {}) {
    if (models.empty()) throw invalid_argument{"merge plan: no models"};
    merge_plan plan;
    for (const std::string& name : models.front()->tensor_names()) {
        const io::tensor_entry& first = *models.front()->find(name);
        tensor_task task{name, options.out_type.value_or(first.type), first.shape, {}, produce};
        for (std::size_t m = 0; m < models.size(); ++m) {
            const io::tensor_entry* entry = models[m]->find(name);
            if (entry == nullptr) {
                throw io_error{fmt::format("{}: tensor '{}' not found", models[m]->path().string(), name)};
            }
            if (entry->shape != first.shape) {
                throw shape_error{fmt::format("{}: tensor '{}' has shape [{}] but {} has [{}]", models[m]->path().string(),
                                              name, fmt::join(entry->shape, ", "), models.front()->path().string(),
                                              fmt::join(first.shape, ", "))};
            }
            task.inputs.push_back({m, name});
        }
        plan.tasks.push_back(std::move(task));
    }
    return plan;
}

namespace detail {

/// A counting budget of bytes: `acquire` blocks until `bytes` fit (or nothing else is held).
class byte_budget {
public:
    explicit byte_budget(std::uint64_t limit) : limit_{limit} {}
    void acquire(std::uint64_t bytes) {
        std::unique_lock lock{mutex_};
        freed_.wait(lock, [&] { return held_ == 0 || held_ + bytes <= limit_; });
        held_ += bytes;
    }
    void release(std::uint64_t bytes) {
        {
            const std::lock_guard lock{mutex_};
            held_ -= bytes;
        }
        freed_.notify_all();
    }

private:
    std::uint64_t limit_;
    std::uint64_t held_ = 0;
    std::mutex mutex_;
    std::condition_variable freed_;
};

/// Output buffers reused across the tasks of one run (freed when the run ends): allocating a fresh
/// large block per tensor would fault in and zero new pages every time.
class buffer_pool {
public:
    /// A buffer of at least `bytes` bytes, returned to the pool when the lease ends.
    class lease {
    public:
        lease(buffer_pool& pool, std::size_t bytes) : pool_{pool}, buffer_{pool.take()} {
            if (buffer_.size() < bytes) buffer_.resize(bytes);
        }
        ~lease() { pool_.give_back(std::move(buffer_)); }
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        std::vector<std::byte>* operator->() noexcept { return &buffer_; }

    private:
        buffer_pool& pool_;
        std::vector<std::byte> buffer_;
    };

private:
    std::vector<std::byte> take() {
        const std::lock_guard lock{mutex_};
        if (free_.empty()) return {};
        std::vector<std::byte> buffer = std::move(free_.back());
        free_.pop_back();
        return buffer;
    }
    void give_back(std::vector<std::byte> buffer) noexcept {
        const std::lock_guard lock{mutex_};
        try {
            free_.push_back(std::move(buffer));
        } catch (...) {  // out of memory growing the free list: drop the buffer
        }
    }

    std::mutex mutex_;
    std::vector<std::vector<std::byte>> free_;
};

/// Input bytes of a task (what its mapped pages cost while it runs).
[[nodiscard]] inline std::uint64_t input_bytes(std::span<const io::model_reader* const> models, const tensor_task& task) {
    std::uint64_t total = 0;
    for (const auto& source : task.inputs) {
        const io::tensor_entry* entry = models[source.model]->find(source.tensor);
        if (entry != nullptr) total += entry->end - entry->begin;
    }
    return total;
}

}  // namespace detail

/// Runs every task of `plan` on `models` into `writer` (built from `output_specs(plan)`), without
/// committing it. Throws what a task throws (the lowest-indexed failing task's error), `io_error` for a
/// missing input tensor or one holding NaN/Inf (naming the model file and tensor; METHODS.md §1) and
/// `invalid_argument` for a bad model index.
inline void run_plan(std::span<const io::model_reader* const> models, const merge_plan& plan,
                     io::safetensors_writer& writer, const engine_options& options = {}) {
    const std::size_t count = plan.tasks.size();
    std::vector<std::uint64_t> cost(count);
    std::uint64_t largest = 0;
    merge_progress progress{0, count, 0, 0};
    for (std::size_t k = 0; k < count; ++k) {
        const tensor_task& task = plan.tasks[k];
        for (const auto& source : task.inputs) {
            if (source.model >= models.size()) {
                throw invalid_argument{fmt::format("merge plan: tensor '{}' reads model {} but there are {} models",
                                                   task.name, source.model, models.size())};
            }
            if (models[source.model]->find(source.tensor) == nullptr) {
                throw io_error{fmt::format("{}: tensor '{}' not found (needed for '{}')",
                                           models[source.model]->path().string(), source.tensor, task.name)};
            }
        }
        const std::uint64_t out_bytes = shape_size(task.shape) * size_of(task.type);
        cost[k] = detail::input_bytes(models, task) + out_bytes;
        largest = std::max(largest, cost[k]);
        progress.bytes_total += out_bytes;
    }
    detail::byte_budget budget{options.memory_budget != 0 ? options.memory_budget : 3 * largest};
    std::mutex progress_mutex;
    detail::buffer_pool buffers;

    parallel_for(count, 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t k = begin; k < end; ++k) {
            const tensor_task& task = plan.tasks[k];
            budget.acquire(cost[k]);
            struct release_on_exit {
                detail::byte_budget& budget;
                std::uint64_t bytes;
                ~release_on_exit() { budget.release(bytes); }
            } held{budget, cost[k]};

            std::vector<any_tensor_view> inputs;
            inputs.reserve(task.inputs.size());
            for (const auto& source : task.inputs) inputs.push_back(models[source.model]->view(source.tensor));
            const std::size_t out_bytes = shape_size(task.shape) * size_of(task.type);
            detail::buffer_pool::lease buffer{buffers, out_bytes};
            const std::span<std::byte> output(buffer->data(), out_bytes);
            try {
                task.produce(inputs, any_mutable_tensor_view{task.type, task.shape, output});
            } catch (const non_finite_input& e) {
                if (e.input() >= task.inputs.size()) throw;
                const tensor_source& source = task.inputs[e.input()];
                throw io_error{fmt::format("{}: tensor '{}' holds {} at element {} (NaN and Inf inputs are not merged; "
                                           "needed for '{}')",
                                           models[source.model]->path().string(), source.tensor, e.value(), e.element(),
                                           task.name)};
            }
            writer.write(k, std::span<const std::byte>(output));
            for (const auto& source : task.inputs) models[source.model]->release(source.tensor);

            if (options.on_progress) {
                const std::lock_guard lock{progress_mutex};
                ++progress.tensors_done;
                progress.bytes_done += out_bytes;
                options.on_progress(progress);
            }
        }
    });
}

/// Runs `plan` on `models` and writes the result to the directory `out_dir` (`model.safetensors`, or
/// shards + index per `writer_options`), atomically: files appear under their final names only when the
/// whole merge succeeded. Returns the final paths.
inline std::vector<std::filesystem::path> merge_to_directory(std::span<const io::model_reader* const> models,
                                                             const merge_plan& plan, const std::filesystem::path& out_dir,
                                                             const io::writer_options& writer_options = {},
                                                             const engine_options& options = {}) {
    auto writer = io::safetensors_writer::to_directory(out_dir, output_specs(plan), writer_options);
    run_plan(models, plan, writer, options);
    return writer.commit();
}

}  // namespace blend::merge
