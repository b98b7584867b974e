// The Preparer's reproducible stages (prepare-stages.md §2–§3.12, scenarios §5 11–13).
#include <cstdlib>

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <mip/bundler.hpp>
#include <mip/error.hpp>
#include <mip/local_store.hpp>
#include <mip/package_spec.hpp>
#include <mip/pipeline.hpp>
#include <mip/preparer.hpp>

#include "detail/build_info.hpp"
#include "detail/crypto.hpp"
#include "detail/git.hpp"
#include "detail/git_source.hpp"
#include "detail/json.hpp"
#include "detail/lock.hpp"
#include "detail/zip_reader.hpp"
#include "test_support.hpp"

using namespace mip;
using mip::test::TempDir;
using mip::test::write_file;
namespace fs = std::filesystem;
using detail::Json;

namespace {

std::string git_in(const fs::path& repo,
                   const std::string& args,
                   long long date = 1700000000,
                   bool check = true) {
    auto out = repo.parent_path() / ".git-out";
    std::string cmd = "cd '" + repo.string() +
                      "' && env -u GIT_DIR GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 "
                      "GIT_AUTHOR_NAME=A GIT_AUTHOR_EMAIL=a@x.invalid GIT_COMMITTER_NAME=C "
                      "GIT_COMMITTER_EMAIL=c@x.invalid GIT_AUTHOR_DATE='@" +
                      std::to_string(date) + " +0000' GIT_COMMITTER_DATE='@" +
                      std::to_string(date) + " +0000' git " + args + " > '" + out.string() +
                      "' 2>&1";
    int rc = std::system(cmd.c_str());
    auto text = test::read_file(out);
    if (check) {
        INFO("git " << args << "\n" << text);
        REQUIRE(rc == 0);
    } else if (rc != 0) {
        return "FAILED: " + text;
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

/// An upstream repository with fixed dates: lib/<name>.m per commit.
struct Upstream {
    fs::path repo;
    long long clock = 1700000000;
    explicit Upstream(const fs::path& dir) : repo(dir) {
        fs::create_directories(repo);
        git_in(repo, "init -q -b main");
    }
    std::string commit(const std::map<std::string, std::string>& files) {
        for (const auto& [rel, text] : files) {
            write_file(repo / rel, text);
        }
        git_in(repo, "add -A");
        clock += 1000;
        git_in(repo, "commit -q -m change", clock);
        return git_in(repo, "rev-parse HEAD");
    }
};

test::PrepareSetup options_for(const fs::path& root, const fs::path& recipes) {
    test::PrepareSetup o;
    o.recipes = recipes;
    o.output_dir = root / "prepared";
    o.cache_dir = root / "cache";
    auto env = test::environment();
    env.erase("SOURCE_DATE_EPOCH");
    env.erase("GITHUB_ACTIONS");
    env.erase("TRAVIS");
    o.environment = env;
    return o;
}

void git_recipe(const fs::path& recipes,
                const std::string& name,
                const std::string& url,
                const std::string& extra = "") {
    write_file(recipes / name / "prepare.yaml",
               "name: " + name +
                   "\ndescription: test\nversion: git\nprepare:\n  clone_git:\n    url: " + url +
                   "\n    destination: g\naddpaths: [g/lib]\n" + extra);
}

const ItemResult& only_item(const StageReport& r) {
    REQUIRE(r.items.size() == 1);
    return r.items[0];
}

std::map<std::string, std::string> tree_bytes(const fs::path& root) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        auto rel = fs::relative(e.path(), root).generic_string();
        if (e.is_regular_file()) {
            struct stat st {};
            ::stat(e.path().c_str(), &st);
            out[rel] = test::read_file(e.path()) + ((st.st_mode & 0100) != 0 ? "#x" : "#-");
        } else if (e.is_directory()) {
            out[rel + "/"] = "";
        }
    }
    return out;
}

fs::path the_dir(const fs::path& prepared) {
    for (const auto& e : fs::directory_iterator(prepared)) {
        if (e.path().extension() == ".dir") {
            return e.path();
        }
    }
    FAIL("no .dir in " << prepared);
    return {};
}

fs::path work_of(const fs::path& dir) {
    auto name = dir.filename().string();
    return dir.parent_path() / (name.substr(0, name.size() - 4) + ".work");
}

}  // namespace

