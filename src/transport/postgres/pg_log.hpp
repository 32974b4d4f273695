#pragma once
// The PostgreSQL transport's log: the <t>_updates table is the cluster's log, NOTIFY its
// doorbell.
//
// Publishing: concurrent publishes on a node queue up and go to PostgreSQL as one batch, one
// call of <t>_publish() in one transaction (group commit), answered after COMMIT. The head
// row's lock orders batches from every node, so seqs are dense and commit in seq order.
// Delivery: each node keeps a LISTEN connection of its own; on every notification, on every
// (re)connection and on a safety poll it reads "seq > the last it delivered" in order. The
// table holds the data, the notification only wakes the reader: a notification lost while
// reconnecting loses nothing. `trimmed` (the highest seq retention removed) past what a node
// delivered is a gap. max_age runs on one node at a time: the "retention" cluster job (hub/cluster_jobs).
#include <memory>

#include "transport/log.hpp"
#include "transport/postgres/pg_core.hpp"

namespace herald {

std::unique_ptr<Log> make_pg_log(std::shared_ptr<PgCore> core);

}  // namespace herald
