#pragma once
/// @file blend/core/parallel.hpp
/// A fixed thread pool and the two loops every kernel uses: `parallel_for` and `parallel_reduce`.
///
/// Determinism contract. A loop over [0, n) with grain g is cut into chunks
///   chunk k = [k*g, min(n, (k+1)*g)),   k = 0 .. ceil(n/g) - 1,
/// and the boundaries depend only on n and g — never on the number of threads — so any per-chunk
/// computation (a partial sum, a random mask drawn by index) is identical for any thread count.
/// `parallel_reduce` stores one partial result per chunk and combines them left to right in chunk
/// order on the calling thread, so even floating-point reductions are bitwise identical for 1, 2 or
/// 64 threads. Which thread runs which chunk is unspecified.
///
/// Cost model. One task per chunk: a chunk is claimed with one atomic increment, and each loop costs
/// one wake-up of the pool's workers (a few to tens of µs). Pick the grain so that one chunk does
/// at least ~10-100 µs of work (for a streaming float kernel, tens of thousands of elements); below
/// that the loop is dominated by scheduling. A loop with a single chunk, or run on a pool of one
/// thread, runs inline on the caller with no synchronisation at all.
///
/// Threads. `thread_pool{n}` has n threads of parallelism: n - 1 workers created once plus the calling
/// thread, which always participates. The process-wide default pool (used by the overloads without
/// a pool argument) has `std::thread::hardware_concurrency()` threads until `set_num_threads` says
/// otherwise. A loop started while the current thread is already executing a chunk of another loop
/// (nested parallelism) runs inline, so nesting never deadlocks; a loop started on a pool that is
/// busy with another caller's loop also runs inline rather than waiting.

#include <blend/core/error.hpp>

#include <atomic>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace blend {

namespace detail {

/// True while the current thread executes a chunk of a parallel loop (and always on pool workers).
[[nodiscard]] inline bool& in_parallel_region() noexcept {
    thread_local bool flag = false;
    return flag;
}

/// Marks the calling thread as inside a parallel region for the guard's lifetime.
class parallel_region_guard {
public:
    parallel_region_guard() noexcept : previous_{std::exchange(in_parallel_region(), true)} {}
    ~parallel_region_guard() { in_parallel_region() = previous_; }
    parallel_region_guard(const parallel_region_guard&) = delete;
    parallel_region_guard& operator=(const parallel_region_guard&) = delete;

private:
    bool previous_;
};

/// 0 means "one thread per hardware thread" (at least 1).
[[nodiscard]] inline std::size_t resolve_thread_count(std::size_t requested) noexcept {
    if (requested != 0) {
        return requested;
    }
    const unsigned hardware = std::thread::hardware_concurrency();
    return hardware == 0 ? 1 : hardware;
}

/// Number of chunks of [0, n) with grain g: ceil(n / g) (g > 0).
[[nodiscard]] constexpr std::size_t chunk_count(std::size_t n, std::size_t grain) noexcept {
    return n / grain + (n % grain != 0 ? 1 : 0);
}

/// Chunk k of [0, n) with grain g: [k*g, min(n, (k+1)*g)), computed without overflow.
[[nodiscard]] constexpr std::pair<std::size_t, std::size_t> chunk_bounds(std::size_t k, std::size_t n,
                                                                         std::size_t grain) noexcept {
    const std::size_t begin = k * grain;
    return {begin, n - begin > grain ? begin + grain : n};
}

inline void check_grain(std::size_t grain) {
    if (grain == 0) {
        throw invalid_argument{"blend::parallel_for/parallel_reduce: grain must be positive, got 0"};
    }
}

}  // namespace detail

/// A fixed pool of worker threads that runs indexed tasks; the caller of `run` participates.
///
/// Workers are created once in the constructor and joined in the destructor, which must not run while
/// a loop on the pool is in flight. `run` may be called from any thread; calls never overlap on the
/// workers (a second concurrent caller runs its tasks inline).
class thread_pool {
public:
    /// A pool with `num_threads` threads of parallelism (0 = `std::thread::hardware_concurrency()`):
    /// `num_threads - 1` workers plus the calling thread.
    explicit thread_pool(std::size_t num_threads = 0) {
        const std::size_t total = detail::resolve_thread_count(num_threads);
        workers_.reserve(total - 1);
        try {
            for (std::size_t i = 0; i + 1 < total; ++i) {
                workers_.emplace_back([this] { worker_loop(); });
            }
        } catch (...) {
            shut_down();
            throw;
        }
    }

    ~thread_pool() { shut_down(); }

    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    thread_pool(thread_pool&&) = delete;
    thread_pool& operator=(thread_pool&&) = delete;

    /// Threads of parallelism: the workers plus the calling thread.
    [[nodiscard]] std::size_t size() const noexcept { return workers_.size() + 1; }

