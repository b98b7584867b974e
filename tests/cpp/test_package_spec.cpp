#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mip/package_spec.hpp>

using mip::Issue;
using mip::PackageSpec;
using mip::SpecError;
using mip::WheelName;

namespace {

PackageSpec valid_spec() {
    PackageSpec s;
    s.name = "chebfun";
    s.version = "5.7.0";
    s.description = "Numerical computing with functions";
    s.dependencies = {"gptoolbox"};
    s.homepage = "https://www.chebfun.org";
    s.repository = "https://github.com/chebfun/chebfun";
    s.license = "BSD-3-Clause";
    return s;
}

/// The issue for `field`, or an empty Issue.
Issue issue_for(const std::vector<Issue>& issues, const std::string& field) {
    for (const auto& i : issues) {
        if (i.field == field) {
            return i;
        }
    }
    return {};
}

}  // namespace

TEST_CASE("a valid spec has no issues", "[package_spec]") {
    CHECK(valid_spec().validate().empty());
}

TEST_CASE("validation names the field and the problem for each bad input", "[package_spec]") {
    struct Case {
        const char* what;
        void (*mutate)(PackageSpec&);
        const char* field;
        const char* message;
    };
    const std::vector<Case> cases = {
        {"empty name", [](PackageSpec& s) { s.name = ""; }, "name", "must not be empty"},
        {"slash in name", [](PackageSpec& s) { s.name = "a/b"; }, "name",
         "must not contain a path separator ('/' or '\\')"},
        {"backslash in name", [](PackageSpec& s) { s.name = "a\\b"; }, "name",
         "must not contain a path separator ('/' or '\\')"},
        {"dot-dot in name", [](PackageSpec& s) { s.name = "a..b"; }, "name",
         "must not contain '..'"},
        {"space in name", [](PackageSpec& s) { s.name = "my pkg"; }, "name",
         "must not contain whitespace"},
        {"tab in name", [](PackageSpec& s) { s.name = "my\tpkg"; }, "name",
         "must not contain control characters"},
        {"newline in name", [](PackageSpec& s) { s.name = "pkg\n"; }, "name",
         "must not contain control characters"},
        {"leading dash", [](PackageSpec& s) { s.name = "-pkg"; }, "name",
         "must start with a letter or digit"},
        {"trailing dash", [](PackageSpec& s) { s.name = "pkg-"; }, "name", "must not end with '-'"},
        {"dot in name", [](PackageSpec& s) { s.name = "pkg.x"; }, "name",
         "must contain only letters, digits, '_' and '-' (found '.')"},
        {"long name", [](PackageSpec& s) { s.name = std::string(101, 'a'); }, "name",
         "is longer than 100 bytes"},
        {"empty version", [](PackageSpec& s) { s.version = ""; }, "version", "must not be empty"},
        {"dash in version", [](PackageSpec& s) { s.version = "1.0-rc1"; }, "version",
         "must not contain '-' (it separates the parts of a wheel name)"},
        {"v-prefix punctuation", [](PackageSpec& s) { s.version = "_1.0"; }, "version",
         "must start with a letter or digit"},
        {"plus in version", [](PackageSpec& s) { s.version = "1.0+local"; }, "version",
         "must contain only letters, digits, '.' and '_' (found '+')"},
        {"long version", [](PackageSpec& s) { s.version = std::string(65, '1'); }, "version",
         "is longer than 64 bytes"},
        {"dash in platform tag", [](PackageSpec& s) { s.platform_tag = "linux-x86_64"; },
         "platform_tag", "must not contain '-' (it separates the parts of a wheel name)"},
        {"empty abi tag", [](PackageSpec& s) { s.abi_tag = ""; }, "abi_tag", "must not be empty"},
        {"slash in matlab tag", [](PackageSpec& s) { s.matlab_tag = "R2023b/x"; }, "matlab_tag",
         "must not contain a path separator ('/' or '\\')"},
        {"negative build number", [](PackageSpec& s) { s.build_number = -1; }, "build_number",
         "must be >= 0"},
        {"version constraint", [](PackageSpec& s) { s.dependencies = {"chebfun>=5"}; },
         "dependencies[0]", "'chebfun>=5': version constraints are not supported (names only)"},
        {"bad dependency name",
         [](PackageSpec& s) {
             s.dependencies = {"ok", "../evil"};
         },
         "dependencies[1]", "'../evil' must not contain a path separator ('/' or '\\')"},
        {"duplicate dependency",
         [](PackageSpec& s) {
             s.dependencies = {"Foo-Bar", "foo_bar"};
         },
         "dependencies[1]", "'foo_bar' is listed twice"},
        {"self dependency", [](PackageSpec& s) { s.dependencies = {"chebfun"}; }, "dependencies[0]",
         "a package cannot depend on itself"},
        {"ftp homepage", [](PackageSpec& s) { s.homepage = "ftp://example.org"; }, "homepage",
         "must be an http(s) URL or empty"},
        {"repository with space", [](PackageSpec& s) { s.repository = "https://github.com/a b"; },
         "repository", "must not contain whitespace or control characters"},
        {"empty license", [](PackageSpec& s) { s.license = ""; }, "license",
         "must not be empty (use \"unspecified\")"},
        {"multi-line description", [](PackageSpec& s) { s.description = "a\nb"; }, "description",
         "must be one line"},
        {"http mhl_url", [](PackageSpec& s) { s.mhl_url = "http://example.org/x.mhl"; }, "mhl_url",
         "must use https:// (plain http is refused)"},
        {"relative mhl_url", [](PackageSpec& s) { s.mhl_url = "x.mhl"; }, "mhl_url",
         "must be an https:// or file:// URL"},
        {"short sha256", [](PackageSpec& s) { s.mhl_sha256 = "abc"; }, "mhl_sha256",
         "must be 64 lowercase hex digits"},
        {"upper-case sha256", [](PackageSpec& s) { s.mhl_sha256 = std::string(64, 'A'); },
         "mhl_sha256", "must be 64 lowercase hex digits"},
        {"compile script in a folder", [](PackageSpec& s) { s.compile_script = "src/compile.m"; },
         "compile_script", "'src/compile.m' must be a file name at the package root"},
        {"compile script not .m", [](PackageSpec& s) { s.compile_script = "build.sh"; },
         "compile_script", "'build.sh' must be a .m file"},
        {"local timestamp", [](PackageSpec& s) { s.timestamp = "2024-01-01 10:00:00"; },
         "timestamp", "'2024-01-01 10:00:00' is not UTC YYYY-MM-DDTHH:MM:SSZ"},
        {"negative duration", [](PackageSpec& s) { s.prepare_duration = -1; }, "prepare_duration",
         "must be a non-negative number"},
        {"empty symbol",
         [](PackageSpec& s) {
             s.exposed_symbols = {"ok", ""};
         },
         "exposed_symbols[1]", "must not be empty"},
    };
    REQUIRE(cases.size() >= 20);
    for (const auto& c : cases) {
        INFO(c.what);
        auto spec = valid_spec();
        c.mutate(spec);
        auto issues = spec.validate();
        auto issue = issue_for(issues, c.field);
        CHECK(issue.field == c.field);
        CHECK(issue.message == c.message);
    }
}

