// The index's order of versions, and the checks of its entries (index_checks.hpp).

#include "detail/index_checks.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include <mip/package_spec.hpp>

#include "detail/json.hpp"

namespace mip::detail {

namespace {

bool all_digit_dotted(const std::string& v) {
    if (v.empty() || v.front() == '.' || v.back() == '.') {
        return false;
    }
    bool prev_dot = false;
    for (char c : v) {
        if (c == '.') {
            if (prev_dot) {
                return false;
            }
            prev_dot = true;
        } else if (c < '0' || c > '9') {
            return false;
        } else {
            prev_dot = false;
        }
    }
    return true;
}

std::vector<unsigned long long> numeric_parts(const std::string& v) {
    std::vector<unsigned long long> parts;
    std::size_t start = 0;
    while (start <= v.size()) {
        auto dot = v.find('.', start);
        auto piece = v.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        parts.push_back(piece.size() > 18 ? ~0ULL : std::stoull(piece));
        if (dot == std::string::npos) {
            break;
        }
        start = dot + 1;
    }
    return parts;
}

}  // namespace

int version_order(const std::string& a, const std::string& b) {
    bool na = all_digit_dotted(a);
    bool nb = all_digit_dotted(b);
    if (na != nb) {
        return na ? -1 : 1;
    }
    if (na) {
        auto pa = numeric_parts(a);
        auto pb = numeric_parts(b);
        auto n = std::max(pa.size(), pb.size());
        pa.resize(n, 0);
        pb.resize(n, 0);
        if (pa != pb) {
            return pa > pb ? -1 : 1;
        }
    }
    if (a == b) {
        return 0;
    }
    return a > b ? -1 : 1;
}

std::string missing_required_field(std::string_view json_text) {
    auto doc = Json::parse(json_text.begin(), json_text.end(), nullptr, false);
    for (const char* field : {"name", "version", "dependencies", "platform_tag"}) {
        if (!doc.is_object() || !doc.contains(field) || doc[field].is_null()) {
            return field;
        }
    }
    return {};
}

std::vector<std::string> dependency_cycles(const std::vector<IndexEntry*>& packages) {
    std::map<std::string, std::set<std::string>> edges;
    std::map<std::string, std::string> shown;
    for (const auto* p : packages) {
        auto n = normalize_package_name(p->name);
        shown.emplace(n, p->name);
        for (const auto& d : p->dependencies) {
            edges[n].insert(normalize_package_name(d));
        }
    }
    std::vector<std::string> cycles;
    std::set<std::string> reported;
    std::map<std::string, int> state;  // 0 new, 1 on the stack, 2 done
    std::vector<std::string> stack;
    std::function<void(const std::string&)> visit = [&](const std::string& n) {
        state[n] = 1;
        stack.push_back(n);
        for (const auto& d : edges[n]) {
            if (state[d] == 1) {
                auto from = std::find(stack.begin(), stack.end(), d);
                std::vector<std::string> loop(from, stack.end());
                auto smallest = std::min_element(loop.begin(), loop.end());
                std::rotate(loop.begin(), smallest, loop.end());
                std::string text;
                for (const auto& x : loop) {
                    text += (shown.count(x) != 0 ? shown[x] : x) + " -> ";
                }
                text += shown.count(loop.front()) != 0 ? shown[loop.front()] : loop.front();
                if (reported.insert(text).second) {
                    cycles.push_back(text);
                }
            } else if (state[d] == 0 && edges.count(d) != 0) {
                visit(d);
            }
        }
        stack.pop_back();
        state[n] = 2;
    };
    for (const auto& [n, _] : edges) {
        if (state[n] == 0) {
            visit(n);
        }
    }
    return cycles;
}

}  // namespace mip::detail
