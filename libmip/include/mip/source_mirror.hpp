#pragma once
/// \file source_mirror.hpp
/// Source mirrors: `--source-mirror FROM=TO` (repeatable) and the environment variable
/// `MIP_SOURCE_MIRRORS` rewrite the URLs recipes fetch from by prefix, for air-gapped builds,
/// corporate mirrors and CI caches. A URL starting with `FROM` is fetched from `TO` followed by
/// the rest of the URL; the longest matching `FROM` wins. The recipe, `mip.json` `source` and the
/// cache check keep the original URL; the lock and `build_info.json` name the mirror used.
///
/// **Example**
/// ```cpp
/// std::vector<mip::SourceMirror> mirrors = {
///     mip::SourceMirror::parse("https://github.com/=file:///srv/mirror/github/")};
/// mip::mirror_url("https://github.com/klho/FLAM", mirrors);
/// // -> "file:///srv/mirror/github/klho/FLAM"
/// ```

#include <optional>
#include <string>
#include <vector>

namespace mip {

/// One prefix rewrite.
struct SourceMirror {
    std::string original;  ///< URL prefix as recipes write it ("https://github.com/")
    std::string mirror;    ///< what replaces it ("file:///srv/mirror/github/")

    /// Parses `FROM=TO` (split at the first `=`). Throws `SpecError` naming the text when either
    /// side is empty or holds whitespace.
    [[nodiscard]] static SourceMirror parse(const std::string& text);
    bool operator==(const SourceMirror&) const = default;
};

/// One fetch that went through a mirror (recorded in the lock and `build_info.json`).
struct MirroredFetch {
    std::string url;           ///< as the recipe wrote it
    std::string fetched_from;  ///< the rewritten URL that was fetched
    bool operator==(const MirroredFetch&) const = default;
};

/// Parses the value of `MIP_SOURCE_MIRRORS`: `FROM=TO` entries separated by whitespace. Throws
/// `SpecError` naming the bad entry.
[[nodiscard]] std::vector<SourceMirror> parse_source_mirrors(const std::string& text);

/// The inverse of `parse_source_mirrors` (entries joined by a space).
[[nodiscard]] std::string format_source_mirrors(const std::vector<SourceMirror>& mirrors);

/// `url` with the longest matching `original` prefix replaced by its `mirror` (of equal
/// prefixes, the last one given wins); nullopt when no mirror applies. Pure and thread-safe.
[[nodiscard]] std::optional<std::string> mirror_url(const std::string& url,
                                                    const std::vector<SourceMirror>& mirrors);

}  // namespace mip
