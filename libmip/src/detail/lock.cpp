#include "detail/lock.hpp"

#include <algorithm>
#include <cstdio>

#include <yaml-cpp/yaml.h>

#include <mip/error.hpp>

#include "detail/yaml_expansion.hpp"

namespace mip::detail {

namespace {

bool lower_equals_any(const std::string& s, std::initializer_list<const char*> words) {
    std::string lower = s;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return std::any_of(words.begin(), words.end(), [&](const char* w) { return lower == w; });
}

/// Plain scalars are limited to names that no YAML reader can take for anything but a string.
bool plain_safe(const std::string& s) {
    if (s.empty()) {
        return false;
    }
    auto first = s[0];
    if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z') || first == '_' ||
          first == '/')) {
        return false;
    }
    for (char c : s) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '/' || c == '-' || c == '+';
        if (!ok) {
            return false;
        }
    }
    return !lower_equals_any(
        s, {"true", "false", "null", "yes", "no", "on", "off", "y", "n", ".inf", ".nan"});
}

std::string double_quoted(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(c));
                    out += buf;
                } else {
                    out += ch;
                }
        }
    }
    return out + "\"";
}

/// Literal blocks hold only printable characters, TAB and LF (and valid UTF-8 above ASCII).
bool literal_ok(const std::string& s) {
    if (s.find('\n') == std::string::npos) {
        return false;
    }
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && ch != '\t' && ch != '\n') || c == 0x7f) {
            return false;
        }
    }
    // Lines made only of blanks would confuse indentation detection of some readers.
    std::size_t start = 0;
    while (start < s.size()) {
        auto end = s.find('\n', start);
        auto line = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!line.empty() && line.find_first_not_of(" \t") == std::string::npos) {
            return false;
        }
        if (!line.empty() && line[0] == '\t') {
            return false;
        }
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return true;
}

std::string scalar(const Json& v) {
    if (v.is_null()) {
        return "null";
    }
    if (v.is_boolean()) {
        return v.get<bool>() ? "true" : "false";
    }
    if (v.is_number_integer() || v.is_number_unsigned()) {
        return v.dump();
    }
    if (v.is_number()) {
        return double_quoted(v.dump());
    }
    return yaml_quote(v.get<std::string>());
}

std::string spaces(std::size_t n) { return std::string(n, ' '); }

void emit_block(const Json& v, std::size_t indent, std::string& out);

/// Writes the value of a `key:` whose key sits at `indent`.
void emit_after_key(const Json& v, std::size_t indent, std::string& out) {
    if ((v.is_object() || v.is_array()) && !v.empty()) {
        out += "\n";
        emit_block(v, indent + 2, out);
    } else if (v.is_object()) {
        out += " {}\n";
    } else if (v.is_array()) {
        out += " []\n";
    } else if (v.is_string() && literal_ok(v.get<std::string>())) {
        const auto& s = v.get_ref<const std::string&>();
        std::size_t trailing = 0;
        while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') {
            ++trailing;
        }
        out += trailing == 0 ? " |2-\n" : (trailing == 1 ? " |2\n" : " |2+\n");
        std::size_t start = 0;
        auto body = s.substr(0, s.size() - trailing);
        while (true) {
            auto end = body.find('\n', start);
            auto line =
                body.substr(start, end == std::string::npos ? std::string::npos : end - start);
            out += line.empty() ? "\n" : spaces(indent + 2) + line + "\n";
            if (end == std::string::npos) {
                break;
            }
            start = end + 1;
        }
        for (std::size_t i = 1; i < trailing; ++i) {
            out += "\n";
        }
    } else {
        out += " " + scalar(v) + "\n";
    }
}

void emit_block(const Json& v, std::size_t indent, std::string& out) {
    if (v.is_object()) {
        for (auto it = v.begin(); it != v.end(); ++it) {
            out += spaces(indent) + yaml_quote(it.key()) + ":";
            emit_after_key(it.value(), indent, out);
        }
    } else if (v.is_array()) {
        for (const auto& item : v) {
            if ((item.is_object() || item.is_array()) && !item.empty()) {
                std::string nested;
                emit_block(item, indent + 2, nested);
                nested.replace(indent, 2, "- ");
                out += nested;
            } else if (item.is_object()) {
                out += spaces(indent) + "- {}\n";
            } else if (item.is_array()) {
                out += spaces(indent) + "- []\n";
            } else {
                out += spaces(indent) + "- " + scalar(item) + "\n";
            }
        }
    } else {
        out += spaces(indent) + scalar(v) + "\n";
    }
}

Json from_node(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
        case YAML::NodeType::Sequence: {
            Json a = Json::array();
            for (const auto& item : n) {
                a.push_back(from_node(item));
            }
            return a;
        }
        case YAML::NodeType::Map: {
            Json o = Json::object();
            for (const auto& kv : n) {
                o[kv.first.Scalar()] = from_node(kv.second);
            }
            return o;
        }
        case YAML::NodeType::Scalar:
            break;
    }
    const auto& s = n.Scalar();
    if (n.Tag() == "!") {  // quoted or block scalar
        return s;
    }
    if (s == "null" || s == "~") {
        return nullptr;
    }
    if (s == "true" || s == "false") {
        return s == "true";
    }
    bool integer = !s.empty() && s.size() < 19 &&
                   std::all_of(s.begin() + (s[0] == '-' ? 1 : 0), s.end(),
                               [](char c) { return c >= '0' && c <= '9'; }) &&
                   s != "-";
    if (integer) {
        return std::stoll(s);
    }
    return s;
}

}  // namespace

std::string yaml_quote(const std::string& text) {
    return plain_safe(text) ? text : double_quoted(text);
}

std::string lock_header(const std::string& mip_build_version) {
    return "# Rendered by mip-build " + mip_build_version +
           "; do not edit.\n"
           "# Re-prepare: mip-build prepare --from-lock mip.lock.yaml <recipe-dir>\n"
           "# The original recipe is under original_recipe.text.\n";
}

std::string to_yaml(const Json& value) {
    std::string out;
    emit_block(value, 0, out);
    return out;
}

std::string render_lock(const Json& doc, const std::string& mip_build_version) {
    return lock_header(mip_build_version) + to_yaml(doc);
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the text, then where it came from
Json parse_lock(const std::string& text, const std::string& origin) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw SpecError(origin, {{"", std::string("is not valid YAML: ") + e.what()}});
    }
    if (!root.IsMap()) {
        throw SpecError(origin, {{"", "must be a mapping"}});
    }
    check_yaml_expansion(root, origin);  // from_node() copies every alias
    return from_node(root);
}

}  // namespace mip::detail
