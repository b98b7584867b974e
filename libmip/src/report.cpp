#include <algorithm>
#include <cmath>

#include <mip/report.hpp>

#include "detail/convert.hpp"
#include "detail/json.hpp"

namespace mip {

const char* to_string(ItemStatus status) noexcept {
    switch (status) {
        case ItemStatus::done:
            return "done";
        case ItemStatus::skipped:
            return "skipped";
        case ItemStatus::planned:
            return "planned";
        case ItemStatus::failed:
            return "failed";
    }
    return "unknown";
}

std::size_t StageReport::count(ItemStatus status) const {
    return static_cast<std::size_t>(std::count_if(
        items.begin(), items.end(), [status](const ItemResult& i) { return i.status == status; }));
}

const ItemResult* StageReport::first_failure() const {
    for (const auto& item : items) {
        if (item.status == ItemStatus::failed) {
            return &item;
        }
    }
    return nullptr;
}

namespace detail {
Json report_to_json(const StageReport& report) {
    Json j;
    j["stage"] = report.stage;
    j["dry_run"] = report.dry_run;
    Json items = Json::array();
    for (const auto& item : report.items) {
        Json o;
        o["package"] = item.package;
        o["wheel"] = item.wheel;
        o["status"] = to_string(item.status);
        o["detail"] = item.detail;
        if (item.status == ItemStatus::failed) {
            o["error"] = to_string(item.error_code);
        }
        o["path"] = item.path;
        o["seconds"] = static_cast<double>(std::llround(item.seconds * 100)) / 100;
        if (item.attempts != 0) {
            o["attempts"] = item.attempts;
        }
        items.push_back(std::move(o));
    }
    j["items"] = std::move(items);
    Json counts;
    for (auto s :
         {ItemStatus::done, ItemStatus::skipped, ItemStatus::planned, ItemStatus::failed}) {
        counts[to_string(s)] = report.count(s);
    }
    j["counts"] = std::move(counts);
    return j;
}
}  // namespace detail

std::string StageReport::to_json() const {
    return detail::dump_pretty(detail::report_to_json(*this));
}

}  // namespace mip
