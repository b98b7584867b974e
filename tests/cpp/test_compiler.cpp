// Compiler: runs compile scripts with real GNU Octave (octave-cli); a stub `matlab` shell script
// only checks the MATLAB command line shape.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <mip/compiler.hpp>
#include <mip/error.hpp>

#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
#include "detail/process.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mip::detail::Json;

namespace {

const fs::path fastdot_recipe = mip::test::examples_dir() / "fastdot";

/// PATH of this process (where octave-cli lives); tests hand it to the engine explicitly.
std::string host_path() {
    auto env = mip::detail::process_environment();
    auto path = mip::detail::env_get(env, "PATH");
    return path.empty() ? "/usr/local/bin:/usr/bin:/bin" : path;
}

std::map<std::string, std::string> base_env(const fs::path& home) {
    return {{"PATH", host_path()}, {"HOME", home.string()}};
}

/// mip.json as the Preparer writes it (the §3 writer), with strings that a text-editing
/// writer would corrupt.
Json sample_mip_json(const std::string& name, const std::string& platform_tag) {
    Json j = Json::object();
    j["name"] = name;
    j["description"] = "Tricky, {braces} [brackets] \"quotes\"\nand a second line";
    j["version"] = "1.0.0";
    j["build_number"] = 0;
    j["dependencies"] = Json::array({"only_one"});
    j["homepage"] = "";
    j["repository"] = "";
    j["license"] = "MIT";
    j["matlab_tag"] = "any";
    j["abi_tag"] = "none";
    j["platform_tag"] = platform_tag;
    j["usage_examples"] = Json::array({"r = fastdot([1 2 3], [4 5 6]);\ndisp({r, [1,2]})"});
    j["exposed_symbols"] = Json::array({"fastdot"});
    j["compile_script"] = "compile.m";
    j["timestamp"] = "2024-01-02T03:04:05Z";
    j["prepare_duration"] = 1.25;
    j["compile_duration"] = 0;
    j["source"] = nullptr;
    j["build_info"] = Json::object({{"source_date_epoch", 1700000000},
                                    {"recipe_sha256", "ab,{}[]"},
                                    {"builder", "libmip 0.1.0"},
                                    {"compile_engine", nullptr}});
    j["zz_unknown"] = Json::object({{"b", 1}, {"a", Json::array({",", "{", "}"})}});
    return j;
}

std::string wheel_of(const Json& j) {
    return j.value("name", "") + "-" + j.value("version", "unspecified") + "-" +
           j.value("matlab_tag", "any") + "-" + j.value("abi_tag", "none") + "-" +
           j.value("platform_tag", "any");
}

/// A package without a compile script (pure MATLAB).
Json pure_mip_json(const std::string& name) {
    Json j = sample_mip_json(name, "any");
    j.erase("compile_script");
    return j;
}

/// Writes `<prepared>/<wheel>.dir` with mip.json, load/unload scripts and `files`; returns it.
fs::path make_dir(const fs::path& prepared,
                  const Json& mip_json,
                  const std::map<std::string, std::string>& files) {
    fs::path dir = prepared / (wheel_of(mip_json) + ".dir");
    fs::create_directories(dir);
    mip::test::write_file(dir / "mip.json", mip::detail::dump_pretty(mip_json));
    mip::test::write_file(dir / "load_package.m", "");
    mip::test::write_file(dir / "unload_package.m", "");
    for (const auto& [rel, text] : files) {
        mip::test::write_file(dir / rel, text);
    }
    return dir;
}

/// A prepared fastdot (from examples/packages/fastdot) as the Preparer lays it out.
fs::path make_fastdot(const fs::path& prepared, const std::string& name = "fastdot") {
    Json j = sample_mip_json(name, "linux_x86_64");
    fs::path dir = make_dir(prepared, j, {});
    fs::create_directories(dir / "fastdot");
    for (const char* file : {"fastdot.c", "fastdot.m"}) {
        fs::copy_file(fastdot_recipe / "src" / file, dir / "fastdot" / file);
    }
    fs::copy_file(fastdot_recipe / "compile.m", dir / "compile.m");
    mip::test::write_file(dir / "load_package.m",
                          "addpath(fullfile(fileparts(mfilename('fullpath')), 'fastdot'));\n");
    return dir;
}

fs::path work_of(const fs::path& dir) {
    std::string name = dir.filename().string();
    return dir.parent_path() / (name.substr(0, name.size() - 4) + ".work");
}

Json read_json(const fs::path& path) {
    return mip::detail::parse_json(mip::test::read_file(path), path.string());
}

std::vector<std::string> keys_of(const Json& j) {
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) {
        keys.push_back(it.key());
    }
    return keys;
}

