#include "detail/git_source.hpp"

#include <mip/error.hpp>

#include <algorithm>

#include "detail/fs.hpp"
#include "detail/git.hpp"
#include "detail/http.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

std::string git_url_key(const std::string& url) {
    std::string key;
    auto scheme = url.find("://");
    if (url.rfind("file://", 0) == 0) {
        key = "_local/" + url.substr(7);
    } else if (scheme != std::string::npos) {
        auto rest = url.substr(scheme + 3);
        auto slash = rest.find('/');
        auto authority = rest.substr(0, slash);
        auto path = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
        auto at = authority.rfind('@');
        if (at != std::string::npos) {
            authority = authority.substr(at + 1);
        }
        std::replace(authority.begin(), authority.end(), ':', '_');
        key = authority + "/" + path;
    } else if (auto colon = url.find(':'); colon != std::string::npos && url.find('/') > colon && url[0] != '/') {
        auto host = url.substr(0, colon);
        auto at = host.rfind('@');
        if (at != std::string::npos) {
            host = host.substr(at + 1);
        }
        key = host + "/" + url.substr(colon + 1);
    } else {
        key = "_local/" + fs::absolute(url).lexically_normal().string();
    }
    // Normalise: no leading '/', no trailing '/', no empty/./.. segments.
    std::string out;
    std::size_t start = 0;
    while (start <= key.size()) {
        auto end = key.find('/', start);
        auto seg = key.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (seg == "." || seg == "..") {
            throw SpecError(redact_url(url), {{"url", "'.' or '..' path segments are not allowed in a git URL"}});
        }
        if (!seg.empty()) {
            out += (out.empty() ? "" : "/") + seg;
        }
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return out;
}

fs::path clone_or_fetch(const std::string& url, const fs::path& repos_dir, const Environment& env,
                        std::chrono::seconds timeout) {
    auto clone = repos_dir / git_url_key(url);
    auto shown = redact_url(url);
    if (fs::exists(clone / "HEAD") || fs::exists(clone / ".git")) {
        (void)git_checked({"fetch", "--quiet", "--prune", "--tags", "--force", "origin",
                           "+refs/heads/*:refs/remotes/origin/*"},
                          clone, env, "fetch of " + shown, timeout);
        (void)run_git({"remote", "set-head", "origin", "--auto"}, clone, env, timeout);
    } else {
        create_dirs(clone.parent_path());
        remove_tree(clone);
        (void)git_checked({"clone", "--quiet", "--no-checkout", "--", url, clone.string()}, clone.parent_path(),
                          env, "clone of " + shown, timeout);
    }
    auto shallow = git_checked({"rev-parse", "--is-shallow-repository"}, clone, env, "rev-parse");
    if (shallow == "true") {
        throw SpecError(shown, {{"url", "the clone is shallow; a full history is needed"}});
    }
    return clone;
}

ResolvedRev resolve_rev(const fs::path& clone, const std::string& rev, const Environment& env) {
    ResolvedRev r;
    r.rev = rev;
    auto try_ref = [&](const std::string& ref) -> std::string {
        auto res = run_git({"rev-parse", "--verify", "--quiet", ref + "^{commit}"}, clone, env);
        if (!res.ok()) {
            return {};
        }
        auto out = res.output;
        while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
            out.pop_back();
        }
        return out;
    };
    if (rev.empty()) {
        r.rev_kind = "default";
        r.commit = try_ref("refs/remotes/origin/HEAD");
        if (r.commit.empty()) {
            r.commit = try_ref("HEAD");
        }
    } else if (is_full_commit_id(rev)) {
        r.rev_kind = "commit";
        r.commit = try_ref(rev);
    } else if (auto tag = try_ref("refs/tags/" + rev); !tag.empty()) {
        r.rev_kind = "tag";
        r.commit = tag;
    } else if (auto branch = try_ref("refs/remotes/origin/" + rev); !branch.empty()) {
        r.rev_kind = "branch";
        r.commit = branch;
    } else if (rev.size() >= 7 && std::all_of(rev.begin(), rev.end(), [](char c) {
                   return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
               })) {
        r.rev_kind = "commit";
        r.commit = try_ref(rev);
    }
    if (r.commit.empty()) {
        throw SpecError("git source", {{"ref", rev.empty() ? std::string("the repository has no default branch")
                                                           : "'" + rev + "' is not a commit, tag or branch of the repository"}});
    }
    r.commit_time = std::stoll(git_checked({"log", "-1", "--format=%ct", r.commit}, clone, env, "git log"));
    return r;
}

void export_commit(const fs::path& clone, const std::string& commit, const fs::path& scratch_dir,
                   const fs::path& destination, const Environment& env, std::chrono::seconds timeout) {
    create_dirs(scratch_dir);
    TempDir scratch(scratch_dir, "checkout-");
    auto co = scratch.path() / "tree";
    (void)git_checked({"clone", "--quiet", "--no-checkout", "--", clone.string(), co.string()}, scratch.path(), env,
                      "local clone", timeout);
    (void)git_checked({"checkout", "--quiet", "--detach", commit}, co, env, "checkout of " + commit, timeout);
    copy_tree(co, destination, true);
}

}  // namespace mip::detail
