#include <utility>

#include <mip/log.hpp>

#include "detail/text.hpp"

namespace mip {

const char* to_string(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warning:
            return "warning";
        case LogLevel::error:
            return "error";
        case LogLevel::off:
            return "off";
    }
    return "unknown";
}

Logger::Logger(LogSink sink, LogLevel level)
    : shared_(sink ? std::make_shared<Shared>() : nullptr), level_(level) {
    if (shared_) {
        shared_->sink = std::move(sink);
    }
}

bool Logger::enabled(LogLevel level) const noexcept {
    return shared_ && level_ != LogLevel::off &&
           static_cast<int>(level) >= static_cast<int>(level_);
}

void Logger::log(LogLevel level, std::string_view message) const {
    if (!enabled(level)) {
        return;
    }
    std::lock_guard lock(shared_->mutex);
    try {
        if (detail::is_valid_utf8(message)) {
            shared_->sink(level, message);
        } else {  // a hostile file name or sidecar: still one valid UTF-8 line
            shared_->sink(level, detail::escape_invalid_utf8(message));
        }
    } catch (...) {  // a sink must not throw; never let logging break the work
    }
}

}  // namespace mip