/// Runs octave-cli in `cwd` and returns its output (fails the test on a non-zero exit).
std::string run_octave(const fs::path& cwd, const std::string& code, const fs::path& home) {
    mip::detail::ProcessOptions p;
    p.argv = {"octave-cli", "--norc", "--no-history", "--eval", code};
    p.cwd = cwd;
    p.env = base_env(home);
    p.timeout = std::chrono::seconds(300);
    auto r = mip::detail::run_process(p);
    INFO(r.output);
    REQUIRE(r.ok());
    return r.output;
}

const mip::ItemResult& item_named(const mip::StageReport& report, const std::string& package) {
    auto it = std::find_if(report.items.begin(), report.items.end(),
                           [&](const mip::ItemResult& i) { return i.package == package; });
    REQUIRE(it != report.items.end());
    return *it;
}

}  // namespace

TEST_CASE("compile builds fastdot with Octave and the result loads and computes", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    const fs::path dir = make_fastdot(prepared);
    // A stale prebuilt binary must not survive: the compile replaces it.
    mip::test::write_file(dir / "fastdot" / "fastdot.mex", "stale");
    const std::string before = mip::test::read_file(dir / "mip.json");

    mip::Compiler compiler(
        {.input_dir = prepared, .engine = "octave"},
        {.environment = base_env(tmp.path()), .progress_interval = std::chrono::milliseconds(0)});
    const mip::StageReport report = compiler.compile();

    REQUIRE(report.items.size() == 1);
    const auto& item = report.items[0];
    INFO(item.detail);
    REQUIRE(item.status == mip::ItemStatus::done);
    CHECK(item.package == "fastdot");
    CHECK(item.wheel == "fastdot-1.0.0-any-none-linux_x86_64");
    CHECK(item.path == fs::absolute(dir).lexically_normal().string());
    CHECK(report.stage == "compile");
    CHECK(report.ok());

    CHECK(mip::test::read_file(dir / "fastdot" / "fastdot.mex") != "stale");
    const std::string out = run_octave(dir,
                                       "load_package; r = fastdot([1 2 3], [4 5 6]); "
                                       "printf('result=%d\\n', r);",
                                       tmp.path());
    CHECK(out.find("result=32") != std::string::npos);

    // mip.json: only compile_duration and build_info.compile_engine changed; order kept.
    Json old_j = mip::detail::parse_json(before, "before");
    Json new_j = read_json(dir / "mip.json");
    CHECK(keys_of(new_j) == keys_of(old_j));
    CHECK(keys_of(new_j["build_info"]) == keys_of(old_j["build_info"]));
    const std::string engine = new_j["build_info"]["compile_engine"].get<std::string>();
    CHECK(engine.rfind("octave ", 0) == 0);
    CHECK(engine.size() > std::string("octave ").size());
    const double seconds = new_j["compile_duration"].get<double>();
    CHECK(seconds > 0);
    CHECK(seconds * 100 == Approx(std::round(seconds * 100)));
    new_j["compile_duration"] = 0;
    new_j["build_info"]["compile_engine"] = nullptr;
    CHECK(mip::detail::dump_pretty(new_j) == before);

    const std::string log = mip::test::read_file(work_of(dir) / "compile.log");
    CHECK(log.find("removed stale MEX binary: fastdot/fastdot.mex") != std::string::npos);
    CHECK(log.find("--eval") != std::string::npos);
    CHECK(log.find("\n# exit status 0 (") != std::string::npos);
    CHECK_FALSE(fs::exists(work_of(dir) / "compile.failed"));
}