    /// Calls `task(k)` once for every k in [0, num_tasks), on the workers and the calling thread, and
    /// returns when all tasks have finished. Tasks are claimed in increasing k. If tasks throw, the
    /// exception of the lowest-indexed throwing task is rethrown here (the same one a serial loop would
    /// raise); tasks with a higher index than a task known to have thrown are skipped. Runs inline when
    /// the pool has one thread, there is one task, the caller is inside a parallel region, or another
    /// caller's loop occupies the pool.
    template <class Task>
        requires std::invocable<Task&, std::size_t>
    void run(std::size_t num_tasks, Task&& task) {
        if (num_tasks == 0) {
            return;
        }
        if (workers_.empty() || num_tasks == 1 || detail::in_parallel_region()) {
            run_inline(num_tasks, task);
            return;
        }
        std::unique_lock<std::mutex> exclusive{run_mutex_, std::try_to_lock};
        if (!exclusive.owns_lock()) {
            run_inline(num_tasks, task);
            return;
        }
        using task_type = std::remove_reference_t<Task>;
        job work{[](void* context, std::size_t k) { (*static_cast<task_type*>(context))(k); },
                 const_cast<void*>(static_cast<const void*>(std::addressof(task))), num_tasks};
        {
            const std::lock_guard<std::mutex> lock{mutex_};
            current_ = &work;
            ++generation_;
            busy_workers_ = workers_.size();
        }
        work_ready_.notify_all();
        {
            const detail::parallel_region_guard region;
            work.execute();
        }
        {
            std::unique_lock<std::mutex> lock{mutex_};
            work_done_.wait(lock, [this] { return busy_workers_ == 0; });
            current_ = nullptr;
        }
        if (work.error) {
            std::rethrow_exception(work.error);
        }
    }

private:
    /// One loop in flight: a type-erased task and the shared claim counter.
    struct job {
        job(void (*invoke_fn)(void*, std::size_t), void* task_context, std::size_t tasks) noexcept
            : invoke{invoke_fn}, context{task_context}, num_tasks{tasks} {}

        void (*invoke)(void*, std::size_t);
        void* context;
        std::size_t num_tasks;
        std::atomic<std::size_t> next{0};
        std::atomic<std::size_t> first_error{std::numeric_limits<std::size_t>::max()};
        std::mutex error_mutex;
        std::exception_ptr error;

        /// Claims and runs tasks until none are left (or all remaining ones come after a failure).
        void execute() noexcept {
            for (;;) {
                const std::size_t k = next.fetch_add(1, std::memory_order_relaxed);
                if (k >= num_tasks || k > first_error.load(std::memory_order_relaxed)) {
                    return;
                }
                try {
                    invoke(context, k);
                } catch (...) {
                    const std::lock_guard<std::mutex> lock{error_mutex};
                    if (k < first_error.load(std::memory_order_relaxed)) {
                        first_error.store(k, std::memory_order_relaxed);
                        error = std::current_exception();
                    }
                }
            }
        }
    };

    template <class Task>
    static void run_inline(std::size_t num_tasks, Task& task) {
        for (std::size_t k = 0; k < num_tasks; ++k) {
            task(k);
        }
    }

    void worker_loop() {
        detail::in_parallel_region() = true;
        std::uint64_t seen = 0;
        for (;;) {
            job* work = nullptr;
            {
                std::unique_lock<std::mutex> lock{mutex_};
                work_ready_.wait(lock, [&] { return stop_ || generation_ != seen; });
                if (stop_) {
                    return;
                }
                seen = generation_;
                work = current_;
            }
            work->execute();
            {
                const std::lock_guard<std::mutex> lock{mutex_};
                if (--busy_workers_ == 0) {
                    work_done_.notify_one();
                }
            }
        }
    }

    void shut_down() noexcept {
        {
            const std::lock_guard<std::mutex> lock{mutex_};
            stop_ = true;
        }
        work_ready_.notify_all();
        for (std::thread& worker : workers_) {
            if (worker.joinable()) {
                worker.join();
            }
        }
        workers_.clear();
    }

    std::vector<std::thread> workers_;
    std::mutex run_mutex_;  // held by the one caller whose loop occupies the workers
    std::mutex mutex_;      // guards everything below
    std::condition_variable work_ready_;
    std::condition_variable work_done_;
    job* current_ = nullptr;
    std::uint64_t generation_ = 0;
    std::size_t busy_workers_ = 0;
    bool stop_ = false;
};

namespace detail {

struct default_pool_state {
    std::mutex mutex;
    std::shared_ptr<thread_pool> pool;
};

[[nodiscard]] inline default_pool_state& default_pool_storage() {
    static default_pool_state state;
    return state;
}

/// The process-wide pool, created on first use. Callers hold the returned pointer for the duration
/// of a loop, so `set_num_threads` can replace the pool while loops are in flight.
[[nodiscard]] inline std::shared_ptr<thread_pool> default_pool() {
    default_pool_state& state = default_pool_storage();
    const std::lock_guard<std::mutex> lock{state.mutex};
    if (!state.pool) {
        state.pool = std::make_shared<thread_pool>(0);
    }
    return state.pool;
}

}  // namespace detail

