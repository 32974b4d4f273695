#pragma once
#include <memory>

#include <boost/url/url_view.hpp>

#include "transport/transport.hpp"

namespace herald {
/// In-memory transport for one node: no persistence, a ring of the last `size` updates
/// (query parameter `size`, default 1000; 0 keeps no history) so Last-Event-ID works within it.
/// Throws ConfigError on a bad parameter.
Transport make_local_transport(const boost::urls::url_view& url);
}  // namespace herald
