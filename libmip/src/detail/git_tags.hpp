#pragma once
// Private tag rewriting and describe-based versions (prepare-stages §3.7–§3.8): the version-like
// part of a tag name, the one-pass describe loop over a clone, deterministic tag objects, and the
// package version derived from `git describe --long --tags`.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "detail/env.hpp"

namespace mip::detail {

/// The version-like part of a tag name: the first (unanchored, case-sensitive) match of
/// `[0-9]+[_.-][0-9]+([_.-][0-9]+)?([_.-][0-9]+)?([._-]*rc[0-9]+)?`, as matched; nullopt when
/// the name has none (`v1`, `mpw-one-a`).
[[nodiscard]] std::optional<std::string> version_part(const std::string& tag);

/// Orders two version parts: integer fields first (missing fields count as 0), a release above
/// its release candidates, then rc numbers. Negative, zero or positive like `strcmp`.
[[nodiscard]] int compare_version_parts(const std::string& a, const std::string& b);

/// What the rewriting did to one clone; recorded in the lock.
struct TagRewrite {
    std::string commit;     ///< the commit the version describes
    std::string described;  ///< C: the commit carrying the winning tag ("" before a run)
    std::string winner;     ///< ref name of the winning tag before rewriting ("" = fallback)
    std::string tag;        ///< the tag describe prints now (prefix + part, or prefix + 0.0)
    bool fallback = false;  ///< no version tag was reachable: `tag` sits on the root commit
    std::vector<std::pair<std::string, std::string>> renames;  ///< (from, to), in order
    std::vector<std::string> deletions;                        ///< deleted tag names, sorted
    std::vector<std::string> notes;  ///< human-readable log lines (replaced tags elsewhere)
};

struct TagRewriteOptions {
    std::string prefix;  ///< `--tag-prefix` (tags only; versions never carry it)
    std::chrono::seconds timeout{300};
};

/// Rewrites the tags of `clone` relative to `commit` in one pass (§3.7 steps 1–6) and creates
/// deterministic annotated tags (tagger `mip-build <mip-build@invalid>`, date = committer time of
/// the tagged commit, message = tag name, unsigned). Throws BuildError when git fails or describe
/// does not print the created tag afterwards.
[[nodiscard]] TagRewrite rewrite_tags(const std::filesystem::path& clone,
                                      const std::string& commit,
                                      const Environment& env,
                                      const TagRewriteOptions& options);

/// `git describe --long --tags --abbrev=<abbrev> <commit>` in `clone`, trimmed.
[[nodiscard]] std::string describe_commit(const std::filesystem::path& clone,
                                          const std::string& commit,
                                          int abbrev,
                                          const Environment& env);

/// The package version from a describe string: strip `prefix`, `-` → `_`
/// (`v1.2.3-2-gabc` with prefix `v` → `1.2.3_2_gabc`).
[[nodiscard]] std::string describe_to_version(const std::string& describe,
                                              const std::string& prefix);

}  // namespace mip::detail