TEST_CASE("a failing compile script fails its package and keeps the .dir", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    Json j = sample_mip_json("broken", "linux_x86_64");
    const fs::path dir = make_dir(prepared, j,
                                  {{"compile.m",
                                    "disp('starting the build');\n"
                                    "error('broken:build', 'no compiler for %s', "
                                    "'fastdot.c');\n"}});
    const std::string before = mip::test::read_file(dir / "mip.json");
    mip::CompileOptions options{.input_dir = prepared, .engine = "octave"};
    mip::RunOptions run{.environment = base_env(tmp.path())};

    const auto report = mip::Compiler(options, run).compile();
    REQUIRE(report.items.size() == 1);
    const auto& item = report.items[0];
    CHECK(item.status == mip::ItemStatus::failed);
    CHECK(item.error_code == mip::ErrorCode::build_failed);
    CHECK_FALSE(report.ok());
    CHECK(report.first_failure() == &report.items[0]);
    INFO(item.detail);
    CHECK(item.detail.rfind("broken: compile.m failed with octave", 0) == 0);
    CHECK(item.detail.find("exit status 1") != std::string::npos);
    CHECK(item.detail.find("no compiler for fastdot.c") != std::string::npos);
    CHECK(item.detail.find("starting the build") != std::string::npos);

    CHECK(fs::is_directory(dir));
    CHECK(mip::test::read_file(dir / "mip.json") == before);
    const fs::path failed = work_of(dir) / "compile.failed";
    REQUIRE(fs::exists(failed));
    CHECK(mip::test::read_file(failed).find("no compiler for fastdot.c") != std::string::npos);
    CHECK(mip::test::read_file(work_of(dir) / "compile.log").find("starting the build") !=
          std::string::npos);

    SECTION("a later successful compile removes the stale compile.failed") {
        mip::test::write_file(dir / "compile.m", "x = 1;\n");
        const auto again = mip::Compiler(options, run).compile();
        REQUIRE(again.items.size() == 1);
        CHECK(again.items[0].status == mip::ItemStatus::done);
        CHECK_FALSE(fs::exists(failed));
    }
}

namespace {

/// N in the first "timed out after N s" of `text`; -1 when there is none.
long timed_out_seconds(const std::string& text) {
    const std::string prefix = "timed out after ";
    const auto at = text.find(prefix);
    if (at == std::string::npos) {
        return -1;
    }
    std::size_t digits = 0;
    const long n = std::stol(text.substr(at + prefix.size()), &digits);
    return text.compare(at + prefix.size() + digits, 2, " s") == 0 ? n : -1;
}

}  // namespace

TEST_CASE("a hanging compile script is killed at the timeout", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    const fs::path dir = make_dir(prepared, sample_mip_json("hangs", "linux_x86_64"),
                                  {{"compile.m", "disp('hanging now'); while true\nend\n"}});
    const auto report =
        mip::Compiler({.input_dir = prepared, .engine = "octave", .compile_timeout = 2},
                      {.environment = base_env(tmp.path())})
            .compile();
    REQUIRE(report.items.size() == 1);
    const auto& item = report.items[0];
    INFO(item.detail);
    CHECK(item.status == mip::ItemStatus::failed);
    CHECK(item.error_code == mip::ErrorCode::build_failed);
    // The text gives the seconds the engine ran until it was killed: at least the timeout, more
    // on a loaded machine.
    CHECK(timed_out_seconds(item.detail) >= 2);
    CHECK(fs::exists(work_of(dir) / "compile.failed"));
    // Whatever Octave printed before the kill stays in the log, but on a loaded machine Octave
    // may not have started within 2 s, so what it printed is not asserted (the failing-script
    // test checks that output is kept); the log always ends with the timeout.
    const std::string log = mip::test::read_file(work_of(dir) / "compile.log");
    const std::string last_line = log.substr(log.rfind('\n', log.size() - 2) + 1);
    CHECK(last_line.rfind("# timed out after ", 0) == 0);
    CHECK(timed_out_seconds(last_line) >= 2);
}

