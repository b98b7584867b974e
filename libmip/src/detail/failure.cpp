#include "detail/failure.hpp"

namespace mip::detail {

ErrorCode code_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const Error& err) {
        return err.code();
    } catch (...) {
        return ErrorCode::internal;
    }
}

std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& err) {
        return err.what();
    } catch (...) {
        return "unknown error";
    }
}

void mark_failed(ItemResult& item, const std::exception_ptr& e) {
    item.status = ItemStatus::failed;
    item.error_code = code_of(e);
    item.detail = message_of(e);
}

}  // namespace mip::detail
