#pragma once
// Private: a caught exception as report data (an item's `error_code` and `detail`).

#include <exception>
#include <string>

#include <mip/error.hpp>
#include <mip/report.hpp>

namespace mip::detail {

/// The ErrorCode of a libmip error; `internal` for anything else.
[[nodiscard]] ErrorCode code_of(const std::exception_ptr& e);

/// `what()`, or "unknown error" for a non-std exception.
[[nodiscard]] std::string message_of(const std::exception_ptr& e);

/// Marks `item` failed with `e`'s code and message.
void mark_failed(ItemResult& item, const std::exception_ptr& e);

}  // namespace mip::detail