TEST_CASE("the compile environment is exactly pass-through plus fixed plus script_env values",
          "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    const fs::path dir = make_dir(
        prepared, sample_mip_json("envdump", "linux_x86_64"),
        {{"compile.m",
          "fid = fopen('/proc/self/environ', 'r'); data = fread(fid, Inf, 'uint8=>char')';\n"
          "fclose(fid); fid = fopen('environ.bin', 'w'); fwrite(fid, data); fclose(fid);\n"}});
    fs::create_directories(work_of(dir));
    mip::test::write_file(work_of(dir) / "script_env.json",
                          "{\n  \"GREETING\": \"a b=c\\nd 'q' \\\"dq\\\"\",\n"
                          "  \"USER\": \"from-script-env\",\n  \"TZ\": \"Europe/Paris\",\n"
                          "  \"EMPTY\": \"\"\n}\n");
    auto env = base_env(tmp.path());
    env["USER"] = "someone";
    env["LOGNAME"] = "someone";
    env["MLM_LICENSE_FILE"] = "27000@licence";
    env["AWS_SECRET_ACCESS_KEY"] = "must-not-leak";
    env["LD_PRELOAD"] = "";
    env["TZ"] = "America/New_York";
    env["MY_EXTRA"] = "extra value";
    env["NOT_LISTED"] = "invisible";

    const auto report =
        mip::Compiler({.input_dir = prepared, .engine = "octave"},
                      {.environment = env, .pass_env = {"MY_EXTRA", "TOOLCHAIN_ARCH"}})
            .compile();
    REQUIRE(report.items.size() == 1);
    INFO(report.items[0].detail);
    REQUIRE(report.items[0].status == mip::ItemStatus::done);

    std::map<std::string, std::string> seen;
    const std::string data = mip::test::read_file(dir / "environ.bin");
    std::size_t pos = 0;
    while (pos < data.size()) {
        auto end = data.find('\0', pos);
        std::string entry = data.substr(pos, end - pos);
        auto eq = entry.find('=');
        seen[entry.substr(0, eq)] = entry.substr(eq + 1);
        pos = end == std::string::npos ? data.size() : end + 1;
    }
    const std::map<std::string, std::string> expected = {
        {"PATH", host_path()},
        {"HOME", tmp.path().string()},
        {"USER", "from-script-env"},
        {"LOGNAME", "someone"},
        {"MLM_LICENSE_FILE", "27000@licence"},
        {"MY_EXTRA", "extra value"},
        {"TZ", "UTC"},
        {"SOURCE_DATE_EPOCH", "1700000000"},
        {"TOOLCHAIN_ARCH", "linux_x86_64"},
        {"GREETING", "a b=c\nd 'q' \"dq\""},
        {"EMPTY", ""},
    };
    CHECK(seen == expected);
}

TEST_CASE("stale MEX binaries are removed before compiling unless kept", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    Json j = sample_mip_json("stale", "linux_x86_64");
    j["keep_prebuilt"] = Json::array({"vendor", "lib/keep.mexa64"});
    const fs::path dir = make_dir(prepared, j,
                                  {{"compile.m", "disp('nothing to build');\n"},
                                   {"a/x.mexa64", "1"},
                                   {"a/b/Y.MEXW64", "2"},
                                   {"w.oct", "3"},
                                   {"m.mex", "4"},
                                   {"old.mexmaci64", "5"},
                                   {"lib/keep.mexa64", "6"},
                                   {"lib/drop.mexa64", "7"},
                                   {"vendor/deep/v.mexglx", "8"},
                                   {"lib/libfoo.so", "9"},
                                   {"notes.mexa64.txt", "10"}});
    const auto report = mip::Compiler({.input_dir = prepared, .engine = "octave"},
                                      {.environment = base_env(tmp.path())})
                            .compile();
    REQUIRE(report.items.size() == 1);
    REQUIRE(report.items[0].status == mip::ItemStatus::done);
    for (const char* gone :
         {"a/x.mexa64", "a/b/Y.MEXW64", "w.oct", "m.mex", "old.mexmaci64", "lib/drop.mexa64"}) {
        INFO(gone);
        CHECK_FALSE(fs::exists(dir / gone));
    }
    for (const char* kept : {"lib/keep.mexa64", "vendor/deep/v.mexglx", "lib/libfoo.so",
                             "notes.mexa64.txt", "compile.m"}) {
        INFO(kept);
        CHECK(fs::exists(dir / kept));
    }
    const std::string log = mip::test::read_file(work_of(dir) / "compile.log");
    CHECK(log.find("# removed stale MEX binary: a/b/Y.MEXW64\n"
                   "# removed stale MEX binary: a/x.mexa64\n"
                   "# removed stale MEX binary: lib/drop.mexa64\n"
                   "# removed stale MEX binary: m.mex\n"
                   "# removed stale MEX binary: old.mexmaci64\n"
                   "# removed stale MEX binary: w.oct\n") != std::string::npos);
    CHECK(log.find("nothing to build") != std::string::npos);
}

