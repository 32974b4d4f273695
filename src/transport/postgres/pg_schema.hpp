#pragma once
// The PostgreSQL transport's schema, every name prefixed with the URL's `table` (default
// "herald"): what README.md documents for users to query.
//   <t>_updates      seq (primary key), id, topics text[], data, private, type, retry,
//                    published_at, subscription_event, control, ordinal
//   <t>_head         one row: the newest seq, update and event counts, trimmed (the highest
//                    seq retention removed); its row lock orders every publish
//   <t>_nodes        the node registry: node, address, info, started_at, seen_at (database time)
//   <t>_subscribers  node, id, topics (JSON), payload, position
//   <t>_leases       name, token, holder, expires_at; <t>_lease_tokens is their sequence
//   <t>_publish()    appends one batch (group commit), trims, NOTIFY <t>_updates
//   <t>_schema       the version the migrations reached
#include <string>

namespace herald::pg_schema {

/// The migration script: idempotent, run under a transaction-level advisory lock so that two
/// nodes starting at once migrate one after the other.
std::string migration(const std::string& t);

}  // namespace herald::pg_schema
