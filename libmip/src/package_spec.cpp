#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <type_traits>

#include <mip/package_spec.hpp>

#include "detail/build_info_access.hpp"
#include "detail/convert.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
#include "detail/text.hpp"

namespace mip {

using detail::Json;

namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

/// A character for an error message: 'x' when printable ASCII, else \xNN (never half a UTF-8
/// sequence, so messages stay valid UTF-8).
std::string shown_char(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
        return std::string("'") + c + "'";
    }
    return "'\\x" + detail::hex_encode(std::string_view(&c, 1)) + "' (non-ASCII)";
}

/// Problems common to every wheel-name part; "" when none.
// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the text, then what it is
std::string common_part_problem(std::string_view s, std::string_view what) {
    if (s.empty()) {
        return "must not be empty";
    }
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) {
            return "must not contain control characters";
        }
    }
    if (s.find('/') != std::string_view::npos || s.find('\\') != std::string_view::npos) {
        return "must not contain a path separator ('/' or '\\')";
    }
    if (s.find("..") != std::string_view::npos) {
        return "must not contain '..'";
    }
    if (std::any_of(s.begin(), s.end(),
                    [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; })) {
        return "must not contain whitespace";
    }
    (void)what;
    return {};
}

std::string token_problem(std::string_view s, std::string_view what, std::size_t max_len) {
    auto common = common_part_problem(s, what);
    if (!common.empty()) {
        return common;
    }
    if (s.find('-') != std::string_view::npos) {
        return "must not contain '-' (it separates the parts of a wheel name)";
    }
    if (s.size() > max_len) {
        return "is longer than " + std::to_string(max_len) + " bytes";
    }
    if (!is_alnum(s.front())) {
        return "must start with a letter or digit";
    }
    for (std::string_view suffix : {".dir", ".work", ".mhl", ".mhl.mip.json"}) {
        if (s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix) {
            return "must not end in '" + std::string(suffix) + "' (a wheel-name file suffix)";
        }
    }
    for (char c : s) {
        if (!is_alnum(c) && c != '.' && c != '_') {
            return "must contain only letters, digits, '.' and '_' (found " + shown_char(c) + ")";
        }
    }
    return {};
}

bool valid_timestamp(const std::string& t) {
    // YYYY-MM-DDTHH:MM:SS[.fraction]Z
    if (t.size() < 20 || t.back() != 'Z') {
        return false;
    }
    static const std::string shape = "dddd-dd-ddTdd:dd:dd";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(t[i])) == 0
                            : t[i] != shape[i]) {
            return false;
        }
    }
    if (t.size() == 20) {
        return true;
    }
    if (t[19] != '.' || t.size() < 22) {
        return false;
    }
    return std::all_of(t.begin() + 20, t.end() - 1,
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

std::string url_problem(const std::string& url, bool allow_file) {
    if (url.empty()) {
        return {};
    }
    if (url.rfind("https://", 0) == 0 || (allow_file && url.rfind("file://", 0) == 0)) {
        for (char ch : url) {
            auto c = static_cast<unsigned char>(ch);
            if (c <= 0x20 || c == 0x7f) {
                return "must not contain whitespace or control characters";
            }
        }
        return {};
    }
    if (url.rfind("http://", 0) == 0) {
        return "must use https:// (plain http is refused)";
    }
    return allow_file ? "must be an https:// or file:// URL" : "must be an https:// URL";
}

std::string web_url_problem(const std::string& url) {
    if (url.empty()) {
        return {};
    }
    if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
        return "must be an http(s) URL or empty";
    }
    if (std::any_of(url.begin(), url.end(),
                    [](unsigned char c) { return c <= 0x20 || c == 0x7f; })) {
        return "must not contain whitespace or control characters";
    }
    return {};
}

}  // namespace

std::string check_package_name(std::string_view name) {
    auto common = common_part_problem(name, "name");
    if (!common.empty()) {
        return common;
    }
    if (name.size() > 100) {
        return "is longer than 100 bytes";
    }
    if (!is_alnum(name.front())) {
        return "must start with a letter or digit";
    }
    if (name.back() == '-') {
        return "must not end with '-'";
    }
    for (char c : name) {
        if (!is_alnum(c) && c != '_' && c != '-') {
            return "must contain only letters, digits, '_' and '-' (found " + shown_char(c) + ")";
        }
    }
    return {};
}