TEST_CASE("compile stops at the first failure unless keep_going", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    make_dir(prepared, sample_mip_json("aaa", "any"), {{"compile.m", "error('aaa fails');\n"}});
    make_dir(prepared, sample_mip_json("bbb", "any"), {{"compile.m", "x = 2;\n"}});
    make_dir(prepared, sample_mip_json("ccc", "any"), {{"compile.m", "x = 3;\n"}});
    // Without a compile script there is nothing to compile: not an item.
    make_dir(prepared, pure_mip_json("pure"), {{"pure.m", "function pure\nend\n"}});
    mip::CompileOptions options{.input_dir = prepared, .engine = "octave"};
    mip::RunOptions run{.environment = base_env(tmp.path())};

    SECTION("default: the rest is not run") {
        const auto report = mip::Compiler(options, run).compile();
        REQUIRE(report.items.size() == 3);
        CHECK(report.items[0].package == "aaa");
        CHECK(report.items[0].status == mip::ItemStatus::failed);
        CHECK(report.items[0].detail.find("aaa fails") != std::string::npos);
        for (std::size_t i : {1U, 2U}) {
            CHECK(report.items[i].status == mip::ItemStatus::skipped);
            CHECK(report.items[i].detail == "not run: an earlier package failed");
        }
        CHECK(report.items[1].package == "bbb");
        CHECK(report.items[2].package == "ccc");
    }
    SECTION("keep_going reports every package") {
        run.keep_going = true;
        run.jobs = GENERATE(1U, 2U);
        const auto report = mip::Compiler(options, run).compile();
        REQUIRE(report.items.size() == 3);
        CHECK(item_named(report, "aaa").status == mip::ItemStatus::failed);
        CHECK(item_named(report, "bbb").status == mip::ItemStatus::done);
        CHECK(item_named(report, "ccc").status == mip::ItemStatus::done);
        CHECK(report.count(mip::ItemStatus::failed) == 1);
    }
}

TEST_CASE("compile with jobs 2 runs engines at the same time", "[compiler]") {
    // Each script announces itself, then waits until the other one has announced: this only
    // finishes when both engines run at once (sequentially, the first one times out).
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    const fs::path meet = tmp.path() / "meet";
    fs::create_directories(meet);
    auto script = [&](const std::string& me, const std::string& other) {
        return "here = fileparts(mfilename('fullpath'));\n"
               "fclose(fopen(fullfile(getenv('MEET_DIR'), '" +
               me +
               "'), 'w'));\n"
               "while ~exist(fullfile(getenv('MEET_DIR'), '" +
               other +
               "'), 'file')\n"
               "  pause(0.05);\nend\n"
               "cd(fullfile(here, 'fastdot')); mex fastdot.c\n";
    };
    for (const auto& [me, other] :
         std::vector<std::pair<std::string, std::string>>{{"left", "right"}, {"right", "left"}}) {
        const fs::path dir = make_fastdot(prepared, "fd_" + me);
        mip::test::write_file(dir / "compile.m", script(me, other));
        fs::create_directories(work_of(dir));
        Json env = Json::object({{"MEET_DIR", meet.string()}});
        mip::test::write_file(work_of(dir) / "script_env.json", mip::detail::dump_pretty(env));
    }
    const auto report =
        mip::Compiler({.input_dir = prepared, .engine = "octave", .compile_timeout = 120},
                      {.jobs = 2, .environment = base_env(tmp.path())})
            .compile();
    REQUIRE(report.items.size() == 2);
    for (const auto& item : report.items) {
        INFO(item.detail);
        CHECK(item.status == mip::ItemStatus::done);
        CHECK(fs::exists(fs::path(item.path) / "fastdot" / "fastdot.mex"));
    }
}

