#include <mip/build_info.hpp>
#include <mip/error.hpp>

#include "detail/build_info_access.hpp"

namespace mip {

using detail::Json;

struct BuildInfo::Impl {
    Json object;
};

namespace detail {

const Json* BuildInfoAccess::object(const BuildInfo& info) {
    return info.impl_ ? &info.impl_->object : nullptr;
}

BuildInfo BuildInfoAccess::make(Json object) {
    BuildInfo out;
    if (!object.is_object()) {
        throw SpecError("build_info", {{"build_info", "must be an object"}});
    }
    out.impl_ = std::make_shared<const BuildInfo::Impl>(BuildInfo::Impl{std::move(object)});
    return out;
}

}  // namespace detail

namespace {

const Json* member(const BuildInfo& info, std::string_view key) {
    const Json* object = detail::BuildInfoAccess::object(info);
    if (object == nullptr) {
        return nullptr;
    }
    auto it = object->find(std::string(key));
    return it == object->end() ? nullptr : &*it;
}

std::optional<std::string> string_member(const BuildInfo& info, std::string_view key) {
    const Json* v = member(info, key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return v->get<std::string>();
}

}  // namespace

BuildInfo BuildInfo::from_json(std::string_view json_text) {
    if (json_text.empty()) {
        return {};
    }
    return detail::BuildInfoAccess::make(detail::parse_json(json_text, "build_info"));
}

std::string BuildInfo::to_json() const {
    return impl_ ? detail::dump_compact(impl_->object) : std::string();
}

std::vector<std::string> BuildInfo::keys() const {
    std::vector<std::string> out;
    if (impl_) {
        for (auto it = impl_->object.begin(); it != impl_->object.end(); ++it) {
            out.push_back(it.key());
        }
    }
    return out;
}

bool BuildInfo::contains(std::string_view key) const { return member(*this, key) != nullptr; }

std::optional<std::int64_t> BuildInfo::source_date_epoch() const {
    const Json* v = member(*this, "source_date_epoch");
    if (v == nullptr || !v->is_number_integer()) {
        return std::nullopt;
    }
    return v->get<std::int64_t>();
}

std::optional<std::string> BuildInfo::compile_engine() const {
    return string_member(*this, "compile_engine");
}

std::optional<std::string> BuildInfo::recipe_sha256() const {
    return string_member(*this, "recipe_sha256");
}

bool BuildInfo::compiled_with_octave() const {
    auto engine = compile_engine();
    return engine && engine->rfind("octave", 0) == 0;
}

bool BuildInfo::operator==(const BuildInfo& other) const {
    if (impl_ == nullptr || other.impl_ == nullptr) {
        return impl_ == other.impl_;
    }
    return impl_ == other.impl_ || impl_->object == other.impl_->object;
}

}  // namespace mip
