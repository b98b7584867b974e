#pragma once
// Private: the channel page's CSS and JavaScript (src/channel_page/page.css, page.js), embedded
// at build time by cmake/MipEmbedText.cmake.

#include <string_view>

namespace mip::detail {

extern const std::string_view channel_page_css;
extern const std::string_view channel_page_js;

}  // namespace mip::detail
