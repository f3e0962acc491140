// Tests for blend/core/parallel.hpp: coverage and chunking of parallel_for, bitwise-deterministic
// parallel_reduce, exception propagation, nesting, concurrent callers and the default pool.
#include <blend/core/parallel.hpp>

#include "support/catch.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

/// Restores the default pool's thread count when a test that changes it ends.
class num_threads_restorer {
public:
    num_threads_restorer() : saved_{blend::num_threads()} {}
    ~num_threads_restorer() { blend::set_num_threads(saved_); }
    num_threads_restorer(const num_threads_restorer&) = delete;
    num_threads_restorer& operator=(const num_threads_restorer&) = delete;

private:
    std::size_t saved_;
};

std::uint32_t float_bits(float x) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &x, sizeof bits);
    return bits;
}

}  // namespace

TEST_CASE("parallel_for visits every index exactly once in chunks fixed by n and grain", "[parallel]") {
    for (const std::size_t threads : {1u, 2u, 3u, 4u}) {
        blend::thread_pool pool{threads};
        REQUIRE(pool.size() == threads);
        for (const std::size_t n : {0u, 1u, 2u, 7u, 64u, 1000u, 1001u}) {
            for (const std::size_t grain : {1u, 3u, 64u, 1000u, 5000u}) {
                INFO("threads " << threads << ", n " << n << ", grain " << grain);
                std::vector<std::atomic<int>> visits(n);
                std::mutex chunks_mutex;
                std::set<std::pair<std::size_t, std::size_t>> chunks;
                blend::parallel_for(pool, n, grain, [&](std::size_t begin, std::size_t end) {
                    for (std::size_t i = begin; i < end; ++i) {
                        visits[i].fetch_add(1, std::memory_order_relaxed);
                    }
                    const std::lock_guard<std::mutex> lock{chunks_mutex};
                    chunks.emplace(begin, end);
                });
                bool each_once = true;
                for (const std::atomic<int>& v : visits) {
                    each_once = each_once && v.load() == 1;
                }
                CHECK(each_once);
                std::set<std::pair<std::size_t, std::size_t>> expected;
                for (std::size_t begin = 0; begin < n; begin += grain) {
                    expected.emplace(begin, std::min(n, begin + grain));
                }
                CHECK(chunks == expected);
            }
        }
    }
}

TEST_CASE("slow chunks are shared by the workers and the caller", "[parallel]") {
    // Chunks long enough (0.2 ms) that the workers take part, so the thread sanitizer build sees real
    // concurrency; nothing here depends on timing for its outcome.
    for (const std::size_t threads : {2u, 4u}) {
        blend::thread_pool pool{threads};
        std::mutex ids_mutex;
        std::set<std::thread::id> ids;
        std::vector<int> visits(64, 0);  // distinct chunks write distinct elements
        blend::parallel_for(pool, visits.size(), 1, [&](std::size_t begin, std::size_t end) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            for (std::size_t i = begin; i < end; ++i) {
                ++visits[i];
            }
            const std::lock_guard<std::mutex> lock{ids_mutex};
            ids.insert(std::this_thread::get_id());
        });
        CHECK(visits == std::vector<int>(64, 1));
        CHECK(ids.size() <= threads);
        const auto slow_throwing = [](std::size_t begin, std::size_t) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            if (begin == 5 || begin == 40) {
                throw std::runtime_error{"chunk " + std::to_string(begin)};
            }
        };
        CHECK_THROWS_WITH(blend::parallel_for(pool, 64, 1, slow_throwing), "chunk 5");
    }
}

TEST_CASE("parallel_for on the default pool covers every index", "[parallel]") {
    for (const std::size_t n : {0u, 1u, 5u, 100000u}) {
        std::vector<std::atomic<int>> visits(n);
        blend::parallel_for(n, 1000, [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) {
                visits[i].fetch_add(1, std::memory_order_relaxed);
            }
        });
        bool each_once = true;
        for (const std::atomic<int>& v : visits) {
            each_once = each_once && v.load() == 1;
        }
        CHECK(each_once);
    }
}

TEST_CASE("a zero grain is rejected", "[parallel]") {
    blend::thread_pool pool{2};
    const auto noop = [](std::size_t, std::size_t) {};
    CHECK_THROWS_AS(blend::parallel_for(pool, 10, 0, noop), blend::invalid_argument);
    CHECK_THROWS_AS(blend::parallel_for(10, 0, noop), blend::invalid_argument);
    const auto reduce = [] {
        return blend::parallel_reduce(
            10, 0, 0, [](std::size_t, std::size_t) { return 1; }, [](int a, int b) { return a + b; });
    };
    CHECK_THROWS_AS(reduce(), blend::invalid_argument);
}