TEST_CASE("the work area holds the recipe copy with clones logs build info and the lock",
          "[stages][git]") {
    TempDir tmp;
    Upstream up(tmp / "up");
    up.commit({{"lib/fn.m", "function fn\nend\n"}});
    git_in(up.repo, "tag v1.3");
    auto head = up.commit({{"lib/more.m", "function more\nend\n"}});
    auto recipes = tmp / "recipes";
    git_recipe(recipes, "pkg", up.repo.string());
    write_file(recipes / "pkg" / "tool.sh", "#!/bin/sh\n", true);
    auto o = options_for(tmp.path(), recipes);
    auto item = only_item(test::preparer_for(o).prepare());
    INFO(item.detail);
    REQUIRE(item.status == ItemStatus::done);
    auto version = "1.3_1_g" + head.substr(0, 12);
    CHECK(item.wheel == "pkg-" + version + "-any-none-any");
    auto dir = tmp / "prepared" / (item.wheel + ".dir");
    auto work = tmp / "prepared" / (item.wheel + ".work");
    REQUIRE(fs::is_directory(dir));
    CHECK_FALSE(fs::exists(tmp / "prepared" / "pkg.any-none-any.partial"));
    CHECK_FALSE(fs::exists(work / "stage"));
    // recipe/ is a byte copy with modes kept.
    CHECK(tree_bytes(work / "recipe") == tree_bytes(recipes / "pkg"));
    CHECK(fs::is_directory(work / "git-repos" / detail::git_url_key(up.repo.string()) / ".git"));
    CHECK(test::read_file(work / "logs" / "prepare.log").find("stage sources") !=
          std::string::npos);
    CHECK(fs::is_regular_file(work / "build_info.json"));
    CHECK(test::read_file(work / "script_env.json") == "{}\n");
    CHECK_FALSE(fs::exists(dir / "g" / ".git"));
    auto spec = PackageSpec::load((dir / "mip.json").string());
    CHECK(spec.version == version);
    CHECK(spec.timestamp == "2023-11-14T22:46:40Z");  // the pinned commit's time, not the clock
    auto bi = Json::parse(spec.build_info.to_json());
    CHECK(bi["source_date_epoch"] == 1700002000);
    CHECK(bi["epoch_source"] == "source commit");

    auto lock_text = test::read_file(work / "mip.lock.yaml");
    CHECK(lock_text.rfind(detail::lock_header(mip::version()), 0) == 0);
    CHECK(lock_text.find("# Rendered by mip-build ") == 0);
    for (const char* placeholder : {"GIT_ERROR", ": \"?\"", ": -1\n"}) {
        CHECK(lock_text.find(placeholder) == std::string::npos);
    }
    CHECK(lock_text.find(tmp.path().string() + "/prepared") == std::string::npos);  // no work paths
    auto lock = detail::parse_lock(lock_text, "lock");
    std::vector<std::string> keys;
    for (auto it = lock.begin(); it != lock.end(); ++it) {
        keys.push_back(it.key());
    }
    CHECK(keys == std::vector<std::string>{
                      "lock_version", "package", "recipe", "sources", "script_env",
                      "source_date_epoch", "epoch_source", "toolchain", "git_config", "prescript",
                      "recipe_input_files", "recipe_files", "original_recipe"});
    CHECK(lock["package"]["version"] == version);
    CHECK(lock["package"]["version_source"] == "git");
    CHECK(lock["recipe"]["version"] == version);
    CHECK(lock["recipe"]["prepare"]["clone_git"]["commit"] == head);
    CHECK(lock["sources"][0]["commit"] == head);
    CHECK(lock["sources"][0]["rev_kind"] == "default");
    CHECK(lock["sources"][0]["describe"] == "1.3-1-g" + head.substr(0, 12));
    CHECK(lock["git_config"]["core.autocrlf"] == "false");
    auto original = test::read_file(recipes / "pkg" / "prepare.yaml");
    CHECK(lock["original_recipe"]["text"] == original);
    CHECK(lock["original_recipe"]["sha256"] == detail::sha256_hex(original));

    SECTION("a rerun without changes renders the same lock; --force rebuilds") {
        o.force = true;
        auto again = only_item(test::preparer_for(o).prepare());
        REQUIRE(again.status == ItemStatus::done);
        CHECK(test::read_file(work / "mip.lock.yaml") == lock_text);
    }
}

TEST_CASE("a symlink in the recipe is a SpecError and no .dir appears", "[stages]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    write_file(recipes / "pkg" / "prepare.yaml",
               "name: pkg\nversion: '1'\nprepare:\n  path: {path: src}\n");
    write_file(recipes / "pkg" / "src" / "f.m", "function f\nend\n");
    fs::create_symlink("f.m", recipes / "pkg" / "src" / "g.m");
    auto item = only_item(test::preparer_for(options_for(tmp.path(), recipes)).prepare());
    CHECK(item.status == ItemStatus::failed);
    CHECK(item.error_code == ErrorCode::invalid_spec);
    CHECK(item.detail.find("src/g.m") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "prepared" / "pkg-1-any-none-any.dir"));
    CHECK(test::read_file(tmp / "prepared" / "pkg.any-none-any.partial" / "logs" / "prepare.log")
              .find("FAILED in stage recipe") != std::string::npos);
}