TEST_CASE("compile progress events come on the calling thread", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    make_dir(prepared, sample_mip_json("p1", "any"), {{"compile.m", "x = 1;\n"}});
    make_dir(prepared, sample_mip_json("p2", "any"), {{"compile.m", "x = 2;\n"}});
    std::vector<mip::ProgressEvent> events;
    bool other_thread = false;
    const auto caller = std::this_thread::get_id();
    const auto report =
        mip::Compiler({.input_dir = prepared, .engine = "octave"},
                      {.jobs = 2,
                       .environment = base_env(tmp.path()),
                       .progress =
                           [&](const mip::ProgressEvent& e) {
                               other_thread = other_thread || std::this_thread::get_id() != caller;
                               events.push_back(e);
                           },
                       .progress_interval = std::chrono::milliseconds(0)})
            .compile();
    REQUIRE(report.ok());
    CHECK_FALSE(other_thread);
    REQUIRE(events.size() >= 2);
    CHECK(events.front().phase == mip::ProgressPhase::started);
    CHECK(events.front().done == 0);
    CHECK(events.back().phase == mip::ProgressPhase::finished);
    CHECK(events.back().done == 2);
    for (const auto& e : events) {
        CHECK(e.stage == "compile");
        CHECK(e.total == 2);
    }
}

TEST_CASE("compile dry run plans without running or touching anything", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    const fs::path dir = make_fastdot(prepared);
    mip::test::write_file(dir / "fastdot" / "fastdot.mexa64", "stale");
    const std::string before = mip::test::read_file(dir / "mip.json");
    auto env = base_env(tmp.path());
    SECTION("with an engine") {
        const auto report = mip::Compiler({.input_dir = prepared, .engine = "octave"},
                                          {.dry_run = true, .environment = env})
                                .compile();
        REQUIRE(report.items.size() == 1);
        CHECK(report.dry_run);
        CHECK(report.items[0].status == mip::ItemStatus::planned);
        INFO(report.items[0].detail);
        CHECK(report.items[0].detail.find("octave-cli --norc --no-history --eval") !=
              std::string::npos);
    }
    SECTION("without any engine on PATH") {
        env["PATH"] = (tmp.path() / "empty").string();
        const auto report =
            mip::Compiler({.input_dir = prepared}, {.dry_run = true, .environment = env}).compile();
        REQUIRE(report.items.size() == 1);
        CHECK(report.items[0].status == mip::ItemStatus::planned);
    }
    CHECK(mip::test::read_file(dir / "mip.json") == before);
    CHECK(fs::exists(dir / "fastdot" / "fastdot.mexa64"));
    CHECK_FALSE(fs::exists(dir / "fastdot" / "fastdot.mex"));
    CHECK_FALSE(fs::exists(work_of(dir) / "compile.log"));
}

TEST_CASE("a missing compile engine is a SpecError naming what was searched", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    const fs::path empty = tmp.path() / "bin-empty";
    fs::create_directories(empty);
    fs::create_directories(prepared);
    auto env = base_env(tmp.path());
    env["PATH"] = empty.string() + ":" + (tmp.path() / "nowhere").string();

    SECTION("nothing to compile: no engine needed") {
        make_dir(prepared, pure_mip_json("pure"), {});
        const auto report = mip::Compiler({.input_dir = prepared}, {.environment = env}).compile();
        CHECK(report.items.empty());
    }
    SECTION("auto") {
        make_dir(prepared, sample_mip_json("needs", "any"), {{"compile.m", "x = 1;\n"}});
        try {
            (void)mip::Compiler({.input_dir = prepared}, {.environment = env}).compile();
            FAIL("no SpecError");
        } catch (const mip::SpecError& e) {
            const std::string what = e.what();
            INFO(what);
            CHECK(what.find("matlab") != std::string::npos);
            CHECK(what.find("octave-cli") != std::string::npos);
            CHECK(what.find(empty.string()) != std::string::npos);
            CHECK(what.find((tmp.path() / "nowhere").string()) != std::string::npos);
            CHECK(e.code() == mip::ErrorCode::invalid_spec);
        }
    }
    SECTION("octave only") {
        make_dir(prepared, sample_mip_json("needs", "any"), {{"compile.m", "x = 1;\n"}});
        REQUIRE_THROWS_AS(
            mip::Compiler({.input_dir = prepared, .engine = "octave"}, {.environment = env})
                .compile(),
            mip::SpecError);
    }
    SECTION("a path that is not an engine") {
        REQUIRE_THROWS_WITH(mip::find_compile_engine("/bin/true", env),
                            Catch::Contains("MATLAB or GNU Octave"));
        REQUIRE_THROWS_WITH(mip::find_compile_engine((empty / "octave-cli").string(), env),
                            Catch::Contains("not an executable file"));
    }
}

