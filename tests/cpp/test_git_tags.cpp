// Tag rewriting and describe versions (prepare-stages §3.7–§3.8, fixture scenarios §5 1–10).
#include <cstdlib>

#include <catch2/catch.hpp>

#include <mip/error.hpp>

#include "detail/git.hpp"
#include "detail/git_source.hpp"
#include "detail/git_tags.hpp"
#include "test_support.hpp"

using namespace mip;
using mip::test::TempDir;
using mip::test::write_file;
namespace fs = std::filesystem;

namespace {

/// Runs git in `repo` with a clean configuration and fixed dates; returns trimmed stdout.
std::string git_in(const fs::path& repo, const std::string& args, long long date = 1700000000) {
    auto out = repo.parent_path() / ".git-out";
    std::string cmd =
        "cd '" + repo.string() +
        "' && env -u GIT_DIR -u GIT_WORK_TREE GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 "
        "GIT_AUTHOR_NAME=A GIT_AUTHOR_EMAIL=a@x.invalid GIT_COMMITTER_NAME=C "
        "GIT_COMMITTER_EMAIL=c@x.invalid GIT_AUTHOR_DATE='@" +
        std::to_string(date) + " +0000' GIT_COMMITTER_DATE='@" + std::to_string(date) +
        " +0000' git -c tag.gpgSign=false " + args + " > '" + out.string() + "' 2>&1";
    int rc = std::system(cmd.c_str());
    auto text = test::read_file(out);
    INFO("git " << args << "\n" << text);
    REQUIRE(rc == 0);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

/// c1..c5 on main (dates 1700001000 + 1000 i), HEAD = c5.
struct Fixture {
    fs::path repo;
    std::vector<std::string> c;  // c[1]..c[5]
    explicit Fixture(const fs::path& dir, int commits = 5) : repo(dir) {
        fs::create_directories(repo);
        git_in(repo, "init -q -b main");
        c.push_back("");
        for (int i = 1; i <= commits; ++i) {
            commit("f.txt", "content " + std::to_string(i) + "\n", 1700000000 + 1000 * i);
        }
    }
    std::string commit(const std::string& file, const std::string& text, long long date) {
        write_file(repo / file, text);
        git_in(repo, "add -A");
        git_in(repo, "commit -q -m c" + std::to_string(c.size()), date);
        c.push_back(git_in(repo, "rev-parse HEAD"));
        return c.back();
    }
    void light(const std::string& name, int i) {
        git_in(repo, "tag " + name + " " + c[static_cast<std::size_t>(i)]);
    }
    void annotated(const std::string& name, int i) {
        git_in(repo, "tag -a -m " + name + " " + name + " " + c[static_cast<std::size_t>(i)],
               1700100000);
    }
};

struct Outcome {
    detail::TagRewrite rewrite;
    std::string describe;
    std::string version;
    fs::path clone;
};

Outcome rewrite(const TempDir& tmp,
                const Fixture& f,
                const std::string& prefix = "",
                const std::string& commit = "") {
    auto env = test::environment();
    auto clone =
        detail::clone_full(f.repo.string(), tmp / "git-repos", env, std::chrono::seconds(60));
    auto target = commit.empty() ? f.c.back() : commit;
    Outcome o;
    o.clone = clone;
    o.rewrite = detail::rewrite_tags(clone, target, env, {prefix, std::chrono::seconds(60)});
    o.describe = detail::describe_commit(clone, target, 12, env);
    o.version = detail::describe_to_version(o.describe, prefix);
    return o;
}

std::string tag_object(const fs::path& clone, const std::string& tag) {
    return git_in(clone, "rev-parse refs/tags/" + tag);
}

std::string tag_list(const fs::path& clone) { return git_in(clone, "tag -l"); }

}  // namespace

TEST_CASE("the version-like part of a tag follows the spec's table", "[git_tags]") {
    auto [tag, part] = GENERATE(table<std::string, std::string>({
        {"v1.2", "1.2"},
        {"1.2.3.4.5", "1.2.3.4"},
        {"1.2rc1", "1.2rc1"},
        {"1.2-RC1", "1.2"},
        {"1.2.3-rc.1", "1.2.3"},
        {"1.2.3_rc2", "1.2.3_rc2"},
        {"v2.0-rc1", "2.0-rc1"},
        {"v1-2-3--rc4", "1-2-3--rc4"},
        {"50_78-91-x", "50_78-91"},
        {"yosys-0.9+4081", "0.9"},
        {"Public_Release-7.6.0", "7.6.0"},
        {"nightly-20200101-1", "20200101-1"},
        {"gcc-4.9-2020.01", "4.9-2020.01"},
        {"v2.0-beta1", "2.0"},
        {"release_1_2", "1_2"},
        {"v1", ""},
        {"mpw-one-a", ""},
    }));
    INFO(tag);
    CHECK(detail::version_part(tag).value_or("") == part);
}

TEST_CASE("version parts order by integer fields with rc below the release", "[git_tags]") {
    CHECK(detail::compare_version_parts("1.10", "1.9") > 0);
    CHECK(detail::compare_version_parts("1.10", "1.1") > 0);
    CHECK(detail::compare_version_parts("2.0-rc1", "2.0") < 0);
    CHECK(detail::compare_version_parts("2.0rc2", "2.0-rc1") > 0);
    CHECK(detail::compare_version_parts("1.2", "1.2.0") == 0);
    CHECK(detail::compare_version_parts("20200101-1", "9.9") > 0);
}

TEST_CASE("describe strings become versions without prefix and with underscores", "[git_tags]") {
    CHECK(detail::describe_to_version("1.2.3-2-gabcdef123456", "") == "1.2.3_2_gabcdef123456");
    CHECK(detail::describe_to_version("v2.0-rc1-1-gabcdef123456", "v") ==
          "2.0_rc1_1_gabcdef123456");
    CHECK(detail::describe_to_version("v0.0-4-gabcdef123456", "v") == "0.0_4_gabcdef123456");
}

TEST_CASE("tag rewriting scenarios give the spec's versions", "[git_tags][git]") {
    TempDir tmp;
    Fixture f(tmp / "up");
    auto h5 = f.c[5].substr(0, 12);

    SECTION("1: a nearer non-version tag is deleted") {
        f.light("v1.0", 2);
        f.light("nightly", 4);
        auto o = rewrite(tmp, f);
        CHECK(o.version == "1.0_3_g" + h5);
        CHECK(o.rewrite.winner == "v1.0");
        CHECK(o.rewrite.deletions == std::vector<std::string>{"nightly", "v1.0"});
        CHECK(tag_list(o.clone) == "1.0");
        // Deterministic tag object: tagger mip-build, date = committer time of c2, unsigned.
        auto obj = git_in(o.clone, "cat-file -p refs/tags/1.0");
        CHECK(obj == "object " + f.c[2] +
                         "\ntype commit\ntag 1.0\ntagger mip-build <mip-build@invalid> 1700002000 "
                         "+0000\n\n1.0");
        CHECK(tag_object(o.clone, "1.0") == "02da1ca60a30e37d3e450aa129a7e6f4cb2f1c66");
    }
    SECTION("2: annotated beats lightweight on one commit") {
        f.light("v2.0", 2);
        f.annotated("v1.1", 2);
        auto o = rewrite(tmp, f);
        CHECK(o.version == "1.1_3_g" + h5);
        CHECK(tag_list(o.clone) == "1.1");
    }
    SECTION("3: v1.10 beats v1.9 and v1.1") {
        f.light("v1.9", 2);
        f.light("v1.10", 2);
        f.light("v1.1", 2);
        auto o = rewrite(tmp, f);
        CHECK(o.version == "1.10_3_g" + h5);
        CHECK(o.rewrite.winner == "v1.10");
    }
    SECTION("4: an rc tag keeps its rc") {
        f.light("v2.0-rc1", 2);
        auto o = rewrite(tmp, f);
        CHECK(o.version == "2.0_rc1_3_g" + h5);
    }
    SECTION("5: an exact version tag is left untouched") {
        f.light("1.2.3", 5);
        auto before = tag_object(tmp / "up", "1.2.3");
        auto o = rewrite(tmp, f);
        CHECK(o.version == "1.2.3_0_g" + h5);
        CHECK(o.rewrite.renames.empty());
        CHECK(tag_object(o.clone, "1.2.3") == before);
    }
    SECTION("6: no tags → 0.0 on the root") {
        auto o = rewrite(tmp, f);
        CHECK(o.version == "0.0_4_g" + h5);
        CHECK(o.rewrite.fallback);
        CHECK(git_in(o.clone, "rev-parse refs/tags/0.0^{commit}") == f.c[1]);
        CHECK(tag_object(o.clone, "0.0") == "91a854cc1274f6e8c9e3ed297254d941d3fe2e36");
    }
    SECTION("7: only non-version tags → as 6") {
        f.light("mpw-one-a", 3);
        f.annotated("latest", 5);
        auto o = rewrite(tmp, f);
        CHECK(o.version == "0.0_4_g" + h5);
        CHECK(tag_list(o.clone) == "0.0");
    }
    SECTION("8: a misnamed annotated tag is handled") {
        git_in(f.repo, "tag -a -m x Y-7.6.0 " + f.c[4], 1700100000);
        git_in(f.repo, "update-ref refs/tags/Release-7.6.0 refs/tags/Y-7.6.0");
        git_in(f.repo, "tag -d Y-7.6.0");
        auto o = rewrite(tmp, f);
        CHECK(o.version == "7.6.0_1_g" + h5);
        REQUIRE_FALSE(o.rewrite.renames.empty());
        CHECK(o.rewrite.renames.front() ==
              std::pair<std::string, std::string>{"Y-7.6.0", "Release-7.6.0"});
    }
    SECTION("10: an unreachable tag never counts") {
        git_in(f.repo, "checkout -q -b side " + f.c[2]);
        auto side = f.commit("side.txt", "side\n", 1700009000);
        git_in(f.repo, "tag v9.9 " + side);
        git_in(f.repo, "checkout -q main");
        f.light("v0.2", 3);
        auto o = rewrite(tmp, f, "", f.c[5]);
        CHECK(o.version == "0.2_2_g" + h5);
    }
    SECTION("13: a tag prefix names tags only") {
        f.light("release-1.4", 2);
        auto o = rewrite(tmp, f, "v");
        CHECK(o.describe == "v1.4-3-g" + h5);
        CHECK(o.version == "1.4_3_g" + h5);
    }
}

TEST_CASE("two root commits use the first-parent root and count commits - 1", "[git_tags][git]") {
    TempDir tmp;
    Fixture f(tmp / "up", 3);
    git_in(f.repo, "checkout -q --orphan other");
    git_in(f.repo, "rm -q -rf .");
    f.commit("o.txt", "o1\n", 1700005000);
    f.commit("o.txt", "o2\n", 1700006000);
    git_in(f.repo, "checkout -q main");
    git_in(f.repo, "merge -q --allow-unrelated-histories -m merge other", 1700007000);
    auto head = git_in(f.repo, "rev-parse HEAD");
    auto o = rewrite(tmp, f, "", head);
    CHECK(o.version == "0.0_5_g" + head.substr(0, 12));  // 6 commits
    CHECK(git_in(o.clone, "rev-parse refs/tags/0.0^{commit}") == f.c[1]);
}