TEST_CASE("the prescript for the platform tag runs in recipe/ and is locked",
          "[stages][prescript]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    write_file(recipes / "pkg" / "prepare.yaml",
               "name: pkg\nversion: '1'\nprepare:\n  path: {path: src}\n");
    write_file(recipes / "pkg" / "src" / "f.m", "function f\nend\n");
    write_file(recipes / "pkg" / "prescript.any.sh",
               "echo \"$(pwd) $TOOLCHAIN_ARCH $TZ ${SOURCE_DATE_EPOCH-unset} "
               "${UNDECLARED-invisible}\" > seen.txt\n"
               "printf 'function gen\\nend\\n' > src/gen.m\n");
    write_file(recipes / "pkg" / "prescript.linux_x86_64.sh", "touch other-arch-ran; exit 1\n");
    write_file(recipes / "pkg" / "prescript..sh", "touch empty-arch-ran; exit 1\n");
    auto o = options_for(tmp.path(), recipes);
    o.environment->insert_or_assign("UNDECLARED", "visible");
    auto item = only_item(test::preparer_for(o).prepare());
    INFO(item.detail);
    REQUIRE(item.status == ItemStatus::done);
    auto work = tmp / "prepared" / "pkg-1-any-none-any.work";
    auto partial_recipe =
        tmp / "prepared" / "pkg.any-none-any.partial" / "recipe";  // ran before the rename
    CHECK(test::read_file(work / "recipe" / "seen.txt") ==
          partial_recipe.string() + " any UTC unset invisible\n");
    CHECK(fs::exists(tmp / "prepared" / "pkg-1-any-none-any.dir" /
                     "gen.m"));  // the recipe was re-read
    CHECK_FALSE(fs::exists(work / "recipe" / "other-arch-ran"));
    CHECK_FALSE(fs::exists(work / "recipe" / "empty-arch-ran"));
    auto lock = detail::parse_lock(test::read_file(work / "mip.lock.yaml"), "lock");
    CHECK(lock["prescript"]["name"] == "prescript.any.sh");
    CHECK_FALSE(lock["recipe_input_files"].contains("seen.txt"));
    CHECK(lock["recipe_files"].contains("seen.txt"));
    CHECK(lock["recipe_files"].contains("src/gen.m"));

    SECTION("exit 3 stops the package with its output and no .dir") {
        write_file(recipes / "pkg" / "prescript.any.sh", "echo broken-prescript; exit 3\n");
        o.force = true;
        auto bad = only_item(test::preparer_for(o).prepare());
        CHECK(bad.status == ItemStatus::failed);
        CHECK(bad.detail.find("exit status 3") != std::string::npos);
        CHECK(bad.detail.find("broken-prescript") != std::string::npos);
        CHECK_FALSE(fs::exists(tmp / "prepared" / "pkg-1-any-none-any.dir"));
        CHECK(test::read_file(tmp / "prepared" / "pkg.any-none-any.partial" / "logs" /
                              "prescript.log") == "broken-prescript\n");
    }
}

TEST_CASE("build_info.json has exact bytes for faked CI environments", "[stages][build_info]") {
    detail::Toolchain tc;
    tc.mip_build = "0.1.0";
    tc.git = "2.39.5";
    detail::RecipeSource local;  // no repository
    SECTION("GitHub Actions") {
        detail::Environment env = {{"GITHUB_ACTIONS", "true"},
                                   {"TRAVIS", "true"},
                                   {"GITHUB_SERVER_URL", "https://user:s3cret@github.example"},
                                   {"GITHUB_REPOSITORY", "mip-org/recipes"},
                                   {"GITHUB_REF", "refs/heads/main"},
                                   {"GITHUB_REF_NAME", "main"},
                                   {"GITHUB_HEAD_REF", ""},
                                   {"GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"},
                                   {"GITHUB_RUN_ID", "42"},
                                   {"GITHUB_RUN_NUMBER", "7"},
                                   {"GITHUB_EVENT_NAME", "push"},
                                   {"GITHUB_WORKFLOW", "build all"}};
        auto type = detail::detect_build_type(env);
        CHECK(type == "github_actions");  // both set: GitHub wins
        auto doc = detail::build_info_document(type, detail::ci_recipe_source(type, local, env),
                                               env, "any", 1700000000, tc);
        CHECK(detail::dump_pretty(doc) == R"({
  "build_type": "github_actions",
  "recipe_source": {
    "repo": "https://github.example/mip-org/recipes",
    "branch": "main",
    "commit": "0123456789abcdef0123456789abcdef01234567",
    "describe": null,
    "dirty": null
  },
  "github_actions": {
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_RUN_ID": "42",
    "GITHUB_RUN_NUMBER": "7",
    "GITHUB_RUN_ATTEMPT": null,
    "GITHUB_EVENT_NAME": "push",
    "GITHUB_WORKFLOW": "build all",
    "GITHUB_ACTION": null
  },
  "toolchain_arch": "any",
  "source_date_epoch": 1700000000,
  "date": "20231114_221320",
  "toolchain": {
    "mip_build": "0.1.0",
    "libzip": null,
    "git": "2.39.5",
    "matlab": {
      "release": null,
      "version": null
    },
    "octave": null,
    "compiler": null
  }
}
)");
        env["GITHUB_REF"] = "refs/pull/7/merge";
        CHECK_FALSE(detail::ci_recipe_source(type, local, env).branch.has_value());
        env["GITHUB_HEAD_REF"] = "feature";
        CHECK(detail::ci_recipe_source(type, local, env).branch == "feature");
    }
    SECTION("Travis, with only the pull-request slug") {
        detail::Environment env = {
            {"TRAVIS", "true"},       {"TRAVIS_PULL_REQUEST_SLUG", "someone/recipes"},
            {"TRAVIS_BRANCH", "dev"}, {"TRAVIS_COMMIT", "abc"},
            {"TRAVIS_JOB_ID", "99"},  {"TRAVIS_EVENT_TYPE", ""}};
        auto type = detail::detect_build_type(env);
        CHECK(type == "travis");
        auto doc = detail::build_info_document(type, detail::ci_recipe_source(type, local, env),
                                               env, "linux_x86_64", 0, tc);
        CHECK(
            doc["recipe_source"].dump() ==
            R"({"repo":"https://github.com/someone/recipes","branch":"dev","commit":"abc","describe":null,"dirty":null})");
        CHECK(doc["travis"].dump() ==
              R"({"TRAVIS_JOB_ID":"99","TRAVIS_JOB_NUMBER":null,"TRAVIS_EVENT_TYPE":null})");
        CHECK(doc["date"] == "19700101_000000");
        CHECK_FALSE(doc.contains("github_actions"));
    }
}