TEST_CASE("validation reports every problem at once", "[package_spec]") {
    auto spec = valid_spec();
    spec.name = "a b";
    spec.version = "1-2";
    spec.platform_tag = "";
    spec.build_number = -3;
    auto issues = spec.validate();
    CHECK(issues.size() == 4);
    CHECK_THROWS_WITH(
        PackageSpec::from_json(
            R"({"name":"a b","version":"1-2","platform_tag":"","build_number":-3})", "x/mip.json"),
        Catch::Contains("field 'name'") && Catch::Contains("field 'version'") &&
            Catch::Contains("field 'platform_tag'") && Catch::Contains("field 'build_number'") &&
            Catch::Contains("x/mip.json"));
}

TEST_CASE("wheel names round-trip, hyphenated names included", "[package_spec][wheel]") {
    auto w = GENERATE(values<std::string>(
        {"chebfun-5.7.0-any-none-any", "gui-layout-toolbox-2.3.6-any-none-any",
         "FLAM-0.1-R2023b-mip1-linux_x86_64", "a-b-c-d-1.0_2_gabc-any-none-macos_arm64",
         "x-unspecified-any-none-any"}));
    auto parsed = WheelName::parse(w);
    CHECK(parsed.str() == w);
    for (const char* suffix : {".dir", ".work", ".mhl", ".mhl.mip.json"}) {
        CHECK(WheelName::parse(w + suffix) == parsed);
    }
}

