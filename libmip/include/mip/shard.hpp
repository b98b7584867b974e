#pragma once
/// \file shard.hpp
/// Deterministic assignment of packages to CI jobs (`--shard K/N`).
///
/// **Example**
/// ```cpp
/// auto shard = mip::Shard::parse("2/4");        // throws SpecError for "0/4", "5/4", "x"
/// bool mine = shard.contains("mathutils");        // the same answer on every machine
/// ```
///
/// A regular value; `contains` is pure and thread-safe.

#include <string>

namespace mip {

/// `--shard K/N`: this job takes the packages whose stable hash mod N equals K-1.
struct Shard {
    unsigned index = 1;  ///< K, 1-based
    unsigned count = 1;  ///< N
    /// Parses "K/N" (1 ≤ K ≤ N). Throws `SpecError`.
    [[nodiscard]] static Shard parse(const std::string& text);
    /// Whether `package_name` belongs to this shard (FNV-1a of the normalised name).
    [[nodiscard]] bool contains(const std::string& package_name) const;
    bool operator==(const Shard&) const = default;
};

}  // namespace mip
