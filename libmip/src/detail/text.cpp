#include "detail/text.hpp"

#include <algorithm>
#include <cstdint>

namespace mip::detail {

namespace {

bool is_ascii_letter(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_ascii_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_ascii_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_ascii_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const auto end = text.find(separator, start);
        parts.emplace_back(text.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) {
            return parts;
        }
        start = end + 1;
    }
}

bool is_identifier(std::string_view text, IdentifierRule rule) {
    if (text.empty()) {
        return false;
    }
    const char first = text.front();
    if (!is_ascii_letter(first) && !(rule == IdentifierRule::c && first == '_')) {
        return false;
    }
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return is_ascii_letter(c) || is_ascii_digit(c) || c == '_'; });
}

std::string hex_encode(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(digits[c >> 4U]);
        out.push_back(digits[c & 0x0FU]);
    }
    return out;
}

int hex_digit_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::optional<std::string> hex_decode(std::string_view hex) {
    if (hex.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_digit_value(hex[i]);
        const int lo = hex_digit_value(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
}

bool is_lower_hex(std::string_view text, std::size_t length) noexcept {
    return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
               return is_ascii_digit(c) || (c >= 'a' && c <= 'f');
           });
}

namespace {

/// Length of the well-formed UTF-8 sequence starting at `text[i]`, 0 if there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept {
    static constexpr std::uint32_t min_for[] = {0, 0x80, 0x800, 0x10000};
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
        return 1;
    }
    std::size_t n = 0;  // continuation bytes
    std::uint32_t cp = 0;
    if ((c & 0xE0U) == 0xC0U) {
        n = 1;
        cp = c & 0x1FU;
    } else if ((c & 0xF0U) == 0xE0U) {
        n = 2;
        cp = c & 0x0FU;
    } else if ((c & 0xF8U) == 0xF0U) {
        n = 3;
        cp = c & 0x07U;
    } else {
        return 0;
    }
    if (text.size() - i - 1 < n) {
        return 0;
    }
    for (std::size_t k = 1; k <= n; ++k) {
        const auto cc = static_cast<unsigned char>(text[i + k]);
        if ((cc & 0xC0U) != 0x80U) {
            return 0;
        }
        cp = (cp << 6U) | static_cast<std::uint32_t>(cc & 0x3FU);
    }
    if (cp < min_for[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n + 1;
}

}  // namespace

std::size_t invalid_utf8_offset(std::string_view text) noexcept {
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t n = utf8_sequence_length(text, i);
        if (n == 0) {
            return i;
        }
        i += n;
    }
    return std::string_view::npos;
}

bool is_valid_utf8(std::string_view text) noexcept {
    return invalid_utf8_offset(text) == std::string_view::npos;
}

std::string escape_invalid_utf8(std::string_view text) {
    std::size_t i = invalid_utf8_offset(text);
    if (i == std::string_view::npos) {
        return std::string(text);
    }
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(text.substr(0, i));
    while (i < text.size()) {
        const std::size_t n = utf8_sequence_length(text, i);
        if (n == 0) {
            const auto c = static_cast<unsigned char>(text[i]);
            out += "\\x";
            out += digits[c >> 4U];
            out += digits[c & 0xFU];
            ++i;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

}  // namespace mip::detail
