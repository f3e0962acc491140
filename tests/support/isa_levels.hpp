#pragma once
// Test support: run a check at every instruction-set level of core/isa.hpp the CPU has.
#include <blend/core/isa.hpp>

namespace blend::test {

/// Calls `check(level)` with the process capped at each level this CPU has, baseline first, and puts the
/// previous cap back afterwards — also when `check` throws (a failed REQUIRE).
template <class Check>
void for_each_isa_level(Check&& check) {
    struct restore_cap {
        isa_level cap;
        ~restore_cap() { limit_isa(cap); }
    } const restore{isa_limit()};
    for (int level = 0; level <= static_cast<int>(cpu_isa()); ++level) {
        limit_isa(static_cast<isa_level>(level));
        check(static_cast<isa_level>(level));
    }
}

}  // namespace blend::test