TEST_CASE("parallel_reduce of float sums is bitwise identical for 1, 2, 3 and 4 threads", "[parallel]") {
    // Values of widely different magnitudes, so that the summation order shows in the rounding.
    constexpr std::size_t n = 100'003;
    std::vector<float> values(n);
    for (std::size_t i = 0; i < n; ++i) {
        values[i] =
            std::ldexp(static_cast<float>((i * 2654435761u) % 1000u) - 500.0f, static_cast<int>(i % 23) - 11);
    }
    const auto chunk_sum = [&](std::size_t begin, std::size_t end) {
        float s = 0.0f;
        for (std::size_t i = begin; i < end; ++i) {
            s += values[i];
        }
        return s;
    };
    const auto add = [](float a, float b) { return a + b; };

    for (const std::size_t grain : {1u, 97u, 4096u, 200000u}) {
        // The contract, computed serially: chunk partials combined left to right.
        float expected = 0.0f;
        for (std::size_t begin = 0; begin < n; begin += grain) {
            expected = expected + chunk_sum(begin, std::min(n, begin + grain));
        }
        for (const std::size_t threads : {1u, 2u, 3u, 4u}) {
            blend::thread_pool pool{threads};
            for (int repeat = 0; repeat < 3; ++repeat) {
                const float got = blend::parallel_reduce(pool, n, grain, 0.0f, chunk_sum, add);
                INFO("grain " << grain << ", threads " << threads);
                CHECK(float_bits(got) == float_bits(expected));
            }
        }
        const float on_default = blend::parallel_reduce(n, grain, 0.0f, chunk_sum, add);
        CHECK(float_bits(on_default) == float_bits(expected));
    }
    // n = 0 returns the identity; non-float and move-only-friendly types work too.
    blend::thread_pool pool{3};
    const auto count = [](std::size_t b, std::size_t e) { return static_cast<int>(e - b); };
    CHECK(blend::parallel_reduce(pool, 0, 10, 42, count, [](int a, int b) { return a + b; }) == 42);
    const std::string joined = blend::parallel_reduce(
        pool, 26, 4, std::string{},
        [](std::size_t begin, std::size_t end) {
            std::string s;
            for (std::size_t i = begin; i < end; ++i) {
                s += static_cast<char>('a' + i);
            }
            return s;
        },
        [](std::string a, std::string b) { return a + b; });
    CHECK(joined == "abcdefghijklmnopqrstuvwxyz");
    const bool all_even = blend::parallel_reduce(
        pool, 1000, 7, true, [](std::size_t, std::size_t) { return true; },
        [](bool a, bool b) { return a && b; });
    CHECK(all_even);
}

TEST_CASE("the exception of the lowest throwing chunk is rethrown on the caller", "[parallel]") {
    constexpr std::size_t n = 1000;
    constexpr std::size_t grain = 10;  // 100 chunks; chunks 3, 7 and 60 throw
    const auto throwing = [](std::size_t begin, std::size_t) {
        const std::size_t chunk = begin / grain;
        if (chunk == 3 || chunk == 7 || chunk == 60) {
            throw std::runtime_error{"chunk " + std::to_string(chunk)};
        }
    };
    for (const std::size_t threads : {1u, 2u, 3u, 4u}) {
        blend::thread_pool pool{threads};
        for (int repeat = 0; repeat < 50; ++repeat) {
            INFO("threads " << threads << ", repeat " << repeat);
            CHECK_THROWS_WITH(blend::parallel_for(pool, n, grain, throwing), "chunk 3");
            // Chunks before the first failure always run.
            std::vector<std::atomic<int>> ran(n / grain);
            try {
                blend::parallel_for(pool, n, grain, [&](std::size_t begin, std::size_t end) {
                    ran[begin / grain].store(1);
                    throwing(begin, end);
                });
            } catch (const std::runtime_error&) {}
            bool prefix_ran = true;
            for (std::size_t chunk = 0; chunk <= 3; ++chunk) {
                prefix_ran = prefix_ran && ran[chunk].load() == 1;
            }
            CHECK(prefix_ran);
        }
        const auto reduce = [&] {
            return blend::parallel_reduce(
                pool, n, grain, 0,
                [&](std::size_t begin, std::size_t end) {
                    throwing(begin, end);
                    return 1;
                },
                [](int a, int b) { return a + b; });
        };
        CHECK_THROWS_WITH(reduce(), "chunk 3");
        // The pool is still usable after a failed loop.
        CHECK(blend::parallel_reduce(
                  pool, n, grain, 0, [](std::size_t b, std::size_t e) { return static_cast<int>(e - b); },
                  [](int a, int b) { return a + b; }) == static_cast<int>(n));
    }
    CHECK_THROWS_WITH(blend::parallel_for(n, grain, throwing), "chunk 3");
}

