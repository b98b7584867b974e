#pragma once
/// \file report.hpp
/// Per-item results of a batch stage (prepare, compile, bundle, upload). Batches report failures
/// as data and throw only when the whole run cannot go on.
///
/// **Example**
/// ```cpp
/// mip::StageReport report = mip::run_upload(options);
/// if (const auto* failed = report.first_failure()) {
///     std::cerr << failed->wheel << ": " << failed->detail << '\n';  // error_code says what kind
/// }
/// std::cout << report.to_json();
/// ```
///
/// Regular values (copy freely; no shared state, so any thread may read its own copy);
/// `to_json` throws only `std::bad_alloc`.

#include <cstdint>
#include <string>
#include <vector>

#include <mip/error.hpp>

namespace mip {

enum class ItemStatus {
    done,     ///< built / compiled / bundled / uploaded
    skipped,  ///< nothing to do (cache hit, unchanged, not selected...); `detail` says why
    planned,  ///< dry run: would be done
    failed,   ///< `error_code` and `detail` say why
};

[[nodiscard]] const char* to_string(ItemStatus status) noexcept;

struct ItemResult {
    std::string package;  ///< package name ("" if unknown, e.g. an unreadable recipe)
    std::string wheel;    ///< wheel name ("" if unknown)
    ItemStatus status = ItemStatus::done;
    std::string detail;  ///< why skipped, what failed, or where the output went
    ErrorCode error_code = ErrorCode::internal;  ///< meaningful when failed
    std::string path;                            ///< main output (a .dir, .mhl or key), "" if none
    double seconds = 0;
    std::uint32_t attempts = 0;  ///< network stages: requests made including retries
    bool operator==(const ItemResult&) const = default;
};

struct StageReport {
    std::string stage;
    bool dry_run = false;
    std::vector<ItemResult> items;

    [[nodiscard]] std::size_t count(ItemStatus status) const;
    [[nodiscard]] bool ok() const { return count(ItemStatus::failed) == 0; }
    /// The first failed item, or nullptr.
    [[nodiscard]] const ItemResult* first_failure() const;
    /// One JSON document (`{"stage":…, "items":[…], "counts":{…}}`).
    [[nodiscard]] std::string to_json() const;
};

}  // namespace mip