std::string check_dependency_name(std::string_view dependency) {
    // `owner/channel/name` (a package of another channel, current format): three names.
    auto first = dependency.find('/');
    auto second = first == std::string_view::npos ? first : dependency.find('/', first + 1);
    if (second != std::string_view::npos &&
        dependency.find('/', second + 1) == std::string_view::npos) {
        for (auto part :
             {dependency.substr(0, first), dependency.substr(first + 1, second - first - 1),
              dependency.substr(second + 1)}) {
            if (!check_package_name(part).empty()) {
                return check_package_name(dependency);
            }
        }
        return {};
    }
    return check_package_name(dependency);
}

std::string check_version(std::string_view version) {
    return token_problem(version, "version", 64);
}

std::string check_tag(std::string_view tag) { return token_problem(tag, "tag", 64); }

std::string normalize_package_name(std::string_view name) {
    std::string out(name);
    for (auto& c : out) {
        c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string_view strip_wheel_suffix(std::string_view file_name) {
    for (std::string_view suffix : {".mhl.mip.json", ".mhl", ".dir", ".work"}) {
        if (file_name.size() > suffix.size() &&
            file_name.substr(file_name.size() - suffix.size()) == suffix) {
            return file_name.substr(0, file_name.size() - suffix.size());
        }
    }
    return file_name;
}

std::string WheelName::str() const {
    return name + "-" + version + "-" + matlab_tag + "-" + abi_tag + "-" + platform_tag;
}

std::vector<Issue> WheelName::validate() const {
    std::vector<Issue> issues;
    auto add = [&issues](const char* field, const std::string& problem) {
        if (!problem.empty()) {
            issues.push_back({field, problem});
        }
    };
    add("name", check_package_name(name));
    add("version", check_version(version));
    add("matlab_tag", check_tag(matlab_tag));
    add("abi_tag", check_tag(abi_tag));
    add("platform_tag", check_tag(platform_tag));
    return issues;
}

WheelName WheelName::parse(std::string_view text) {
    auto base = strip_wheel_suffix(text);
    std::string subject = "wheel name '" + std::string(text) + "'";
    std::vector<std::string> parts;
    std::size_t end = base.size();
    for (int i = 0; i < 4; ++i) {
        auto dash = end == 0 ? std::string_view::npos : base.rfind('-', end - 1);
        if (dash == std::string_view::npos) {
            throw SpecError(subject, {{"",
                                       "needs five '-'-separated parts: "
                                       "<name>-<version>-<matlab_tag>-<abi_tag>-<platform_tag>"}});
        }
        parts.emplace_back(base.substr(dash + 1, end - dash - 1));
        end = dash;
    }
    WheelName w;
    w.name = std::string(base.substr(0, end));
    w.version = parts[3];
    w.matlab_tag = parts[2];
    w.abi_tag = parts[1];
    w.platform_tag = parts[0];
    auto issues = w.validate();
    if (!issues.empty()) {
        throw SpecError(subject, issues);
    }
    return w;
}

WheelName PackageSpec::wheel() const { return {name, version, matlab_tag, abi_tag, platform_tag}; }

std::vector<Issue> PackageSpec::validate() const {
    std::vector<Issue> issues = wheel().validate();
    auto add = [&issues](const std::string& field, const std::string& problem) {
        if (!problem.empty()) {
            issues.push_back({field, problem});
        }
    };
    if (build_number < 0) {
        add("build_number", "must be >= 0");
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < dependencies.size(); ++i) {
        const auto& d = dependencies[i];
        std::string field = "dependencies[" + std::to_string(i) + "]";
        if (d.find_first_of("<>=!~^ ") != std::string::npos && !d.empty()) {
            add(field, "'" + d + "': version constraints are not supported (names only)");
            continue;
        }
        auto p = check_dependency_name(d);
        if (!p.empty()) {
            p.insert(0, "'" + d + "' ");
            add(field, p);
            continue;
        }
        if (!seen.insert(normalize_package_name(d)).second) {
            add(field, "'" + d + "' is listed twice");
        }
        if (normalize_package_name(d) == normalize_package_name(name)) {
            add(field, "a package cannot depend on itself");
        }
    }
    add("homepage", web_url_problem(homepage));
    add("repository", web_url_problem(repository));
    if (license.empty()) {
        add("license", "must not be empty (use \"unspecified\")");
    }
    if (description.find('\n') != std::string::npos) {
        add("description", "must be one line");
    }
    // Text fields go into mip.json, sidecars and the channel page as they are: valid UTF-8 only.
    auto utf8 = [&add](const std::string& field, const std::string& value) {
        const auto at = detail::invalid_utf8_offset(value);
        if (at != std::string::npos) {
            add(field, "is not valid UTF-8 (byte 0x" +
                           detail::escape_invalid_utf8(value.substr(at, 1)).substr(2) +
                           " at offset " + std::to_string(at) + ")");
        }
    };
    utf8("description", description);
    utf8("license", license);
    utf8("homepage", homepage);
    utf8("repository", repository);
    for (std::size_t i = 0; i < usage_examples.size(); ++i) {
        utf8("usage_examples[" + std::to_string(i) + "]", usage_examples[i]);
    }
    for (std::size_t i = 0; i < exposed_symbols.size(); ++i) {
        utf8("exposed_symbols[" + std::to_string(i) + "]", exposed_symbols[i]);
    }
    for (std::size_t i = 0; i < exposed_symbols.size(); ++i) {
        if (exposed_symbols[i].empty()) {
            add("exposed_symbols[" + std::to_string(i) + "]", "must not be empty");
        }
    }
    if (compile_script) {
        const auto& c = *compile_script;
        if (c.empty() || c.find('/') != std::string::npos || c.find('\\') != std::string::npos ||
            c == "." || c == "..") {
            add("compile_script", "'" + c + "' must be a file name at the package root");
        } else if (c.size() < 3 || c.substr(c.size() - 2) != ".m") {
            add("compile_script", "'" + c + "' must be a .m file");
        } else if (c == "load_package.m" || c == "unload_package.m") {
            add("compile_script", "'" + c +
                                      "' is the generated loader; name the compile script "
                                      "otherwise (e.g. compile.m)");
        }
    }
    if (!timestamp.empty() && !valid_timestamp(timestamp)) {
        add("timestamp", "'" + timestamp + "' is not UTC YYYY-MM-DDTHH:MM:SSZ");
    }
    if (prepare_duration < 0 || !std::isfinite(prepare_duration)) {
        add("prepare_duration", "must be a non-negative number");
    }
    if (compile_duration < 0 || !std::isfinite(compile_duration)) {
        add("compile_duration", "must be a non-negative number");
    }
    if (mhl_url) {
        add("mhl_url", url_problem(*mhl_url, true));
        if (mhl_url->empty()) {
            add("mhl_url", "must not be empty");
        }
    }
    if (mip_json_url) {
        add("mip_json_url", url_problem(*mip_json_url, true));
    }
    if (mhl_sha256 && !detail::is_lower_hex(*mhl_sha256, 64)) {
        add("mhl_sha256", "must be 64 lowercase hex digits");
    }
    return issues;
}

namespace {

/// Collects type errors while reading a JSON object into a PackageSpec.
struct Reader {
    const Json& obj;
    std::vector<Issue>& issues;

    const Json* find(const char* key) const {
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) {
            return nullptr;
        }
        return &*it;
    }
    void str(const char* key, std::string& out) const {
        if (const Json* v = find(key)) {
            if (v->is_string()) {
                out = v->get<std::string>();
            } else {
                issues.push_back({key, "must be a string"});
            }
        }
    }
    void opt_str(const char* key, std::optional<std::string>& out) const {
        if (const Json* v = find(key)) {
            if (v->is_string()) {
                out = v->get<std::string>();
            } else {
                issues.push_back({key, "must be a string"});
            }
        }
    }
    void str_list(const char* key, std::vector<std::string>& out) const {
        if (const Json* v = find(key)) {
            if (!v->is_array()) {
                issues.push_back({key, "must be a list of strings"});
                return;
            }
            out.clear();
            for (std::size_t i = 0; i < v->size(); ++i) {
                if (!(*v)[i].is_string()) {
                    issues.push_back(
                        {std::string(key) + "[" + std::to_string(i) + "]", "must be a string"});
                } else {
                    out.push_back((*v)[i].get<std::string>());
                }
            }
        }
    }
    template <typename Int>
    bool integer(const char* key, Int& out) const {
        if (const Json* v = find(key)) {
            if (v->is_number_integer()) {
                if (v->is_number_unsigned()) {
                    out = static_cast<Int>(v->get<std::uint64_t>());
                } else {
                    out = static_cast<Int>(v->get<std::int64_t>());
                }
                return true;
            }
            if (v->is_number_float()) {
                double d = v->get<double>();
                constexpr double lo = std::is_signed_v<Int> ? -9.0e15 : 0.0;
                if (std::isfinite(d) && std::floor(d) == d && d >= lo && d < 9.0e15) {
                    out = static_cast<Int>(d);
                    return true;
                }
            }
            issues.push_back({key, "must be an integer"});
        }
        return false;
    }
    void number(const char* key, double& out) const {
        if (const Json* v = find(key)) {
            if (v->is_number()) {
                out = v->get<double>();
            } else {
                issues.push_back({key, "must be a number"});
            }
        }
    }
};

const std::vector<std::string>& known_keys() {
    static const std::vector<std::string> keys = {"name",
                                                  "description",
                                                  "version",
                                                  "build_number",
                                                  "dependencies",
                                                  "homepage",
                                                  "repository",
                                                  "license",
                                                  "matlab_tag",
                                                  "abi_tag",
                                                  "platform_tag",
                                                  "usage_examples",
                                                  "exposed_symbols",
                                                  "compile_script",
                                                  "timestamp",
                                                  "prepare_duration",
                                                  "compile_duration",
                                                  "mhl_url",
                                                  "mhl_sha256",
                                                  "mhl_size",
                                                  "mip_json_url",
                                                  "source",
                                                  "build_info"};
    return keys;
}

PackageSpec parse_spec(std::string_view json_text, std::string_view origin, bool check) {
    Json j = detail::parse_json(json_text, origin);
    if (!j.is_object()) {
        throw SpecError(std::string(origin), {{"", "must be a JSON object"}});
    }
    std::vector<Issue> issues;
    PackageSpec s;
    Reader r{j, issues};
    if (r.find("name") == nullptr) {
        issues.push_back({"name", "is required"});
    }
    r.str("name", s.name);
    r.str("description", s.description);
    r.str("version", s.version);
    r.integer("build_number", s.build_number);
    r.str_list("dependencies", s.dependencies);
    r.str("homepage", s.homepage);
    r.str("repository", s.repository);
    r.str("license", s.license);
    r.str("matlab_tag", s.matlab_tag);
    r.str("abi_tag", s.abi_tag);
    r.str("platform_tag", s.platform_tag);
    r.str_list("usage_examples", s.usage_examples);
    r.str_list("exposed_symbols", s.exposed_symbols);
    r.opt_str("compile_script", s.compile_script);
    r.str("timestamp", s.timestamp);
    r.number("prepare_duration", s.prepare_duration);
    r.number("compile_duration", s.compile_duration);
    r.opt_str("mhl_url", s.mhl_url);
    r.opt_str("mhl_sha256", s.mhl_sha256);
    std::uint64_t size = 0;
    if (const Json* v = r.find("mhl_size")) {
        if ((v->is_number_integer() && !v->is_number_unsigned() && v->get<std::int64_t>() < 0)) {
            issues.push_back({"mhl_size", "must be a non-negative integer"});
        } else if (r.integer("mhl_size", size)) {
            s.mhl_size = size;
        }
    }
    r.opt_str("mip_json_url", s.mip_json_url);
    if (const Json* v = r.find("source")) {
        if (!v->is_object()) {
            issues.push_back({"source", "must be an object or null"});
        } else {
            s.source_json = detail::dump_compact(*v);
        }
    }
    if (const Json* v = r.find("build_info")) {
        if (!v->is_object()) {
            issues.push_back({"build_info", "must be an object"});
        } else {
            s.build_info = detail::BuildInfoAccess::make(*v);
        }
    }
    const auto& known = known_keys();
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
            s.extra_fields.emplace_back(it.key(), detail::dump_compact(it.value()));
        }
    }
    if (check && issues.empty()) {
        issues = s.validate();
    }
    if (!issues.empty()) {
        throw SpecError(std::string(origin) + (s.name.empty() ? "" : " (package " + s.name + ")"),
                        issues);
    }
    return s;
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

}  // namespace

