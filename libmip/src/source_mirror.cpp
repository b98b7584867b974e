// Source mirrors: prefix rewrites of the URLs recipes fetch from (source_mirror.hpp).
#include <mip/error.hpp>
#include <mip/source_mirror.hpp>

namespace mip {

namespace {

bool has_space(const std::string& text) {
    return text.find_first_of(" \t\r\n\v\f") != std::string::npos;
}

}  // namespace

SourceMirror SourceMirror::parse(const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size() || has_space(text)) {
        throw SpecError("source mirror '" + text + "'",
                        {{"source_mirror",
                          "must be FROM=TO with two non-empty URL prefixes and "
                          "no whitespace, e.g. "
                          "https://github.com/=file:///srv/mirror/github/"}});
    }
    return {text.substr(0, eq), text.substr(eq + 1)};
}

std::vector<SourceMirror> parse_source_mirrors(const std::string& text) {
    std::vector<SourceMirror> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto start = text.find_first_not_of(" \t\r\n\v\f", pos);
        if (start == std::string::npos) {
            break;
        }
        auto end = text.find_first_of(" \t\r\n\v\f", start);
        out.push_back(SourceMirror::parse(
            text.substr(start, end == std::string::npos ? std::string::npos : end - start)));
        pos = end == std::string::npos ? text.size() : end;
    }
    return out;
}

std::string format_source_mirrors(const std::vector<SourceMirror>& mirrors) {
    std::string out;
    for (const auto& m : mirrors) {
        out += (out.empty() ? "" : " ") + m.original + "=" + m.mirror;
    }
    return out;
}

std::optional<std::string> mirror_url(const std::string& url,
                                      const std::vector<SourceMirror>& mirrors) {
    const SourceMirror* best = nullptr;
    for (const auto& m : mirrors) {
        if (!m.original.empty() && url.rfind(m.original, 0) == 0 &&
            (best == nullptr || m.original.size() >= best->original.size())) {
            best = &m;
        }
    }
    if (best == nullptr) {
        return std::nullopt;
    }
    return best->mirror + url.substr(best->original.size());
}

}  // namespace mip