TEST_CASE("nested parallel loops run inline instead of deadlocking", "[parallel]") {
    num_threads_restorer restore;
    blend::set_num_threads(4);
    blend::thread_pool pool{4};
    constexpr std::size_t outer = 16;
    constexpr std::size_t inner = 1000;
    std::vector<std::atomic<int>> visits(outer * inner);
    std::atomic<bool> counts_ok{true};  // Catch2 assertions are not thread-safe: check afterwards
    blend::parallel_for(pool, outer, 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t o = begin; o < end; ++o) {
            // Nested on the same explicit pool, then on the default pool, then a reduction.
            blend::parallel_for(pool, inner / 2, 7, [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i) {
                    visits[o * inner + i].fetch_add(1);
                }
            });
            blend::parallel_for(inner - inner / 2, 7, [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i) {
                    visits[o * inner + inner / 2 + i].fetch_add(1);
                }
            });
            const int count = blend::parallel_reduce(
                inner, 10, 0, [](std::size_t b, std::size_t e) { return static_cast<int>(e - b); },
                [](int a, int b) { return a + b; });
            if (count != static_cast<int>(inner)) {
                counts_ok.store(false);
            }
        }
    });
    CHECK(counts_ok.load());
    bool each_once = true;
    for (const std::atomic<int>& v : visits) {
        each_once = each_once && v.load() == 1;
    }
    CHECK(each_once);
}

TEST_CASE("loops from several caller threads on one pool all complete", "[parallel]") {
    blend::thread_pool pool{3};
    constexpr std::size_t callers = 4;
    constexpr std::size_t n = 20000;
    std::vector<std::size_t> totals(callers);
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < callers; ++c) {
        threads.emplace_back([&, c] {
            for (int repeat = 0; repeat < 20; ++repeat) {
                totals[c] += blend::parallel_reduce(
                    pool, n, 100, std::size_t{0}, [](std::size_t b, std::size_t e) { return e - b; },
                    [](std::size_t a, std::size_t b) { return a + b; });
            }
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    for (const std::size_t total : totals) {
        CHECK(total == 20 * n);
    }
}

TEST_CASE("a pool runs many small loops back to back", "[parallel]") {
    blend::thread_pool pool{4};
    std::size_t sum = 0;
    for (std::size_t round = 0; round < 2000; ++round) {
        sum += blend::parallel_reduce(
            pool, round % 50, 3, std::size_t{0},
            [](std::size_t b, std::size_t e) {
                std::size_t s = 0;
                for (std::size_t i = b; i < e; ++i) {
                    s += i;
                }
                return s;
            },
            [](std::size_t a, std::size_t b) { return a + b; });
    }
    std::size_t expected = 0;
    for (std::size_t round = 0; round < 2000; ++round) {
        const std::size_t m = round % 50;
        expected += m == 0 ? 0 : m * (m - 1) / 2;
    }
    CHECK(sum == expected);
}

TEST_CASE("a one-thread pool and a single chunk run on the calling thread", "[parallel]") {
    const std::thread::id caller = std::this_thread::get_id();
    blend::thread_pool single{1};
    CHECK(single.size() == 1);
    bool all_on_caller = true;
    blend::parallel_for(single, 100, 3, [&](std::size_t, std::size_t) {
        all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
    });
    CHECK(all_on_caller);
    blend::thread_pool four{4};
    blend::parallel_for(four, 100, 100, [&](std::size_t, std::size_t) {
        all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
    });
    CHECK(all_on_caller);
}

TEST_CASE("set_num_threads round-trips and 0 means the hardware concurrency", "[parallel]") {
    num_threads_restorer restore;
    const std::size_t before = blend::num_threads();
    CHECK(before >= 1);
    blend::set_num_threads(3);
    CHECK(blend::num_threads() == 3);
    blend::set_num_threads(1);
    CHECK(blend::num_threads() == 1);
    const unsigned hardware = std::thread::hardware_concurrency();
    blend::set_num_threads(0);
    CHECK(blend::num_threads() == (hardware == 0 ? 1u : hardware));
    blend::set_num_threads(before);
    CHECK(blend::num_threads() == before);
    CHECK(blend::thread_pool{0}.size() == (hardware == 0 ? 1u : hardware));

    // Results do not depend on the default pool's size.
    const auto sum_of_roots = [] {
        return blend::parallel_reduce(
            50000, 333, 0.0,
            [](std::size_t b, std::size_t e) {
                double s = 0.0;
                for (std::size_t i = b; i < e; ++i) {
                    s += std::sqrt(static_cast<double>(i));
                }
                return s;
            },
            [](double a, double b) { return a + b; });
    };
    blend::set_num_threads(1);
    const double one = sum_of_roots();
    blend::set_num_threads(4);
    const double four = sum_of_roots();
    CHECK(std::memcmp(&one, &four, sizeof one) == 0);
}