PackageSpec PackageSpec::from_json(std::string_view json_text, std::string_view origin) {
    return parse_spec(json_text, origin, true);
}

PackageSpec PackageSpec::from_json_unchecked(std::string_view json_text, std::string_view origin) {
    return parse_spec(json_text, origin, false);
}

PackageSpec PackageSpec::load(const std::string& path) {
    return from_json(detail::read_file(path), path);
}

namespace detail {
Json spec_to_json(const PackageSpec& s) {
    Json j = Json::object();
    j["name"] = s.name;
    j["description"] = s.description;
    j["version"] = s.version;
    j["build_number"] = s.build_number;
    j["dependencies"] = s.dependencies;
    j["homepage"] = s.homepage;
    j["repository"] = s.repository;
    j["license"] = s.license;
    j["matlab_tag"] = s.matlab_tag;
    j["abi_tag"] = s.abi_tag;
    j["platform_tag"] = s.platform_tag;
    j["usage_examples"] = s.usage_examples;
    std::vector<std::string> symbols = s.exposed_symbols;
    std::sort(symbols.begin(), symbols.end());
    symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
    j["exposed_symbols"] = symbols;
    if (s.compile_script) {
        j["compile_script"] = *s.compile_script;
    }
    j["timestamp"] = s.timestamp;
    j["prepare_duration"] = round2(s.prepare_duration);
    j["compile_duration"] = round2(s.compile_duration);
    if (s.mhl_url) {
        j["mhl_url"] = *s.mhl_url;
    }
    if (s.mhl_sha256) {
        j["mhl_sha256"] = *s.mhl_sha256;
    }
    if (s.mhl_size) {
        j["mhl_size"] = *s.mhl_size;
    }
    if (s.mip_json_url) {
        j["mip_json_url"] = *s.mip_json_url;
    }
    j["source"] = s.source_json.empty() ? Json(nullptr) : Json::parse(s.source_json);
    if (const Json* bi = detail::BuildInfoAccess::object(s.build_info)) {
        j["build_info"] = *bi;
    }
    for (const auto& [k, v] : s.extra_fields) {
        if (!j.contains(k)) {
            j[k] = Json::parse(v);
        }
    }
    return j;
}
}  // namespace detail