TEST_CASE("build_info.json from a prepare run has CI fields and nulls and is stable",
          "[stages][build_info]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    write_file(recipes / "pkg" / "prepare.yaml",
               "name: pkg\nversion: '1'\nprepare:\n  path: {path: src}\n");
    write_file(recipes / "pkg" / "src" / "f.m", "function f\nend\n");
    auto o = options_for(tmp.path(), recipes);
    o.source_date_epoch = 1700000000;
    o.environment->insert_or_assign("GITHUB_ACTIONS", "true");
    o.environment->insert_or_assign("GITHUB_REPOSITORY", "o/r");
    o.environment->insert_or_assign("GITHUB_SERVER_URL", "https://tok@github.com");
    o.environment->insert_or_assign("GITHUB_RUN_ID", "5");
    REQUIRE(only_item(test::preparer_for(o).prepare()).status == ItemStatus::done);
    auto work = tmp / "prepared" / "pkg-1-any-none-any.work";
    auto first = test::read_file(work / "build_info.json");
    auto doc = Json::parse(first);
    CHECK(doc["build_type"] == "github_actions");
    CHECK(doc["recipe_source"]["repo"] == "https://github.com/o/r");
    CHECK(doc["recipe_source"]["describe"].is_null());  // not a repository
    CHECK(first.find("tok") == std::string::npos);
    CHECK(doc["toolchain"]["git"].is_string());
    auto meta =
        Json::parse(test::read_file(tmp / "prepared" / "pkg-1-any-none-any.dir" / "mip.json"));
    CHECK(meta["build_info"]["ci"] == "github_actions");
    CHECK(meta["build_info"]["ci_run_url"] == "https://github.com/o/r/actions/runs/5");
    o.force = true;
    REQUIRE(only_item(test::preparer_for(o).prepare()).status == ItemStatus::done);
    CHECK(test::read_file(work / "build_info.json") == first);
}

TEST_CASE("a hostile user git config and an inherited GIT_DIR change nothing",
          "[stages][git][isolation]") {
    TempDir tmp;
    Upstream up(tmp / "up");
    up.commit({{"lib/fn.m", "function fn\n  disp('x');\nend\n"}});
    Upstream other(tmp / "other");
    other.commit({{"lib/evil.m", "function evil\nend\n"}});
    auto recipes = tmp / "recipes";
    git_recipe(recipes, "pkg", up.repo.string());
    auto clean = options_for(tmp / "clean", recipes);
    REQUIRE(only_item(test::preparer_for(clean).prepare()).status == ItemStatus::done);
    auto clean_dir = the_dir(tmp / "clean" / "prepared");

    auto home = tmp / "home";
    std::string config = "[core]\n\tautocrlf = true\n[url \"" + other.repo.string() +
                         "\"]\n\tinsteadOf = " + up.repo.string() +
                         "\n[tag]\n\tgpgSign = true\n#disabled: true\n";
    write_file(home / ".gitconfig", config);
    auto hostile = options_for(tmp / "hostile", recipes);
    hostile.environment->insert_or_assign("HOME", home.string());
    hostile.environment->insert_or_assign("XDG_CONFIG_HOME", home.string());
    hostile.environment->insert_or_assign("GIT_DIR", (tmp / "nonexistent").string());
    hostile.tag_prefix = "v";
    auto item = only_item(test::preparer_for(hostile).prepare());
    INFO(item.detail);
    REQUIRE(item.status == ItemStatus::done);
    auto hostile_dir = the_dir(tmp / "hostile" / "prepared");
    CHECK(hostile_dir.filename() == clean_dir.filename());  // same version with --tag-prefix v
    auto a = tree_bytes(clean_dir);
    auto b = tree_bytes(hostile_dir);
    a.erase("mip.json");
    b.erase("mip.json");
    CHECK(a == b);
    CHECK(test::read_file(home / ".gitconfig") == config);  // user files untouched
    CHECK_FALSE(fs::exists(hostile_dir / "g" / "lib" / "evil.m"));
}

