#include "detail/json.hpp"

#include <mip/error.hpp>

namespace mip::detail {

std::string dump_pretty(const Json& value) {
    return value.dump(2, ' ', false, nlohmann::detail::error_handler_t::replace) + "\n";
}

std::string dump_compact(const Json& value) {
    return value.dump(-1, ' ', false, nlohmann::detail::error_handler_t::replace);
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the text, then where it came from
Json parse_json(std::string_view text, std::string_view origin) {
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& e) {  // parse errors, number overflow (406), ...
        // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
        std::string what = e.what();
        auto pos = what.find("] ");
        throw SpecError(std::string(origin),
                        {{"", "is not valid JSON: " +
                                  (pos == std::string::npos ? what : what.substr(pos + 2))}});
    }
}

}  // namespace mip::detail