std::string PackageSpec::to_json() const {
    return detail::dump_pretty(detail::spec_to_json(*this));
}

namespace {

bool is_empty_value(const Json& v) {
    return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
           (v.is_array() && v.empty()) || (v.is_object() && v.empty());
}

/// Equality with missing = null = "" = [] = {} (recursively inside objects), numbers by value.
bool loose_equal(const Json& a, const Json& b) {
    if (is_empty_value(a) && is_empty_value(b)) {
        return true;
    }
    if (a.is_number() && b.is_number()) {
        return a.get<double>() == b.get<double>();
    }
    if (a.is_object() && b.is_object()) {
        std::set<std::string> keys;
        for (auto it = a.begin(); it != a.end(); ++it) {
            keys.insert(it.key());
        }
        for (auto it = b.begin(); it != b.end(); ++it) {
            keys.insert(it.key());
        }
        for (const auto& k : keys) {
            Json av = a.contains(k) ? a.at(k) : Json(nullptr);
            Json bv = b.contains(k) ? b.at(k) : Json(nullptr);
            if (!loose_equal(av, bv)) {
                return false;
            }
        }
        return true;
    }
    if (a.is_array() && b.is_array()) {
        if (a.size() != b.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (!loose_equal(a[i], b[i])) {
                return false;
            }
        }
        return true;
    }
    return a == b;
}

Json recipe_sha(const PackageSpec& s) {
    const Json* j = detail::BuildInfoAccess::object(s.build_info);
    return j != nullptr && j->contains("recipe_sha256") ? (*j)["recipe_sha256"] : Json(nullptr);
}

}  // namespace

const std::vector<std::string>& cached_field_names() {
    static const std::vector<std::string> names = {"name",         "description",
                                                   "version",      "build_number",
                                                   "dependencies", "homepage",
                                                   "repository",   "license",
                                                   "matlab_tag",   "abi_tag",
                                                   "platform_tag", "usage_examples",
                                                   "source",       "build_info.recipe_sha256"};
    return names;
}

CacheComparison compare_cached_fields(const PackageSpec& local, const PackageSpec& published) {
    auto a = detail::spec_to_json(local);
    auto b = detail::spec_to_json(published);
    for (const auto& field : cached_field_names()) {
        bool same = field == "build_info.recipe_sha256"
                        ? loose_equal(recipe_sha(local), recipe_sha(published))
                        : loose_equal(a.contains(field) ? a[field] : Json(nullptr),
                                      b.contains(field) ? b[field] : Json(nullptr));
        if (!same) {
            return {false, field};
        }
    }
    return {true, {}};
}

}  // namespace mip