TEST_CASE("git source keys and resolution and clone checks", "[stages][git]") {
    CHECK(detail::git_url_key("https://user@github.com:8443/o/repo.git/") ==
          "github.com_8443/o/repo.git");
    CHECK(detail::git_url_key("git@github.com:o/repo.git") == "github.com/o/repo.git");
    CHECK(detail::git_url_key("file:///srv/git/repo") == "_local/srv/git/repo");
    CHECK(detail::git_url_key("/srv/git/repo/") == "_local/srv/git/repo");
    CHECK_THROWS_AS(detail::git_url_key("https://h/o/../repo"), SpecError);

    TempDir tmp;
    auto env = test::environment();
    Upstream up(tmp / "up");
    auto c1 = up.commit({{"a.txt", "1\n"}});
    git_in(up.repo, "tag v1");
    git_in(up.repo, "branch dev");
    auto c2 = up.commit({{"a.txt", "2\n"}});
    auto repos = tmp / "git-repos";
    auto clone = detail::clone_full(up.repo.string(), repos, env, std::chrono::seconds(60));
    CHECK(detail::resolve_rev(clone, "", env).commit == c2);
    CHECK(detail::resolve_rev(clone, "", env).rev_kind == "default");
    CHECK(detail::resolve_rev(clone, "v1", env).rev_kind == "tag");
    CHECK(detail::resolve_rev(clone, "dev", env).commit == c1);
    CHECK(detail::resolve_rev(clone, "dev", env).rev_kind == "branch");
    CHECK(detail::resolve_rev(clone, c1.substr(0, 9), env).commit == c1);
    CHECK_THROWS_AS(detail::resolve_rev(clone, "nope", env), SpecError);
    // The same key from another spelling of the URL is refused.
    CHECK_THROWS_AS(
        detail::clone_full("file://" + up.repo.string(), repos, env, std::chrono::seconds(60)),
        SpecError);
    // A shallow source gives a shallow clone: refused.
    git_in(tmp.path(), "clone -q --depth 1 file://" + up.repo.string() + " shallow");
    CHECK_THROWS_AS(
        detail::clone_full((tmp / "shallow").string(), repos, env, std::chrono::seconds(60)),
        SpecError);
    // A locked commit that is not there → LockMismatch.
    CHECK_THROWS_AS(
        detail::resolve_locked(clone, "", std::string(40, 'a'), env, std::chrono::seconds(60)),
        LockMismatch);
}

TEST_CASE("relative submodule URLs resolve as git resolves them", "[stages][submodules]") {
    CHECK(detail::resolve_submodule_url("https://h/o/repo.git", "../sub.git") ==
          "https://h/o/sub.git");
    CHECK(detail::resolve_submodule_url("https://h/o/repo/", "../sub.git") ==
          "https://h/o/sub.git");
    CHECK(detail::resolve_submodule_url("https://h/o/repo.git", "../../x/y.git") ==
          "https://h/x/y.git");
    CHECK(detail::resolve_submodule_url("git@h:o/repo.git", "../sub.git") == "git@h:o/sub.git");
    CHECK(detail::resolve_submodule_url("/srv/o/repo", "../sub") == "/srv/o/sub");
    CHECK(detail::resolve_submodule_url("https://h/o/repo.git", "https://x/y.git") ==
          "https://x/y.git");
    CHECK_THROWS_AS(detail::resolve_submodule_url("https://h/o/repo.git", "../../../x.git"),
                    SpecError);
    CHECK_THROWS_AS(detail::resolve_submodule_url("https://h/o/repo.git", "./x.git"), SpecError);
}

namespace {

/// o/sub.git and o/repo.git, repo having `sub` as the relative submodule `../sub.git`.
std::pair<std::string, std::string> make_super(const fs::path& o,
                                               const std::string& sub_url = "../sub.git") {
    Upstream sub(o / "sub.git");
    auto sub_head = sub.commit({{"lib/subfn.m", "function subfn\nend\n"}});
    Upstream super(o / "repo.git");
    super.commit({{"lib/fn.m", "function fn\nend\n"},
                  {".gitmodules", "[submodule \"sub\"]\n\tpath = sub\n\turl = " + sub_url + "\n"}});
    git_in(super.repo, "update-index --add --cacheinfo 160000," + sub_head + ",sub");
    super.clock += 1000;
    git_in(super.repo, "commit -q -m submodule", super.clock);
    return {git_in(super.repo, "rev-parse HEAD"), sub_head};
}

}  // namespace

TEST_CASE("a relative submodule is cloned as a sibling and updated offline",
          "[stages][submodules][git]") {
    TempDir tmp;
    auto [super_head, sub_head] = make_super(tmp / "o");
    auto recipes = tmp / "recipes";
    auto url = GENERATE(as<std::string>{}, "repo.git", "repo.git/");
    git_recipe(recipes, "pkg", (tmp / "o").string() + "/" + url, "");
    write_file(recipes / "pkg" / "prepare.yaml",
               "name: pkg\nversion: git\nprepare:\n  clone_git:\n    url: " + (tmp / "o").string() +
                   "/" + url + "\n    destination: g\naddpaths: [g/lib, g/sub/lib]\n");
    auto o = options_for(tmp.path(), recipes);
    auto item = only_item(test::preparer_for(o).prepare());
    INFO(item.detail);
    REQUIRE(item.status == ItemStatus::done);
    auto dir = fs::path(item.path);
    CHECK(test::read_file(dir / "g" / "sub" / "lib" / "subfn.m") == "function subfn\nend\n");
    CHECK_FALSE(fs::exists(dir / "g" / "sub" / ".git"));
    auto work = work_of(dir);
    CHECK(fs::is_directory(work / "git-repos" /
                           detail::git_url_key((tmp / "o" / "sub.git").string())));
    auto lock = detail::parse_lock(test::read_file(work / "mip.lock.yaml"), "lock");
    auto sm = lock["sources"][0]["submodules"][0];
    CHECK(sm["path"] == "sub");
    CHECK(sm["url"] == "../sub.git");
    CHECK(sm["resolved_url"] == (tmp / "o" / "sub.git").string());
    CHECK(sm["commit"] == sub_head);
    CHECK(Json::parse(PackageSpec::load((dir / "mip.json").string())
                          .build_info.to_json())["source_date_epoch"] == 1700002000);
}

