// detail/progress: the one progress emitter. Events are sent only by the owning thread, counts
// come from any thread, and a throwing callback cancels the caller.

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <mip/progress.hpp>

#include "detail/progress.hpp"

using mip::ProgressEvent;
using mip::ProgressPhase;
using mip::detail::ProgressEmitter;

TEST_CASE("the emitter sends started, advanced and finished with the counts so far", "[progress]") {
    std::vector<ProgressEvent> seen;
    mip::ProgressCallback callback = [&](const ProgressEvent& e) { seen.push_back(e); };
    ProgressEmitter progress(callback, "bundle", 3);
    progress.started();
    progress.item_done("a-1.0-any-none-any");
    progress.advanced();
    progress.count_done();
    progress.item_done("c-1.0-any-none-any");
    progress.add_to_total(2);
    progress.set_retries(4);
    progress.finished();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].phase == ProgressPhase::started);
    CHECK(seen[0].stage == "bundle");
    CHECK(seen[0].done == 0);
    CHECK(seen[0].total == 3);
    CHECK(seen[0].item.empty());
    CHECK(seen[1].phase == ProgressPhase::advanced);
    CHECK(seen[1].done == 1);
    CHECK(seen[1].item == "a-1.0-any-none-any");
    CHECK(seen[2].phase == ProgressPhase::finished);
    CHECK(seen[2].done == 3);
    CHECK(seen[2].total == 5);
    CHECK(seen[2].item == "c-1.0-any-none-any");  // count_done() keeps the last name
    CHECK(seen[2].retries == 4);
    CHECK(seen[2].unit == "items");
}

TEST_CASE("workers count on their threads; events come from the owning thread", "[progress]") {
    std::vector<std::thread::id> senders;
    std::uint64_t last_done = 0;
    mip::ProgressCallback callback = [&](const ProgressEvent& e) {
        senders.push_back(std::this_thread::get_id());
        last_done = e.done;
    };
    ProgressEmitter progress(callback, "compile", 400);
    progress.started();
    std::vector<std::thread> workers;
    workers.reserve(4);
    for (int w = 0; w < 4; ++w) {
        workers.emplace_back([&progress, w] {
            for (int i = 0; i < 100; ++i) {
                progress.item_done("worker " + std::to_string(w));
            }
        });
    }
    for (auto& t : workers) {
        t.join();
    }
    progress.finished();
    CHECK(last_done == 400);
    REQUIRE(senders.size() == 2);
    CHECK(senders[0] == std::this_thread::get_id());
    CHECK(senders[1] == std::this_thread::get_id());
}

TEST_CASE("advance_if_due sends at most one event per interval", "[progress]") {
    int advanced = 0;
    mip::ProgressCallback callback = [&](const ProgressEvent& e) {
        advanced += e.phase == ProgressPhase::advanced ? 1 : 0;
    };
    ProgressEmitter progress(callback, "store", 10);
    progress.started();
    SECTION("a zero interval sends every time") {
        for (int i = 0; i < 5; ++i) {
            progress.advance_if_due(std::chrono::milliseconds(0));
        }
        CHECK(advanced == 5);
    }
    SECTION("an interval longer than the test sends nothing") {
        for (int i = 0; i < 5; ++i) {
            progress.advance_if_due(std::chrono::hours(1));
        }
        CHECK(advanced == 0);
    }
}

TEST_CASE("a throwing callback reaches the caller; no callback is a no-op", "[progress]") {
    mip::ProgressCallback throwing = [](const ProgressEvent&) {
        throw std::runtime_error("cancel");
    };
    ProgressEmitter progress(throwing, "upload", 1);
    CHECK_THROWS_WITH(progress.started(), "cancel");
    progress.item_done("x");  // counting never calls back
    CHECK_THROWS_WITH(progress.finished(), "cancel");

    const mip::ProgressCallback none;
    ProgressEmitter quiet(none, "upload", 1);
    CHECK_NOTHROW(quiet.started());
    CHECK_NOTHROW(quiet.advance_if_due(std::chrono::milliseconds(0)));
    CHECK_NOTHROW(quiet.finished());
}
