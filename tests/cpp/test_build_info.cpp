// BuildInfo: mip.json's build_info parsed once, typed where libmip reads it, and written back
// byte for byte (key order, unknown keys and values kept).

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mip/build_info.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>

using mip::BuildInfo;
using V = std::vector<std::string>;

TEST_CASE("a default BuildInfo is absent, {} is present and empty", "[build_info]") {
    BuildInfo none;
    CHECK(none.absent());
    CHECK(none.to_json().empty());
    CHECK(none.keys().empty());
    CHECK(BuildInfo::from_json("").absent());
    auto empty = BuildInfo::from_json("{}");
    CHECK_FALSE(empty.absent());
    CHECK(empty.to_json() == "{}");
    CHECK_FALSE(empty == none);
    CHECK(none == BuildInfo());
}

TEST_CASE("BuildInfo keeps every key, its order and its value", "[build_info]") {
    const std::string text =
        R"({"zeta":[1,{"b":2,"a":1}],"source_date_epoch":1700000000,"ci":null,)"
        R"("compile_engine":"octave 7.3.0","note":"\u00e9t\u00e9"})";
    auto info = BuildInfo::from_json(text);
    CHECK(info.keys() == V{"zeta", "source_date_epoch", "ci", "compile_engine", "note"});
    CHECK(info.to_json() == R"({"zeta":[1,{"b":2,"a":1}],"source_date_epoch":1700000000,"ci":null,)"
                            "\"compile_engine\":\"octave 7.3.0\",\"note\":\"\xC3\xA9t\xC3\xA9\"}");
    CHECK(BuildInfo::from_json(info.to_json()) == info);
    CHECK(info.contains("ci"));  // present, even though null
    CHECK_FALSE(info.contains("recipe_sha256"));
}

TEST_CASE("BuildInfo's typed fields take only their own type", "[build_info]") {
    auto info = BuildInfo::from_json(
        R"({"source_date_epoch":1700000000,"compile_engine":"matlab R2024a","recipe_sha256":"ab"})");
    CHECK(info.source_date_epoch() == 1700000000);
    CHECK(info.compile_engine() == std::string("matlab R2024a"));
    CHECK(info.recipe_sha256() == std::string("ab"));
    CHECK_FALSE(info.compiled_with_octave());

    auto odd = BuildInfo::from_json(
        R"({"source_date_epoch":"1700000000","compile_engine":null,"recipe_sha256":7})");
    CHECK_FALSE(odd.source_date_epoch());
    CHECK_FALSE(odd.compile_engine());
    CHECK_FALSE(odd.recipe_sha256());
    CHECK_FALSE(BuildInfo::from_json(R"({"source_date_epoch":1.5})").source_date_epoch());
    CHECK_FALSE(BuildInfo().source_date_epoch());

    CHECK(BuildInfo::from_json(R"({"compile_engine":"octave"})").compiled_with_octave());
    CHECK(BuildInfo::from_json(R"({"compile_engine":"octave 8.4.0"})").compiled_with_octave());
    CHECK_FALSE(BuildInfo::from_json(R"({"compile_engine":"matlab"})").compiled_with_octave());
}

TEST_CASE("BuildInfo refuses what is not a JSON object", "[build_info]") {
    CHECK_THROWS_AS(BuildInfo::from_json("[1,2]"), mip::SpecError);
    CHECK_THROWS_AS(BuildInfo::from_json("\"text\""), mip::SpecError);
    CHECK_THROWS_AS(BuildInfo::from_json("{\"a\":"), mip::SpecError);
    try {
        (void)BuildInfo::from_json("42");
        FAIL("no exception");
    } catch (const mip::SpecError& e) {
        CHECK(std::string(e.what()).find("build_info") != std::string::npos);
    }
}

TEST_CASE("a mip.json's build_info survives a PackageSpec round trip unchanged", "[build_info]") {
    const std::string mip_json = R"({
  "name": "demo",
  "version": "1.0.0",
  "build_info": {
    "unknown_first": {"x": [true, false]},
    "source_date_epoch": 1600000000,
    "compile_engine": "octave 7.3.0"
  }
})";
    auto spec = mip::PackageSpec::from_json(mip_json);
    CHECK(spec.build_info.source_date_epoch() == 1600000000);
    CHECK(spec.build_info.compiled_with_octave());
    CHECK(spec.build_info.to_json() ==
          R"({"unknown_first":{"x":[true,false]},"source_date_epoch":1600000000,)"
          R"("compile_engine":"octave 7.3.0"})");
    auto again = mip::PackageSpec::from_json(spec.to_json());
    CHECK(again == spec);
    CHECK(again.to_json() == spec.to_json());
    CHECK(spec.to_json().find("\"unknown_first\": {\n      \"x\": [\n        true,") !=
          std::string::npos);
}

TEST_CASE("copies of a BuildInfo are independent values", "[build_info]") {
    auto a = BuildInfo::from_json(R"({"k":1})");
    auto b = a;
    CHECK(a == b);
    b = BuildInfo::from_json(R"({"k":2})");
    CHECK_FALSE(a == b);
    CHECK(a.to_json() == R"({"k":1})");
}