TEST_CASE("submodule update uses the sibling offline and needs protocol.file",
          "[stages][submodules][git]") {
    TempDir tmp;
    auto env = test::environment();
    auto [super_head, sub_head] = make_super(tmp / "o");
    auto repos = tmp / "git-repos";
    auto clone =
        detail::clone_full((tmp / "o" / "repo.git").string(), repos, env, std::chrono::seconds(60));
    auto subs = detail::list_submodules(clone, super_head, (tmp / "o" / "repo.git").string(), env);
    REQUIRE(subs.size() == 1);
    (void)detail::clone_full(subs[0].resolved_url, repos, env, std::chrono::seconds(60));
    fs::remove_all(tmp / "o");  // upstream gone: the update uses the sibling only
    (void)detail::checkout_commit(clone, super_head, tmp / "co", true, env,
                                  std::chrono::seconds(60));
    CHECK(fs::exists(tmp / "co" / "sub" / "lib" / "subfn.m"));
    // Plain git (no protocol.file.allow) refuses the local-path submodule.
    git_in(tmp.path(), "clone -q " + clone.string() + " plain");
    auto r = git_in(tmp / "plain", "submodule update --init", 1700000000, false);
    CHECK(r.rfind("FAILED", 0) == 0);
    CHECK(r.find("not allowed") != std::string::npos);
}

TEST_CASE("an absolute local submodule URL is refused for a remote source",
          "[stages][submodules][git]") {
    TempDir tmp;
    auto env = test::environment();
    auto [super_head, sub_head] = make_super(tmp / "o", (tmp / "o" / "sub.git").string());
    auto clone = detail::clone_full((tmp / "o" / "repo.git").string(), tmp / "git-repos", env,
                                    std::chrono::seconds(60));
    CHECK(detail::list_submodules(clone, super_head, (tmp / "o" / "repo.git").string(), env)
              .at(0)
              .key.empty());
    CHECK_THROWS_AS(
        detail::list_submodules(clone, super_head, "https://example.invalid/o/repo.git", env),
        SpecError);
}

TEST_CASE("SOURCE_DATE_EPOCH precedence", "[stages][epoch]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    write_file(recipes / "pkg" / "prepare.yaml",
               "name: pkg\nversion: '1'\nprepare:\n  path: {path: src}\n");
    write_file(recipes / "pkg" / "src" / "f.m", "function f\nend\n");
    auto o = options_for(tmp.path(), recipes);
    o.force = true;
    auto epoch_of = [&]() {
        auto item = only_item(test::preparer_for(o).prepare());
        INFO(item.detail);
        REQUIRE(item.status == ItemStatus::done);
        return Json::parse(
            PackageSpec::load((fs::path(item.path) / "mip.json").string()).build_info.to_json());
    };
    SECTION("newest recipe mtime when nothing else is known") {
        fs::last_write_time(recipes / "pkg" / "src" / "f.m",
                            fs::file_time_type::clock::now() - std::chrono::hours(24 * 365));
        auto bi = epoch_of();
        CHECK(bi["epoch_source"] == "recipe mtime");
    }
    SECTION("the recipe repository's last commit") {
        git_in(recipes, "init -q -b main");
        git_in(recipes, "add -A");
        git_in(recipes, "commit -q -m r", 1600000000);
        auto bi = epoch_of();
        CHECK(bi["source_date_epoch"] == 1600000000);
        CHECK(bi["epoch_source"] == "recipe commit");
        CHECK(bi["recipe_commit"].is_string());
        SECTION("the environment beats git") {
            o.environment->insert_or_assign("SOURCE_DATE_EPOCH", "1234567890");
            CHECK(epoch_of()["source_date_epoch"] == 1234567890);
        }
    }
    SECTION("a malformed value is refused") {
        o.environment->insert_or_assign("SOURCE_DATE_EPOCH", "abc");
        auto item = only_item(test::preparer_for(o).prepare());
        CHECK(item.status == ItemStatus::failed);
        CHECK(item.error_code == ErrorCode::invalid_spec);
    }
    SECTION("epoch 0 gives 1980 entries") {
        o.source_date_epoch = 0;
        auto item = only_item(test::preparer_for(o).prepare());
        REQUIRE(item.status == ItemStatus::done);
        auto r = Bundler().bundle(item.path, tmp / "bundled");
        auto raw = detail::read_raw_zip(r.mhl_path);
        REQUIRE_FALSE(raw.entries.empty());
        for (const auto& e : raw.entries) {
            CHECK(e.dos_date == ((1980 - 1980) << 9 | 1 << 5 | 1));  // 1980-01-01
            CHECK(e.dos_time == 0);
        }
        CHECK(PackageSpec::load((fs::path(item.path) / "mip.json").string()).timestamp ==
              "1970-01-01T00:00:00Z");
    }
}

