#pragma once
// Private: the upload's check that each bundle still holds the bytes its sidecar names,
// hashed on worker threads from the moment the bundles are known, so that the store listing
// and the first packages' PUTs overlap the hashing of the others (uploader.cpp).

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <mip/store.hpp>

namespace mip::detail {

/// Hashes every bundle (in order, `jobs` threads) against its expected SHA-256. Once `open`
/// hands it the upload's ChainGate, chain `i` starts the moment bundle `i` is verified and
/// wanted; a bundle whose bytes differ (or that cannot be read) is dropped, so none of its
/// objects is written. With `stop_at_mismatch` (no `--keep-going`), the first mismatch drops
/// every chain not started yet; chains already started run to their end.
class BundleVerifier {
public:
    struct Bundle {
        std::filesystem::path mhl;
        std::string sha256;  ///< expected (the sidecar's `mhl_sha256`)
    };

    /// `also_check(i)`, when given, runs on the worker before bundle `i` is hashed (other checks
    /// that read the bundle, e.g. the Octave MEX gate); what it throws fails the bundle.
    BundleVerifier(std::vector<Bundle> bundles,
                   unsigned jobs,
                   bool stop_at_mismatch,
                   std::function<void(std::size_t)> also_check = {});
    /// Stops hashing (items not begun are never hashed) and waits for the workers.
    ~BundleVerifier();
    BundleVerifier(const BundleVerifier&) = delete;
    BundleVerifier& operator=(const BundleVerifier&) = delete;
    BundleVerifier(BundleVerifier&&) = delete;
    BundleVerifier& operator=(BundleVerifier&&) = delete;

    /// Bundle `i` need not be checked (e.g. already published): not hashed if not begun yet.
    void unwanted(std::size_t i);
    /// From now on the verified wanted bundles start their chains in `gate` (those verified
    /// already at once); unwanted and failed ones are dropped.
    void open(ChainGate& gate);
    /// Waits until some wanted bundle is verified (true) or none can be any more (false: every
    /// wanted one failed, or a mismatch stopped the run). The upload marks a store's format
    /// only once something will be written into it.
    [[nodiscard]] bool wait_first_verified();
    /// Waits for the hashing to end (stops it first when `cancel`). After it, `error(i)` is
    /// the failure of bundle `i` (null = fine or not checked) and `started(i)` says whether
    /// its chain was let through.
    void finish(bool cancel = false);

    [[nodiscard]] const std::exception_ptr& error(std::size_t i) const { return errors_[i]; }
    [[nodiscard]] bool started(std::size_t i) const { return state_[i] == State::started; }

private:
    enum class State { pending, hashing, verified, failed, unwanted, started };

    bool hash_one(std::size_t i);
    /// Under the lock: chain `i`'s decision, once the gate is open and `i` is settled.
    void decide(std::size_t i);

    std::vector<Bundle> bundles_;
    bool stop_at_mismatch_;
    std::function<void(std::size_t)> also_check_;
    std::mutex mutex_;
    std::condition_variable settled_;  ///< a bundle's state changed (wait_first_verified)
    std::vector<State> state_;
    std::vector<std::exception_ptr> errors_;
    ChainGate* gate_ = nullptr;
    bool stopped_ = false;    ///< a mismatch stopped the run (stop_at_mismatch)
    bool cancelled_ = false;  ///< finish(true) or destruction
    std::thread worker_;
};

}  // namespace mip::detail
