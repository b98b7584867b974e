// The channel page's text escaping and checks (channel_page_impl.hpp). Every string from the
// document goes through one of the escapes.

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

#include "channel_page_impl.hpp"
#include "detail/text.hpp"

namespace mip::detail::page {

namespace {

/// The bytes `append_visible` may change (with any of the escapes below); the rest are
/// appended in runs.
constexpr std::array<bool, 256> needs_care = [] {
    std::array<bool, 256> t{};
    for (unsigned c = 0; c < 0x20; ++c) {
        t[c] = c != '\t' && c != '\n';
    }
    for (unsigned c : {0x7FU, 0xC2U, 0xEFU}) {
        t[c] = true;
    }
    for (char c : {'&', '<', '>', '"', '\''}) {
        t[static_cast<unsigned char>(c)] = true;
    }
    return t;
}();

/// Appends `s` with control characters made visible: C0 controls (but tab and newline) and DEL
/// become their Unicode control pictures (U+2400 + c, U+2421), C1 controls and the
/// noncharacters U+FFFE/U+FFFF become U+FFFD. `escape` handles the other ASCII bytes.
template <typename Escape>
void append_visible(std::string& out, std::string_view s, Escape escape) {
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t run = i;
        while (i < s.size() && !needs_care[static_cast<unsigned char>(s[i])]) {
            ++i;
        }
        out.append(s.data() + run, i - run);
        if (i == s.size()) {
            break;
        }
        auto c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
            unsigned code = c == 0x7F ? 0x2421U : 0x2400U + c;
            out += static_cast<char>(0xE0U | (code >> 12));
            out += static_cast<char>(0x80U | ((code >> 6) & 0x3FU));
            out += static_cast<char>(0x80U | (code & 0x3FU));
        } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
                   (static_cast<unsigned char>(s[i + 2]) == 0xBE ||
                    static_cast<unsigned char>(s[i + 2]) == 0xBF)) {
            out += "\xEF\xBF\xBD";
            i += 2;
        } else if (!escape(out, static_cast<char>(c))) {
            out += static_cast<char>(c);
        }
        ++i;
    }
}

bool html_special(std::string& out, char c) {
    switch (c) {
        case '&':
            out += "&amp;";
            return true;
        case '<':
            out += "&lt;";
            return true;
        case '>':
            out += "&gt;";
            return true;
        case '"':
            out += "&quot;";
            return true;
        case '\'':
            out += "&#39;";
            return true;
        default:
            return false;
    }
}

bool xml_special(std::string& out, char c) {
    if (c == '\'') {
        out += "&apos;";
        return true;
    }
    return html_special(out, c);
}

}  // namespace

void append_html(std::string& out, std::string_view s) { append_visible(out, s, html_special); }

/// Text or attribute value for XML 1.0 (which forbids the control characters outright).
std::string xml_esc(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    append_visible(out, s, xml_special);
    return out;
}

/// Text for JSON strings of the feed: the same visible control pictures as the page.
std::string visible(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_visible(out, s, [](std::string&, char) { return false; });
    return out;
}

/// Only `https:` URLs become links; they may not hold whitespace or control characters.
bool is_https_url(std::string_view url) {
    if (url.size() <= 8 || detail::ascii_lower(url.substr(0, 8)) != "https://") {
        return false;
    }
    return std::none_of(url.begin(), url.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7F;
    });
}

bool is_token(std::string_view s) {
    return !s.empty() && s != "." && s != ".." && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

/// Whether `s` is `min` to `max` lower-case hex digits.
bool is_hex(std::string_view s, std::size_t min, std::size_t max) {
    return s.size() >= min && s.size() <= max && detail::is_lower_hex(s, s.size());
}

/// "YYYY-MM-DDTHH:MM:SSZ", optionally with a fraction of a second (RFC 3339, UTC).
bool is_timestamp(std::string_view t) {
    auto digits = [&](std::size_t from, std::size_t n) {
        return from + n <= t.size() &&
               std::all_of(t.begin() + static_cast<std::ptrdiff_t>(from),
                           t.begin() + static_cast<std::ptrdiff_t>(from + n),
                           [](char c) { return c >= '0' && c <= '9'; });
    };
    if (t.size() < 20 || !digits(0, 4) || t[4] != '-' || !digits(5, 2) || t[7] != '-' ||
        !digits(8, 2) || t[10] != 'T' || !digits(11, 2) || t[13] != ':' || !digits(14, 2) ||
        t[16] != ':' || !digits(17, 2) || t.back() != 'Z') {
        return false;
    }
    if (t.size() == 20) {
        return true;
    }
    return t[19] == '.' && t.size() > 21 && digits(20, t.size() - 21);
}

std::string percent_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
            u == '-' || u == '_' || u == '.' || u == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0xF];
        }
    }
    return out;
}

/// "1.2 MB" (SI units, one decimal, integer arithmetic: no locale, no rounding drift).
std::string human_size(std::uint64_t bytes) {
    if (bytes < 1000) {
        return std::to_string(bytes) + " B";
    }
    const char* units[] = {"kB", "MB", "GB", "TB"};
    std::uint64_t unit = 1000;
    std::size_t u = 0;
    while (u + 1 < std::size(units) && bytes >= unit * 1000) {
        unit *= 1000;
        ++u;
    }
    std::uint64_t tenths = (bytes * 10 + unit / 2) / unit;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " " + units[u];
}

}  // namespace mip::detail::page