TEST_CASE("compile prefers MATLAB when found and runs it with -batch", "[compiler]") {
    // A stub `matlab` (shell script) in a fake installation with VersionInfo.xml; the .dir path
    // holds a quote, which the cd('...') statement must double.
    mip::test::TempDir tmp;
    const fs::path root = tmp.path() / "MATLAB" / "R2099z";
    fs::create_directories(root / "bin");
    mip::test::write_file(
        root / "bin" / "matlab",
        "#!/bin/sh\nprintf '%s\\n' \"$#\" \"$@\" > stub_argv.txt\npwd > stub_cwd.txt\n", true);
    mip::test::write_file(root / "VersionInfo.xml",
                          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<MathWorks_version_info>\n  <version>99.2.0.1</version>\n"
                          "  <release>R2099z</release>\n</MathWorks_version_info>\n");
    const fs::path prepared = tmp.path() / "it's prepared";
    const fs::path dir = make_dir(prepared, sample_mip_json("stubbed", "linux_x86_64"),
                                  {{"build_it.m", "% compiled by the stub\n"}});
    {
        Json j = read_json(dir / "mip.json");
        j["compile_script"] = "build_it.m";
        mip::test::write_file(dir / "mip.json", mip::detail::dump_pretty(j));
    }
    auto env = base_env(tmp.path());
    env["PATH"] = (root / "bin").string() + ":" + host_path();

    SECTION("auto finds matlab first") {
        const auto engine = mip::find_compile_engine("auto", env);
        CHECK(engine.kind == mip::EngineKind::matlab);
        CHECK(engine.version == "R2099z");
        CHECK(engine.description() == "matlab R2099z");

        const auto report = mip::Compiler({.input_dir = prepared}, {.environment = env}).compile();
        REQUIRE(report.items.size() == 1);
        INFO(report.items[0].detail);
        REQUIRE(report.items[0].status == mip::ItemStatus::done);
        const fs::path abs_dir = fs::absolute(dir).lexically_normal();
        CHECK(mip::test::read_file(dir / "stub_argv.txt") ==
              "2\n-batch\ncd('" + (prepared.parent_path() / "it''s prepared").string() + "/" +
                  dir.filename().string() + "'); build_it\n");
        CHECK(mip::test::read_file(dir / "stub_cwd.txt") == abs_dir.string() + "\n");
        CHECK(read_json(dir / "mip.json")["build_info"]["compile_engine"] == "matlab R2099z");
    }
    SECTION("engine octave ignores matlab") {
        const auto engine = mip::find_compile_engine("octave", env);
        CHECK(engine.kind == mip::EngineKind::octave);
        CHECK(engine.executable.filename() == "octave-cli");
    }
    SECTION("an explicit path decides the kind by its name") {
        const auto engine = mip::find_compile_engine((root / "bin" / "matlab").string(), env);
        CHECK(engine.kind == mip::EngineKind::matlab);
        CHECK(engine.executable == root / "bin" / "matlab");
        CHECK(engine.command("/x/it's", "compile") ==
              std::vector<std::string>{engine.executable.string(), "-batch",
                                       "cd('/x/it''s'); compile"});
    }
    SECTION("without matlab on PATH, auto falls back to octave-cli") {
        env["PATH"] = host_path();
        const auto engine = mip::find_compile_engine("auto", env);
        CHECK(engine.kind == mip::EngineKind::octave);
        CHECK(engine.command("/d", "compile") ==
              std::vector<std::string>{engine.executable.string(), "--norc", "--no-history",
                                       "--eval", "cd('/d'); compile"});
    }
}

TEST_CASE("packages and shard select what is compiled", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    for (const char* name : {"Pkg-A", "pkg_b", "pkg_c"}) {
        make_dir(prepared, sample_mip_json(name, "any"), {{"compile.m", "x = 1;\n"}});
    }
    mip::CompileOptions options{.input_dir = prepared, .engine = "octave"};
    mip::RunOptions run{.dry_run = true, .environment = base_env(tmp.path())};
    SECTION("names compare as clients compare them") {
        run.package = {"pkg_a", "PKG-B", "absent"};
        const auto report = mip::Compiler(options, run).compile();
        REQUIRE(report.items.size() == 2);
        CHECK(report.items[0].package == "Pkg-A");
        CHECK(report.items[1].package == "pkg_b");
    }
    SECTION("shards partition the candidates") {
        std::vector<std::string> seen;
        for (unsigned k = 1; k <= 2; ++k) {
            run.shard = mip::Shard{k, 2};
            for (const auto& item : mip::Compiler(options, run).compile().items) {
                seen.push_back(item.package);
            }
        }
        std::sort(seen.begin(), seen.end());
        CHECK(seen == std::vector<std::string>{"Pkg-A", "pkg_b", "pkg_c"});
    }
}