/// Replaces the process-wide default pool by one with `n` threads (0 = hardware concurrency).
/// Safe to call at any time: loops already running finish on the old pool, whose workers are joined
/// when the last such loop returns. Results never depend on the thread count.
inline void set_num_threads(std::size_t n) {
    auto fresh = std::make_shared<thread_pool>(n);
    std::shared_ptr<thread_pool> old;
    detail::default_pool_state& state = detail::default_pool_storage();
    {
        const std::lock_guard<std::mutex> lock{state.mutex};
        old = std::exchange(state.pool, std::move(fresh));
    }
    // `old` is released here, outside the lock.
}

/// Threads of parallelism of the process-wide default pool (hardware concurrency unless set).
[[nodiscard]] inline std::size_t num_threads() { return detail::default_pool()->size(); }

/// Calls `f(begin, end)` for every chunk [k*grain, min(n, (k+1)*grain)) of [0, n), on `pool`.
/// Chunk boundaries depend only on n and grain (see the file comment for the determinism contract and
/// the cost model); `f` is called concurrently from several threads and must be safe to do so.
/// If chunks throw, the exception of the lowest-indexed throwing chunk is rethrown after all chunks
/// have finished or been skipped. n = 0 calls nothing; grain = 0 throws `blend::invalid_argument`.
template <class F>
    requires std::invocable<F&, std::size_t, std::size_t>
void parallel_for(thread_pool& pool, std::size_t n, std::size_t grain, F&& f) {
    detail::check_grain(grain);
    pool.run(detail::chunk_count(n, grain), [&](std::size_t k) {
        const auto [begin, end] = detail::chunk_bounds(k, n, grain);
        f(begin, end);
    });
}

/// `parallel_for` on the process-wide default pool (see `set_num_threads`).
template <class F>
    requires std::invocable<F&, std::size_t, std::size_t>
void parallel_for(std::size_t n, std::size_t grain, F&& f) {
    detail::check_grain(grain);
    if (detail::chunk_count(n, grain) <= 1 || detail::in_parallel_region()) {
        for (std::size_t k = 0, chunks = detail::chunk_count(n, grain); k < chunks; ++k) {
            const auto [begin, end] = detail::chunk_bounds(k, n, grain);
            f(begin, end);
        }
        return;
    }
    const std::shared_ptr<thread_pool> pool = detail::default_pool();
    parallel_for(*pool, n, grain, f);
}

/// Deterministic parallel reduction over [0, n):
///   result = combine(...combine(combine(identity, p_0), p_1)..., p_{K-1}),
///   p_k = map_chunk(k*grain, min(n, (k+1)*grain)),  K = ceil(n / grain),
/// with the partials p_k computed in parallel into a vector indexed by chunk and combined left to
/// right in chunk order on the calling thread. Because neither the chunks nor the combination order
/// depend on the thread count, the result (including floating-point rounding) is bitwise identical
/// for any number of threads. n = 0 returns `identity`. Exceptions as for `parallel_for`.
template <class T, class Map, class Combine>
    requires std::invocable<Map&, std::size_t, std::size_t> && std::invocable<Combine&, T, T>
[[nodiscard]] T parallel_reduce(thread_pool& pool, std::size_t n, std::size_t grain, T identity,
                                Map&& map_chunk, Combine&& combine) {
    detail::check_grain(grain);
    std::vector<std::optional<T>> partial(detail::chunk_count(n, grain));
    pool.run(partial.size(), [&](std::size_t k) {
        const auto [begin, end] = detail::chunk_bounds(k, n, grain);
        partial[k].emplace(map_chunk(begin, end));
    });
    T result = std::move(identity);
    for (std::optional<T>& value : partial) {
        BLEND_ASSERT(value.has_value(), "every chunk of a finished reduction has a partial result");
        result = combine(std::move(result), std::move(*value));
    }
    return result;
}

/// `parallel_reduce` on the process-wide default pool (see `set_num_threads`).
template <class T, class Map, class Combine>
    requires std::invocable<Map&, std::size_t, std::size_t> && std::invocable<Combine&, T, T>
[[nodiscard]] T parallel_reduce(std::size_t n, std::size_t grain, T identity, Map&& map_chunk,
                                Combine&& combine) {
    detail::check_grain(grain);
    if (detail::chunk_count(n, grain) <= 1 || detail::in_parallel_region()) {
        T result = std::move(identity);
        for (std::size_t k = 0, chunks = detail::chunk_count(n, grain); k < chunks; ++k) {
            const auto [begin, end] = detail::chunk_bounds(k, n, grain);
            result = combine(std::move(result), map_chunk(begin, end));
        }
        return result;
    }
    const std::shared_ptr<thread_pool> pool = detail::default_pool();
    return parallel_reduce(*pool, n, grain, std::move(identity), map_chunk, combine);
}

}  // namespace blend
