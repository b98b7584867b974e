#include "detail/bundle_verifier.hpp"

#include <mip/error.hpp>

#include "detail/crypto.hpp"
#include "detail/parallel.hpp"

namespace mip::detail {

BundleVerifier::BundleVerifier(std::vector<Bundle> bundles,
                               unsigned jobs,
                               bool stop_at_mismatch,
                               std::function<void(std::size_t)> also_check)
    : bundles_(std::move(bundles)),
      stop_at_mismatch_(stop_at_mismatch),
      also_check_(std::move(also_check)),
      state_(bundles_.size(), State::pending),
      errors_(bundles_.size()) {
    worker_ = std::thread([this, jobs] {
        ParallelOptions par;
        par.jobs = jobs;
        run_parallel(bundles_.size(), par, [this](std::size_t i) { return hash_one(i); }, {});
    });
}

BundleVerifier::~BundleVerifier() {
    try {
        finish(true);
    } catch (...) {  // joining a joinable thread does not fail; nothing else throws here
    }
}

bool BundleVerifier::hash_one(std::size_t i) {
    {
        std::lock_guard lock(mutex_);
        if (cancelled_ || stopped_) {
            return false;
        }
        if (state_[i] != State::pending) {  // unwanted
            return true;
        }
        state_[i] = State::hashing;
    }
    std::exception_ptr error;
    try {
        if (also_check_) {
            also_check_(i);
        }
        if (sha256_file_hex(bundles_[i].mhl) != bundles_[i].sha256) {
            auto sidecar = bundles_[i].mhl.string() + ".mip.json";
            throw SpecError(
                sidecar, {{"mhl_sha256", "does not match " + bundles_[i].mhl.filename().string() +
                                             " (re-run bundle)"}});
        }
    } catch (...) {
        error = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    settled_.notify_all();
    if (state_[i] == State::unwanted) {  // no longer asked for: the result does not matter
        return true;
    }
    state_[i] = error ? State::failed : State::verified;
    errors_[i] = error;
    if (error && stop_at_mismatch_) {
        stopped_ = true;
        if (gate_ != nullptr) {
            gate_->drop_rest();
        }
        return false;
    }
    decide(i);
    return true;
}

void BundleVerifier::decide(std::size_t i) {
    if (gate_ == nullptr) {
        return;
    }
    switch (state_[i]) {
        case State::verified:
            if (!stopped_) {
                state_[i] = State::started;
                gate_->start(i);
            }
            break;
        case State::failed:
        case State::unwanted:
            gate_->drop(i);
            break;
        default:
            break;
    }
}

void BundleVerifier::unwanted(std::size_t i) {
    std::lock_guard lock(mutex_);
    settled_.notify_all();
    if (state_[i] != State::started) {
        state_[i] = State::unwanted;
        decide(i);
    }
}

bool BundleVerifier::wait_first_verified() {
    std::unique_lock lock(mutex_);
    bool found = false;
    settled_.wait(lock, [&] {
        bool open = false;  // some wanted bundle is still to be hashed
        for (auto s : state_) {
            if (s == State::verified || s == State::started) {
                found = true;
                return true;
            }
            open = open || s == State::pending || s == State::hashing;
        }
        return !open || stopped_ || cancelled_;
    });
    return found;
}

void BundleVerifier::open(ChainGate& gate) {
    std::lock_guard lock(mutex_);
    gate_ = &gate;
    if (stopped_) {  // a bundle failed before anything started: nothing starts
        gate.drop_rest();
        return;
    }
    for (std::size_t i = 0; i < state_.size(); ++i) {
        decide(i);
    }
}

void BundleVerifier::finish(bool cancel) {
    {
        std::lock_guard lock(mutex_);
        cancelled_ = cancelled_ || cancel;
    }
    if (worker_.joinable()) {
        worker_.join();
    }
    std::lock_guard lock(mutex_);
    if (gate_ != nullptr) {
        gate_->drop_rest();  // never hashed (stopped or cancelled)
    }
}

}  // namespace mip::detail