TEST_CASE("unusable metadata fails the package without running its compile script", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    mip::CompileOptions options{.input_dir = prepared, .engine = "octave"};
    mip::RunOptions run{.keep_going = true, .environment = base_env(tmp.path())};
    SECTION("mip.json that is not JSON") {
        const fs::path dir = prepared / "bad-1.0-any-none-any.dir";
        fs::create_directories(dir);
        mip::test::write_file(dir / "mip.json", "{\"name\": ");
        mip::test::write_file(dir / "compile.m", "x = 1;\n");
        const auto report = mip::Compiler(options, run).compile();
        REQUIRE(report.items.size() == 1);
        CHECK(report.items[0].status == mip::ItemStatus::failed);
        CHECK(report.items[0].error_code == mip::ErrorCode::invalid_spec);
        CHECK(report.items[0].package == "bad");
        CHECK(fs::exists(prepared / "bad-1.0-any-none-any.work" / "compile.failed"));
    }
    SECTION("mip.json naming another wheel") {
        Json j = sample_mip_json("other", "any");
        make_dir(prepared, j, {{"compile.m", "x = 1;\n"}});
        fs::rename(prepared / (wheel_of(j) + ".dir"), prepared / "renamed-1.0.0-any-none-any.dir");
        const auto report = mip::Compiler(options, run).compile();
        REQUIRE(report.items.size() == 1);
        CHECK(report.items[0].status == mip::ItemStatus::failed);
        CHECK(report.items[0].detail.find("other-1.0.0-any-none-any") != std::string::npos);
    }
    SECTION("a declared compile_script that is missing") {
        Json j = sample_mip_json("noscript", "any");
        j["compile_script"] = "build_mex.m";
        make_dir(prepared, j, {{"compile.m", "x = 1;\n"}});
        const auto report = mip::Compiler(options, run).compile();
        REQUIRE(report.items.size() == 1);
        CHECK(report.items[0].status == mip::ItemStatus::failed);
        CHECK(report.items[0].detail.find("build_mex.m") != std::string::npos);
    }
    SECTION("script_env.json that is not an object of strings") {
        const fs::path dir =
            make_dir(prepared, sample_mip_json("badenv", "any"), {{"compile.m", "x = 1;\n"}});
        fs::create_directories(work_of(dir));
        mip::test::write_file(work_of(dir) / "script_env.json", "{\"N\": 3}\n");
        const auto report = mip::Compiler(options, run).compile();
        REQUIRE(report.items.size() == 1);
        CHECK(report.items[0].status == mip::ItemStatus::failed);
        CHECK(report.items[0].error_code == mip::ErrorCode::invalid_spec);
    }
    SECTION("a missing prepared directory means nothing to compile, as for bundle") {
        options.input_dir = tmp.path() / "absent";
        CHECK(mip::Compiler(options, run).compile().items.empty());
    }
}

TEST_CASE("compile fields are added in table order when absent", "[compiler]") {
    mip::test::TempDir tmp;
    const fs::path prepared = tmp.path() / "prepared";
    Json j = Json::object();
    j["name"] = "minimal";
    j["version"] = "2";
    j["prepare_duration"] = 0.5;
    j["source"] = nullptr;
    j["extra"] = "kept";
    const fs::path dir = make_dir(prepared, j, {{"compile.m", "x = 1;\n"}});
    const auto report = mip::Compiler({.input_dir = prepared, .engine = "octave"},
                                      {.environment = base_env(tmp.path())})
                            .compile();
    REQUIRE(report.items.size() == 1);
    REQUIRE(report.items[0].status == mip::ItemStatus::done);
    const Json after = read_json(dir / "mip.json");
    CHECK(keys_of(after) == std::vector<std::string>{"name", "version", "prepare_duration",
                                                     "compile_duration", "source", "build_info",
                                                     "extra"});
    CHECK(keys_of(after["build_info"]) == std::vector<std::string>{"compile_engine"});
}
