#pragma once
/// \file log.hpp
/// Logging through a sink. The library never prints: services take a `Logger` and call its sink.
/// A default-constructed Logger discards everything.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace mip {

enum class LogLevel : int { debug = 10, info = 20, warning = 30, error = 40, off = 100 };

[[nodiscard]] const char* to_string(LogLevel level) noexcept;

/// Receives one formatted message. May be called from worker threads; the Logger serialises
/// calls, so a sink never runs concurrently with itself. Must not throw.
using LogSink = std::function<void(LogLevel, std::string_view)>;

/// A copyable handle to a sink plus a threshold. Thread-safe: copies share the sink, and calls
/// from any thread are serialised. Never throws (a sink must not either).
///
/// **Example**
/// ```cpp
/// mip::Logger log([](mip::LogLevel level, std::string_view m) { std::cerr << m << '\n'; },
///                 mip::LogLevel::info);
/// mip::Compiler compiler({.engine = "octave"}, {.logger = log});
/// ```
class Logger {
public:
    Logger() = default;
    Logger(LogSink sink, LogLevel level);

    [[nodiscard]] bool enabled(LogLevel level) const noexcept;
    [[nodiscard]] LogLevel level() const noexcept { return level_; }
    void log(LogLevel level, std::string_view message) const;
    void debug(std::string_view m) const { log(LogLevel::debug, m); }
    void info(std::string_view m) const { log(LogLevel::info, m); }
    void warning(std::string_view m) const { log(LogLevel::warning, m); }
    void error(std::string_view m) const { log(LogLevel::error, m); }

private:
    struct Shared {
        LogSink sink;
        std::mutex mutex;
    };
    std::shared_ptr<Shared> shared_;
    LogLevel level_ = LogLevel::off;
};

}  // namespace mip
