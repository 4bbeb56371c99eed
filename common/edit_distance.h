// The edit distance behind every "did you mean" of shoal (spec fields, flags, config keys).
#pragma once

#include <cstddef>
#include <string_view>

namespace shoal {

// Optimal string alignment distance between `a` and `b`: inserting, deleting or substituting a
// character, or swapping two neighbouring ones, each costs 1 (so "wrokers" is 1 from "workers").
// With `ignore_case`, ASCII letters compare case-insensitively. O(|a| x |b|) time, O(|b|) memory;
// pure and thread-safe.
size_t EditDistance(std::string_view a, std::string_view b, bool ignore_case = false);

}  // namespace shoal