TEST_CASE("script_env keeps set values verbatim and drops unset ones", "[stages][script_env]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    write_file(recipes / "pkg" / "prepare.yaml",
               "name: pkg\nversion: '1'\nscript_env: [MIP_A, MIP_B, MIP_A]\nprepare:\n  path: "
               "{path: src}\n");
    write_file(recipes / "pkg" / "src" / "f.m", "function f\nend\n");
    auto o = options_for(tmp.path(), recipes);
    o.environment->insert_or_assign("MIP_A", "a b=c\nd \"q\"");
    o.environment->erase("MIP_B");
    REQUIRE(only_item(test::preparer_for(o).prepare()).status == ItemStatus::done);
    auto work = tmp / "prepared" / "pkg-1-any-none-any.work";
    CHECK(test::read_file(work / "script_env.json") ==
          "{\n  \"MIP_A\": \"a b=c\\nd \\\"q\\\"\"\n}\n");
    auto lock = detail::parse_lock(test::read_file(work / "mip.lock.yaml"), "lock");
    CHECK(lock["script_env"] == Json{{"MIP_A", "a b=c\nd \"q\""}});
    CHECK(lock["recipe"]["script_env"] == Json::array({"MIP_A"}));

    SECTION("credential names are refused") {
        write_file(
            recipes / "pkg" / "prepare.yaml",
            "name: pkg\nversion: '1'\nscript_env: [GITHUB_TOKEN]\nprepare:\n  path: {path: src}\n");
        o.force = true;
        auto item = only_item(test::preparer_for(o).prepare());
        CHECK(item.error_code == ErrorCode::invalid_spec);
        CHECK(item.detail.find("GITHUB_TOKEN") != std::string::npos);
    }
    SECTION("non-UTF-8 values are refused without showing the value") {
        o.environment->insert_or_assign("MIP_A", std::string("bad\xff"
                                                             "secret"));
        o.force = true;
        auto item = only_item(test::preparer_for(o).prepare());
        CHECK(item.error_code == ErrorCode::invalid_spec);
        CHECK(item.detail.find("MIP_A") != std::string::npos);
        CHECK(item.detail.find("secret") == std::string::npos);
    }
}

TEST_CASE("the lock renders text verbatim with CRLF and parses back", "[stages][lock]") {
    for (std::string text :
         {std::string("name: x\nversion: '1'\n"), std::string("a: 1\r\nb: 2\r\n"),
          std::string("  indented first\n\ttab\n\n\nlast"), std::string("x: \"é\"\n\n")}) {
        Json doc = {{"lock_version", 1},
                    {"original_recipe", {{"path", "prepare.yaml"}, {"text", text}}}};
        auto rendered = detail::render_lock(doc, "0.1.0");
        auto back = detail::parse_lock(rendered, "lock");
        INFO(rendered);
        CHECK(back["original_recipe"]["text"].get<std::string>() == text);
        CHECK(detail::render_lock(back, "0.1.0") == rendered);
    }
    CHECK(detail::to_yaml(
              Json{{"a", "1.0"}, {"b", 2}, {"c", nullptr}, {"d", "true"}, {"e", Json::array()}}) ==
          "a: \"1.0\"\nb: 2\nc: null\nd: \"true\"\ne: []\n");
    CHECK(detail::to_yaml(Json{{"text", "l1\nl2\n"}}) == "text: |2\n  l1\n  l2\n");
}

TEST_CASE(
    "prepared twice in other places and times gives a byte-identical .mhl and upstream changes "
    "rebuild",
    "[stages][reproducible][git]") {
    TempDir tmp;
    Upstream up(tmp / "o" / "repo.git");
    up.commit({{"lib/fn.m", "function fn\nend\n"}});
    git_in(up.repo, "tag -a -m r v2.1", 1700100000);
    up.commit({{"lib/g.m", "function g\nend\n"}});
    auto make_recipes = [&](const fs::path& where) {
        git_recipe(where, "pkg", up.repo.string(), "script_env: [MIP_UNSET_HERE]\n");
        return where;
    };
    auto r1 = make_recipes(tmp / "a" / "recipes");
    auto r2 = make_recipes(tmp / "b" / "elsewhere" / "recipes");
    fs::last_write_time(r2 / "pkg" / "prepare.yaml",
                        fs::file_time_type::clock::now() - std::chrono::hours(100));
    LocalStore store(tmp / "store");
    auto o1 = options_for(tmp / "a", r1);
    o1.store = &store;
    auto o2 = options_for(tmp / "b", r2);
    o2.environment->insert_or_assign("TZ", "America/Los_Angeles");
    o2.environment->insert_or_assign("LC_ALL", "de_DE.UTF-8");
    auto i1 = only_item(test::preparer_for(o1).prepare());
    auto i2 = only_item(test::preparer_for(o2).prepare());
    INFO(i1.detail << " / " << i2.detail);
    REQUIRE(i1.status == ItemStatus::done);
    REQUIRE(i2.status == ItemStatus::done);
    auto b1 = Bundler().bundle(i1.path, tmp / "a" / "bundled");
    auto b2 = Bundler().bundle(i2.path, tmp / "b" / "bundled");
    CHECK(b1.wheel == b2.wheel);
    CHECK(test::read_file(b1.mhl_path) == test::read_file(b2.mhl_path));
    CHECK(test::read_file(work_of(i1.path) / "mip.lock.yaml") ==
          test::read_file(work_of(i2.path) / "mip.lock.yaml"));

    // Publish the sidecar; a rerun is a cache hit, an upstream commit is rebuilt (same
    // build_number).
    (void)store.put(
        {b1.wheel + ".mhl.mip.json", std::nullopt, test::read_file(b1.sidecar_path), {}});
    auto hit = only_item(test::preparer_for(o1).prepare());
    CHECK(hit.status == ItemStatus::skipped);
    up.commit({{"lib/h.m", "function h\nend\n"}});
    auto rebuilt = only_item(test::preparer_for(o1).prepare());
    CHECK(rebuilt.status == ItemStatus::done);
    CHECK(rebuilt.wheel != b1.wheel);  // the describe version moved too
}

