#pragma once
// Draws library progress events on stderr: a one-line bar on a TTY, plain throttled lines
// otherwise. Also the Ctrl-C bridge: after SIGINT the next event throws mip::Cancelled.

#include <chrono>
#include <string>

#include <mip/progress.hpp>

namespace mip::cli {

class ProgressBar {
public:
    ProgressBar(bool tty, bool enabled);
    void operator()(const ProgressEvent& event);
    /// Ends a drawn line (before other output).
    void clear();

private:
    bool tty_;
    bool enabled_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point last_plain_{};
};

/// Installs the SIGINT handler that sets the cancellation flag.
void install_interrupt_handler();
[[nodiscard]] bool interrupted();

}  // namespace mip::cli