TEST_CASE("wheel names split from the right", "[package_spec][wheel]") {
    auto w = WheelName::parse("gui-layout-toolbox-2.3.6-R2023b-mip1-linux_x86_64.mhl");
    CHECK(w.name == "gui-layout-toolbox");
    CHECK(w.version == "2.3.6");
    CHECK(w.matlab_tag == "R2023b");
    CHECK(w.abi_tag == "mip1");
    CHECK(w.platform_tag == "linux_x86_64");
}

TEST_CASE("malformed wheel names are refused with the input named", "[package_spec][wheel]") {
    for (const char* bad : {"chebfun", "chebfun-1.0-any-none", "-1.0-any-none-any",
                            "a b-1.0-any-none-any", "pkg-1.0--none-any", "../x-1.0-any-none-any"}) {
        INFO(bad);
        CHECK_THROWS_AS(WheelName::parse(bad), SpecError);
        CHECK_THROWS_WITH(WheelName::parse(bad), Catch::Contains(std::string("'") + bad + "'"));
    }
}

TEST_CASE("names normalise for comparison", "[package_spec]") {
    CHECK(mip::normalize_package_name("Gui-Layout_Toolbox") == "gui_layout_toolbox");
}

TEST_CASE("mip.json round-trips with unknown fields preserved in order", "[package_spec][json]") {
    const std::string text = R"({
  "name": "chebfun",
  "description": "Numerical computing — with functions",
  "version": "5.7.0",
  "build_number": 2.0,
  "dependencies": ["gptoolbox"],
  "zzz_custom": {"nested": [1, 2, {"a": null}]},
  "homepage": "https://www.chebfun.org",
  "exposed_symbols": ["chebfun", "Chebfun", "chebfun"],
  "aaa_flag": true,
  "source": {"type": "git", "url": "https://github.com/chebfun/chebfun", "ref": null, "commit": "0123456789012345678901234567890123456789", "sha256": null},
  "build_info": {"source_date_epoch": 1700000000, "recipe_sha256": "ab"}
})";
    auto spec = PackageSpec::from_json(text);
    CHECK(spec.build_number == 2);
    CHECK(spec.description == "Numerical computing — with functions");
    REQUIRE(spec.extra_fields.size() == 2);
    CHECK(spec.extra_fields[0].first == "zzz_custom");
    CHECK(spec.extra_fields[0].second == R"({"nested":[1,2,{"a":null}]})");
    CHECK(spec.extra_fields[1].first == "aaa_flag");
    auto out = spec.to_json();
    // Known keys in table order, unknown keys after them in read order; UTF-8 unescaped.
    CHECK(out.find("\"name\"") < out.find("\"description\""));
    CHECK(out.find("\"build_info\"") < out.find("\"zzz_custom\""));
    CHECK(out.find("\"zzz_custom\"") < out.find("\"aaa_flag\""));
    CHECK(out.find("—") != std::string::npos);
    CHECK(out.back() == '\n');
    CHECK(out.find("\n  \"name\": \"chebfun\",\n") != std::string::npos);
    // exposed_symbols are written sorted and unique.
    CHECK(out.find("\"exposed_symbols\": [\n    \"Chebfun\",\n    \"chebfun\"\n  ]") !=
          std::string::npos);
    auto again = PackageSpec::from_json(out);
    CHECK(again.to_json() == out);
    CHECK(again.extra_fields == spec.extra_fields);
}

TEST_CASE("mip.json type errors name each field", "[package_spec][json]") {
    try {
        (void)PackageSpec::from_json(
            R"({"name": 3, "dependencies": "x", "build_number": 1.5, "usage_examples": [1], "source": 7})",
            "pkg/mip.json");
        FAIL("expected SpecError");
    } catch (const SpecError& e) {
        std::vector<std::string> fields;
        for (const auto& i : e.issues()) {
            fields.push_back(i.field);
        }
        CHECK(fields == std::vector<std::string>{"name", "build_number", "dependencies",
                                                 "usage_examples[0]", "source"});
        CHECK(e.subject() == "pkg/mip.json");
    }
    CHECK_THROWS_WITH(PackageSpec::from_json("{\"name\": ", "broken.json"),
                      Catch::Contains("broken.json") && Catch::Contains("not valid JSON"));
    CHECK_THROWS_WITH(PackageSpec::from_json("[1]", "list.json"),
                      Catch::Contains("must be a JSON object"));
    CHECK_THROWS_WITH(PackageSpec::from_json("{}", "empty.json"),
                      Catch::Contains("field 'name' is required"));
}

