#pragma once
// The debug UI's static files (src/http/ui), compiled into the binary by cmake/embed_ui.cmake.
#include <string_view>
#include <vector>

namespace herald::http_detail {

struct UiAsset {
  std::string_view name;     ///< file name, e.g. "index.html"
  std::string_view content;  ///< the file's bytes
};

/// Every file of the UI; static storage, any thread.
const std::vector<UiAsset>& ui_assets();

}  // namespace herald::http_detail
