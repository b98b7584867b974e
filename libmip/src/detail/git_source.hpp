#pragma once
// Private git-source handling for recipes (prepare-stages §3.5): full clone into a mirror
// directory keyed by URL, resolution of a ref inside the clone (never resolve-then-clone), and
// export of one commit into a directory without `.git`.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <mip/source_mirror.hpp>

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

/// Resolves `rev` in `clone` (locked commit; full id; refs/tags/R; refs/remotes/origin/R;
/// unique abbreviation ≥ 7 hex; empty → origin/HEAD). Throws SpecError when nothing matches.
[[nodiscard]] ResolvedRev resolve_rev(const std::filesystem::path& clone,
                                      const std::string& rev,
                                      const Environment& env);

/// The `url.<mirror>.insteadOf` = `<original>` settings (key, value) for `mirrors`, one per
/// distinct original (the last of equal originals wins). git applies the longest match, as
/// `mirror_url` does.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> mirror_git_config(
    const std::vector<SourceMirror>& mirrors);

/// Clones `url` fully (`git clone --no-checkout`) into `repos_dir/<key>` (a fresh work area; never
/// resolve-then-clone). An existing clone of the same URL is reused; one of another URL with the
/// same key → SpecError (duplicate key). A shallow result → SpecError. With `mirrors`, the clone
/// keeps `url` as its origin and fetches through `url.<mirror>.insteadOf` settings stored in its
/// config (so later fetches of the same clone use the mirror too); the key comes from `url`.
std::filesystem::path clone_full(const std::string& url,
                                 const std::filesystem::path& repos_dir,
                                 const Environment& env,
                                 std::chrono::seconds timeout,
                                 const std::vector<SourceMirror>& mirrors = {});

/// Resolves a locked commit inside `clone`: present → itself; absent → one
/// `git fetch origin <commit>`, then LockMismatch.
[[nodiscard]] ResolvedRev resolve_locked(const std::filesystem::path& clone,
                                         const std::string& rev,
                                         const std::string& commit,
                                         const Environment& env,
                                         std::chrono::seconds timeout);

/// Resolves a relative submodule URL (`../x`, possibly repeated) against the superproject's URL as
/// git does: the trailing `/` of `base` is stripped and each `../` drops one path segment.
/// Absolute URLs come back unchanged. `./` URLs or climbing past the host/root → SpecError.
[[nodiscard]] std::string resolve_submodule_url(const std::string& base, const std::string& url);

/// Whether a URL names a local repository (a path or `file://`).
[[nodiscard]] bool is_local_url(const std::string& url);

/// One submodule of a commit (lock: `{path, url, resolved_url, key|null, commit}`).
struct Submodule {
    std::string name;
    std::string path;
    std::string url;           ///< as in .gitmodules
    std::string resolved_url;  ///< relative URLs resolved against the source URL
    std::string key;           ///< git-repos key of the sibling clone; "" = left to git
    std::string commit;        ///< the gitlink
};

/// The submodules recorded in `commit` of `clone` (read from the `.gitmodules` blob with
/// `git config --blob`), in .gitmodules order, with their gitlink commits. Relative URLs are
/// resolved against `source_url`; an absolute local URL → SpecError unless the source is local.
[[nodiscard]] std::vector<Submodule> list_submodules(const std::filesystem::path& clone,
                                                     const std::string& commit,
                                                     const std::string& source_url,
                                                     const Environment& env);

/// `git clone --no-checkout <clone> <checkout>`, `checkout --detach <commit>`, and, when
/// `submodules`, one level of `git -c protocol.file.allow=always submodule update --init`
/// (relative submodules resolve to the sibling clones beside `clone`; absolute ones are fetched
/// by git, through `mirrors`). Returns warnings (nested submodules are not initialised).
std::vector<std::string> checkout_commit(const std::filesystem::path& clone,
                                         const std::string& commit,
                                         const std::filesystem::path& checkout,
                                         bool submodules,
                                         const Environment& env,
                                         std::chrono::seconds timeout,
                                         const std::vector<SourceMirror>& mirrors = {});

}  // namespace mip::detail