TEST_CASE("from-lock survives a moving upstream branch and refuses edits",
          "[stages][from_lock][git]") {
    TempDir tmp;
    Upstream up(tmp / "up");
    up.commit({{"lib/fn.m", "function fn\nend\n"}});
    git_in(up.repo, "tag v1.0");
    auto cloned = up.commit({{"lib/g.m", "function g\nend\n"}});
    auto recipes = tmp / "recipes";
    git_recipe(recipes, "pkg", up.repo.string());
    auto o = options_for(tmp / "first", recipes);
    o.on_cloned =
        [&](const std::string&) {  // scenario 12: upstream main moves right after the clone
            up.commit({{"lib/late.m", "function late\nend\n"}});
        };
    auto first = only_item(test::preparer_for(o).prepare());
    INFO(first.detail);
    REQUIRE(first.status == ItemStatus::done);
    auto lock_path = work_of(first.path) / "mip.lock.yaml";
    auto lock = detail::parse_lock(test::read_file(lock_path), "lock");
    CHECK(lock["sources"][0]["commit"] == cloned);  // the cloned SHA, not the moved branch
    CHECK_FALSE(fs::exists(fs::path(first.path) / "g" / "lib" / "late.m"));
    auto mhl1 = Bundler().bundle(first.path, tmp / "first" / "bundled");

    auto lo = options_for(tmp / "again", recipes);
    lo.from_lock = lock_path;
    lo.recipe_dir = recipes / "pkg";
    auto again = only_item(test::preparer_for(lo).prepare());
    INFO(again.detail);
    REQUIRE(again.status == ItemStatus::done);
    auto mhl2 = Bundler().bundle(again.path, tmp / "again" / "bundled");
    CHECK(test::read_file(mhl1.mhl_path) == test::read_file(mhl2.mhl_path));
    CHECK(test::read_file(work_of(again.path) / "mip.lock.yaml") == test::read_file(lock_path));

    auto fresh = options_for(tmp / "fresh", recipes);
    auto moved = only_item(test::preparer_for(fresh).prepare());
    CHECK(moved.wheel != first.wheel);  // a fresh prepare sees the moved branch

    SECTION("an edited recipe → LockMismatch") {
        write_file(recipes / "pkg" / "prepare.yaml",
                   test::read_file(recipes / "pkg" / "prepare.yaml") + "# edit\n");
        lo.output_dir = tmp / "edited";
        auto bad = only_item(test::preparer_for(lo).prepare());
        CHECK(bad.status == ItemStatus::failed);
        CHECK(bad.error_code == ErrorCode::lock_mismatch);
        CHECK(bad.detail.find("recipe_input_files.prepare.yaml") != std::string::npos);
        CHECK_FALSE(fs::exists(tmp / "edited" / (first.wheel + ".dir")));
    }
}

TEST_CASE("from-lock refuses a tampered archive", "[stages][from_lock][zip]") {
    TempDir tmp;
    write_file(tmp / "payload" / "top" / "z.m", "function z\nend\n");
    REQUIRE(std::system(
                ("cd '" + (tmp / "payload").string() + "' && zip -qrX ../src.zip top").c_str()) ==
            0);
    auto recipes = tmp / "recipes";
    write_file(recipes / "zp" / "prepare.yaml",
               "name: zp\nversion: '1'\nprepare:\n  download_zip:\n    url: file://" +
                   (tmp / "src.zip").string() + "\naddpaths: [top]\n");
    auto o = options_for(tmp / "first", recipes);
    auto first = only_item(test::preparer_for(o).prepare());
    INFO(first.detail);
    REQUIRE(first.status == ItemStatus::done);
    auto lock_path = work_of(first.path) / "mip.lock.yaml";
    auto lock = detail::parse_lock(test::read_file(lock_path), "lock");
    CHECK(lock["sources"][0]["sha256"] == detail::sha256_file_hex(tmp / "src.zip"));
    CHECK(lock["recipe"]["prepare"]["download_zip"]["sha256"] ==
          detail::sha256_file_hex(tmp / "src.zip"));
    write_file(tmp / "payload" / "top" / "z.m", "function z\n  % tampered\nend\n");
    fs::remove(tmp / "src.zip");
    REQUIRE(std::system(
                ("cd '" + (tmp / "payload").string() + "' && zip -qrX ../src.zip top").c_str()) ==
            0);
    auto lo = options_for(tmp / "again", recipes);
    lo.from_lock = lock_path;
    lo.recipe_dir = recipes / "zp";
    auto bad = only_item(test::preparer_for(lo).prepare());
    CHECK(bad.status == ItemStatus::failed);
    CHECK(bad.error_code == ErrorCode::lock_mismatch);
}
