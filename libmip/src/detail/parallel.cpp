#include "detail/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mip::detail {

void run_parallel(std::size_t n,
                  const ParallelOptions& options,
                  const std::function<bool(std::size_t)>& work,
                  const std::function<void()>& tick) {
    auto call_tick = [&tick]() {
        if (tick) {
            tick();
        }
    };
    unsigned jobs = std::max(1U, options.jobs);
    const auto interval = std::max(options.tick_interval, std::chrono::milliseconds(20));
    if (n == 0 || (!tick && (jobs == 1 || n <= 1))) {
        auto last = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            bool go_on = work(i);
            auto now = std::chrono::steady_clock::now();
            if (now - last >= interval) {
                last = now;
                call_tick();
            }
            if (!go_on) {
                break;
            }
        }
        call_tick();
        return;
    }
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::condition_variable cv;
    const std::size_t thread_count = std::min<std::size_t>(jobs, n);
    std::size_t running = thread_count;  // guarded by `mutex`; workers count down as they finish
    std::vector<std::thread> threads;
    threads.reserve(thread_count);
    for (std::size_t t = 0; t < thread_count; ++t) {
        threads.emplace_back([&]() {
            while (!stop.load()) {
                std::size_t i = next.fetch_add(1);
                if (i >= n) {
                    break;
                }
                if (!work(i)) {
                    stop.store(true);
                }
            }
            std::lock_guard lock(mutex);
            --running;
            cv.notify_all();
        });
    }
    std::exception_ptr tick_error;
    {
        std::unique_lock lock(mutex);
        while (running > 0) {
            cv.wait_for(lock, interval);
            if (running == 0 || tick_error) {
                continue;
            }
            lock.unlock();
            try {
                call_tick();
            } catch (...) {
                tick_error = std::current_exception();
                stop.store(true);
                if (options.cancel != nullptr) {
                    options.cancel->store(true);
                }
            }
            lock.lock();
        }
    }
    for (auto& t : threads) {
        t.join();
    }
    if (tick_error) {
        std::rethrow_exception(tick_error);
    }
    call_tick();
}

}  // namespace mip::detail
