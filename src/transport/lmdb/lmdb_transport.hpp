#pragma once
#include <memory>
#include <string>

#include <boost/url/url_view.hpp>

#include "transport/transport.hpp"

namespace herald {
/// Durable single-node transport in an embedded LMDB store (a directory):
///   lmdb:///abs/dir or lmdb://relative/dir, with query parameters
///   size=N          keep at most N updates (0 = unlimited, the default)
///   max_age=DUR     drop updates older than DUR (e.g. 24h; 0 = forever, the default)
///   map_size=BYTES  LMDB map size, the store's upper bound (default 4 GiB, sparse)
///   sync=full|none  full (default): a publish is answered once fsynced; none: once written
///                   (survives a process crash, not a power loss)
///   max_batch=N     updates per group commit (default 1024; 1 = one commit per publish)
/// `bolt://path` is accepted as an alias (the Bolt file format is not read).
/// Throws ConfigError on a bad URL, or when another process holds the store.
Transport make_lmdb_transport(const boost::urls::url_view& url, bool bolt_alias);
}  // namespace herald
