#include "progress_bar.hpp"

#include <atomic>
#include <csignal>
#include <iostream>

#include <mip/error.hpp>

namespace mip::cli {

namespace {
std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) { g_interrupted.store(true); }
}  // namespace

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }
bool interrupted() { return g_interrupted.load(); }

ProgressBar::ProgressBar(bool tty, bool enabled) : tty_(tty), enabled_(enabled) {}

void ProgressBar::clear() {
    if (drawn_) {
        std::cerr << "\r\033[K" << std::flush;
        drawn_ = false;
    }
}

void ProgressBar::operator()(const ProgressEvent& e) {
    if (interrupted()) {
        clear();
        throw Cancelled("interrupted (Ctrl-C)");
    }
    if (!enabled_) {
        return;
    }
    std::string retries = e.retries != 0 ? " (retries " + std::to_string(e.retries) + ")" : "";
    if (tty_) {
        constexpr int width = 28;
        int filled = e.total == 0 ? 0 : static_cast<int>(width * e.done / e.total);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.resize(width, '-');
        std::string item = e.item.size() > 40 ? e.item.substr(0, 37) + "..." : e.item;
        std::cerr << "\r\033[K" << e.stage << " [" << bar << "] " << e.done << "/" << e.total << " "
                  << item << retries << std::flush;
        drawn_ = true;
        if (e.phase == ProgressPhase::finished) {
            clear();
        }
        return;
    }
    // Plain lines: start, end, and at most one line every 2 s in between.
    auto now = std::chrono::steady_clock::now();
    if (e.phase == ProgressPhase::advanced && now - last_plain_ < std::chrono::seconds(2)) {
        return;
    }
    last_plain_ = now;
    if (e.total == 0 && e.phase != ProgressPhase::advanced) {
        return;
    }
    std::cerr << e.stage << ": " << e.done << "/" << e.total << " " << e.unit
              << (e.phase == ProgressPhase::finished ? " (finished)" : "") << retries << "\n";
}

}  // namespace mip::cli
