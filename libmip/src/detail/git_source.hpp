#pragma once
// Private git-source handling for recipes (prepare-stages §3.5): full clone into a mirror
// directory keyed by URL, resolution of a ref inside the clone (never resolve-then-clone), and
// export of one commit into a directory without `.git`.

#include <cstdint>
#include <filesystem>
#include <string>

#include "detail/env.hpp"

namespace mip::detail {

/// The directory key mirroring a URL: `scheme://[user@]host[:port]/path` → `host[_port]/path`;
/// `user@host:path` → `host/path`; local path or `file://` → `_local/<abs path>`. Throws
/// SpecError on `.`/`..` segments.
[[nodiscard]] std::string git_url_key(const std::string& url);

struct ResolvedRev {
    std::string rev;       ///< as requested ("" = default branch)
    std::string rev_kind;  ///< commit | tag | branch | default
    std::string commit;    ///< full id
    std::int64_t commit_time = 0;
};

/// Clones `url` fully (`--no-checkout`) into `repos_dir/<key>`, or fetches into an existing
/// clone. Returns the clone's path. A shallow result is an error.
std::filesystem::path clone_or_fetch(const std::string& url, const std::filesystem::path& repos_dir,
                                     const Environment& env, std::chrono::seconds timeout);

/// Resolves `rev` in `clone` (locked commit; full id; refs/tags/R; refs/remotes/origin/R;
/// unique abbreviation ≥ 7 hex; empty → origin/HEAD). Throws SpecError when nothing matches.
[[nodiscard]] ResolvedRev resolve_rev(const std::filesystem::path& clone, const std::string& rev,
                                      const Environment& env);

/// Checks `commit` out of `clone` (detached, in a scratch checkout under `scratch_dir`) and copies
/// the tree to `destination` without any `.git`.
void export_commit(const std::filesystem::path& clone, const std::string& commit,
                   const std::filesystem::path& scratch_dir, const std::filesystem::path& destination,
                   const Environment& env, std::chrono::seconds timeout);

}  // namespace mip::detail
