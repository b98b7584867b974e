// detail/yaml_expansion: the alias-amplification guard counts what a reader would see (every alias
// as its whole value) at the cost of the document itself, and refuses an alias inside its own
// anchor (an infinite tree) at once.

#include <string>

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <mip/error.hpp>

#include "detail/yaml_expansion.hpp"

using mip::detail::check_yaml_expansion;
using mip::detail::YamlExpansionLimits;

namespace {

std::string refusal(const std::string& text, const YamlExpansionLimits& limits = {}) {
    try {
        check_yaml_expansion(YAML::Load(text), "pkg/prepare.yaml", limits);
    } catch (const mip::SpecError& e) {
        return e.what();
    }
    return "";
}

// Ten levels, each a list of ten aliases of the level below: 10^10 nodes once expanded.
std::string nested_laughs() {
    std::string text = "l0: &l0 [lol]\n";
    for (int i = 1; i <= 10; ++i) {
        text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
        for (int j = 0; j < 10; ++j) {
            text += (j != 0 ? ", *l" : "*l") + std::to_string(i - 1);
        }
        text += "]\n";
    }
    return text;
}

}  // namespace

TEST_CASE("an alias counts as its whole value, exactly", "[yaml_expansion]") {
    // root map 1 + keys a, b 2 + the list (1 + its two items) seen twice = 9 nodes.
    const std::string text = "a: &x [one, two]\nb: *x\n";
    CHECK(refusal(text, {.max_nodes = 9, .max_scalar_bytes = 100}).empty());
    CHECK_THAT(refusal(text, {.max_nodes = 8, .max_scalar_bytes = 100}),
               Catch::Contains("pkg/prepare.yaml") && Catch::Contains("more than 8 nodes"));
    // Text: "a" "b" + "onetwo" twice = 14 bytes.
    CHECK(refusal(text, {.max_nodes = 100, .max_scalar_bytes = 14}).empty());
    CHECK_THAT(refusal(text, {.max_nodes = 100, .max_scalar_bytes = 13}),
               Catch::Contains("MiB of text"));
}

TEST_CASE("nested aliases are refused without walking their expansion", "[yaml_expansion]") {
    // Walking 10^10 nodes would take hours; the memoized count answers from 111 distinct nodes.
    CHECK_THAT(refusal(nested_laughs()), Catch::Contains("more than 1000000 nodes"));
    CHECK(refusal("l0: &l0 [lol]\nl1: &l1 [*l0, *l0]\nl2: [*l1, *l1]\n").empty());
}

TEST_CASE("an alias inside its own anchor is an infinite tree", "[yaml_expansion]") {
    CHECK_THAT(refusal("name: &a [x, *a]\n"), Catch::Contains("infinite"));
    CHECK_THAT(refusal("m: &m {k: {deeper: [*m]}}\n"), Catch::Contains("infinite"));
}

TEST_CASE("documents without aliases pass whatever their shape", "[yaml_expansion]") {
    CHECK(refusal("name: pkg\nversion: \"1.0\"\nprepare: {path: {path: src}}\n").empty());
    CHECK(refusal("").empty());
    CHECK(refusal("[[[[[[[[[[x]]]]]]]]]]").empty());
}