TEST_CASE("cache comparison treats missing, null, empty string and empty list alike",
          "[package_spec][cache]") {
    auto local = PackageSpec::from_json(
        R"({"name": "p", "version": "1.0", "usage_examples": [], "homepage": ""})");
    // The reference rebuilt packages whose sidecar lacked usage_examples: must compare equal.
    auto published = PackageSpec::from_json(
        R"({"name": "p", "version": "1.0", "homepage": null, "source": null})");
    CHECK(mip::compare_cached_fields(local, published).equal);

    SECTION("a changed cached field is named") {
        published.description = "changed";
        auto cmp = mip::compare_cached_fields(local, published);
        CHECK_FALSE(cmp.equal);
        CHECK(cmp.first_difference == "description");
    }
    SECTION("volatile fields are not compared") {
        published.timestamp = "2020-01-01T00:00:00Z";
        published.prepare_duration = 12.5;
        published.exposed_symbols = {"x"};
        published.mhl_url = "https://example.org/p.mhl";
        CHECK(mip::compare_cached_fields(local, published).equal);
    }
    SECTION("a source change is seen without a build_number bump") {
        local.source_json = R"({"type":"git","url":"u","commit":"aaaa"})";
        published.source_json = R"({"type":"git","url":"u","commit":"bbbb","sha256":null})";
        CHECK(mip::compare_cached_fields(local, published).first_difference == "source");
        published.source_json =
            R"({"type":"git","url":"u","commit":"aaaa","sha256":null,"extra":{}})";
        CHECK(mip::compare_cached_fields(local, published).equal);
    }
    SECTION("recipe hash counts, other build info does not") {
        local.build_info =
            mip::BuildInfo::from_json(R"({"recipe_sha256":"aa","builder":"libmip 0.1.0"})");
        published.build_info = mip::BuildInfo::from_json(
            R"({"recipe_sha256":"aa","builder":"libmip 9.9.9","ci":"github_actions"})");
        CHECK(mip::compare_cached_fields(local, published).equal);
        published.build_info = mip::BuildInfo::from_json(R"({"recipe_sha256":"bb"})");
        CHECK(mip::compare_cached_fields(local, published).first_difference ==
              "build_info.recipe_sha256");
    }
    SECTION("numbers compare by value") {
        local.build_number = 3;
        published =
            PackageSpec::from_json(R"({"name": "p", "version": "1.0", "build_number": 3.0})");
        CHECK(mip::compare_cached_fields(local, published).equal);
    }
}

TEST_CASE("a number too large for JSON parsing is a SpecError, not a crash",
          "[package_spec][json]") {
    // Found by fuzz_package_spec: nlohmann throws out_of_range (406) for the overflow.
    CHECK_THROWS_AS(PackageSpec::from_json(R"({"name": "x", "build_number": 17000000001e4649})"),
                    SpecError);
    CHECK_THROWS_WITH(
        PackageSpec::from_json(R"({"name": "x", "build_number": 1e99999})", "big.json"),
        Catch::Contains("big.json") && Catch::Contains("not valid JSON"));
}

TEST_CASE("tags ending in a wheel-name file suffix are refused (they would not parse back)",
          "[package_spec][wheel]") {
    // Found by fuzz_wheel_name: "…-2.3.6.mhl.mip.json" printed back and lost its tag's tail.
    for (const char* tag : {"x.dir", "x.work", "x.mhl", "x.mhl.mip.json"}) {
        INFO(tag);
        CHECK(mip::check_tag(tag).find("must not end in") == 0);
    }
    CHECK_THROWS_AS(WheelName::parse("gui-layou-lt-toolbox-2.3.6.mhl.mip.json.mhl"), SpecError);
}
