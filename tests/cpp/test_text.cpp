// detail/text: the one implementation of each small text rule (case, trim, split, identifiers,
// hex, UTF-8), tested on the edge cases every former copy disagreed on.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mip/error.hpp>

#include "detail/text.hpp"

using mip::detail::IdentifierRule;
using V = std::vector<std::string>;

TEST_CASE("ascii_lower lowers ASCII letters and leaves every other byte alone", "[text]") {
    CHECK(mip::detail::ascii_lower("MixedCase-123_X") == "mixedcase-123_x");
    CHECK(mip::detail::ascii_lower("") == "");
    // UTF-8 "ÄÖ" (C3 84 C3 96) must come back byte for byte: no locale-dependent tolower.
    CHECK(mip::detail::ascii_lower("\xC3\x84\xC3\x96Z") == "\xC3\x84\xC3\x96z");
    CHECK(mip::detail::ascii_lower(std::string("A\0B", 3)) == std::string("a\0b", 3));
}

TEST_CASE("trim removes ASCII white space at both ends only", "[text]") {
    CHECK(mip::detail::trim("  R2024a \t\r\n") == "R2024a");
    CHECK(mip::detail::trim("a b") == "a b");
    CHECK(mip::detail::trim(" \t\n\v\f\r") == "");
    CHECK(mip::detail::trim("") == "");
    CHECK(mip::detail::trim("\xC2\xA0x") == "\xC2\xA0x");  // U+00A0 is not ASCII white space
}

TEST_CASE("split keeps empty pieces", "[text]") {
    CHECK(mip::detail::split("a/b/c", '/') == V{"a", "b", "c"});
    CHECK(mip::detail::split("a//b", '/') == V{"a", "", "b"});
    CHECK(mip::detail::split("/a/", '/') == V{"", "a", ""});
    CHECK(mip::detail::split("", '/') == V{""});
    CHECK(mip::detail::split("x\ty", '\t') == V{"x", "y"});
}

TEST_CASE("identifier rules differ only in the first character", "[text]") {
    using mip::detail::is_identifier;
    SECTION("matlab: a letter first") {
        CHECK(is_identifier("compile", IdentifierRule::matlab));
        CHECK(is_identifier("x1_y", IdentifierRule::matlab));
        CHECK_FALSE(is_identifier("_private", IdentifierRule::matlab));
        CHECK_FALSE(is_identifier("1x", IdentifierRule::matlab));
    }
    SECTION("c: a letter or underscore first") {
        CHECK(is_identifier("_private", IdentifierRule::c));
        CHECK(is_identifier("MY_VAR2", IdentifierRule::c));
        CHECK(is_identifier("_", IdentifierRule::c));
        CHECK_FALSE(is_identifier("2x", IdentifierRule::c));
    }
    SECTION("both refuse empty, punctuation and non-ASCII names") {
        for (auto rule : {IdentifierRule::matlab, IdentifierRule::c}) {
            CHECK_FALSE(is_identifier("", rule));
            CHECK_FALSE(is_identifier("a-b", rule));
            CHECK_FALSE(is_identifier("a.b", rule));
            CHECK_FALSE(is_identifier("a b", rule));
            CHECK_FALSE(is_identifier("\xC3\xA9t\xC3\xA9", rule));  // "été"
        }
    }
}

TEST_CASE("hex encoding is lower case and decoding accepts either case", "[text]") {
    CHECK(mip::detail::hex_encode(std::string("\x00\x0f\xa5\xff", 4)) == "000fa5ff");
    CHECK(mip::detail::hex_encode("") == "");
    CHECK(mip::detail::hex_decode("000fA5Ff") == std::string("\x00\x0f\xa5\xff", 4));
    CHECK(mip::detail::hex_decode("") == std::string());
    CHECK_FALSE(mip::detail::hex_decode("abc"));  // odd length
    CHECK_FALSE(mip::detail::hex_decode("zz"));
    CHECK_FALSE(mip::detail::hex_decode("0g"));
    const std::string all = [] {
        std::string s;
        for (int i = 0; i < 256; ++i) {
            s.push_back(static_cast<char>(i));
        }
        return s;
    }();
    CHECK(mip::detail::hex_decode(mip::detail::hex_encode(all)) == all);
    CHECK(mip::detail::hex_digit_value('7') == 7);
    CHECK(mip::detail::hex_digit_value('c') == 12);
    CHECK(mip::detail::hex_digit_value('C') == 12);
    CHECK(mip::detail::hex_digit_value('g') == -1);
    CHECK(mip::detail::hex_digit_value('%') == -1);
}

TEST_CASE("is_lower_hex checks length and digits", "[text]") {
    const std::string sha(64, 'a');
    CHECK(mip::detail::is_lower_hex(sha, 64));
    CHECK(mip::detail::is_lower_hex("0123456789abcdef0123456789abcdef", 32));
    CHECK_FALSE(mip::detail::is_lower_hex(sha, 32));
    CHECK_FALSE(mip::detail::is_lower_hex(std::string(64, 'A'), 64));
    CHECK_FALSE(mip::detail::is_lower_hex(std::string(63, 'a') + "g", 64));
    CHECK(mip::detail::is_lower_hex("", 0));
}

TEST_CASE("is_valid_utf8 accepts well-formed UTF-8 and nothing else", "[text]") {
    using mip::detail::is_valid_utf8;
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("\xC3\xA9"));                    // é
    CHECK(is_valid_utf8("\xE2\x82\xAC"));                // €
    CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));            // U+1F600
    CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));            // U+10FFFF, the last code point
    CHECK_FALSE(is_valid_utf8("\x80"));                  // stray continuation byte
    CHECK_FALSE(is_valid_utf8("\xC3"));                  // truncated
    CHECK_FALSE(is_valid_utf8("\xE2\x82"));              // truncated
    CHECK_FALSE(is_valid_utf8("\xC3\x28"));              // bad continuation
    CHECK_FALSE(is_valid_utf8("\xC0\x80"));              // overlong NUL
    CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));          // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xF0\x82\x82\xAC"));      // overlong €
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));          // surrogate U+D800
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));      // U+110000
    CHECK_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
    CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("escape_invalid_utf8 writes stray bytes as \\xNN and keeps the rest", "[text]") {
    using mip::detail::escape_invalid_utf8;
    using mip::detail::invalid_utf8_offset;
    CHECK(escape_invalid_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(escape_invalid_utf8("caf\xE9") == "caf\\xe9");
    CHECK(escape_invalid_utf8("\xED\xA0\x80 ok \xFF") == "\\xed\\xa0\\x80 ok \\xff");
    CHECK(escape_invalid_utf8("\xE2\x82") == "\\xe2\\x82");  // truncated sequence
    CHECK(invalid_utf8_offset("caf\xE9") == 3);
    CHECK(invalid_utf8_offset("caf\xC3\xA9") == std::string_view::npos);
}

TEST_CASE("messages are valid UTF-8 whatever bytes they quote", "[text]") {
    const mip::SpecError e("d\xFF/prepare.yaml", {{"name\xFE", "'caf\xE9' is wrong"}});
    CHECK(std::string(e.what()) == "d\\xff/prepare.yaml: field 'name\\xfe' 'caf\\xe9' is wrong");
    CHECK(e.issues()[0].message == "'caf\\xe9' is wrong");
    CHECK(mip::detail::is_valid_utf8(mip::IoError("cannot open", "/tmp/\x80x").what()));
}
