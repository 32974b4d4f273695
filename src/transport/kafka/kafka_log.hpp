#pragma once
// The Kafka transport's log: partition 0 of one topic is the cluster's log and its bus.
//
// A publish is produced to partition 0 by an idempotent producer (acks=all) and answered on
// its delivery report: the seq is the record's offset + 1, the same on every node. Every node
// assigns itself partition 0 (no consumer-group rebalancing: each node reads everything) from
// the high watermark at listen() and delivers in offset order; librdkafka keeps that position
// across broker failures and leader changes. Offsets are dense (no transactions, no
// compaction), so a jump means retention deleted records this node had not read: a gap. When
// the shards fall behind (the flow gate closes) the partition is paused, which also drops
// what was prefetched; it resumes from the next record to deliver.
// History pages are read by a consumer of their own (assigned at the page's offset, on the
// core's pool); head/earliest are the partition's watermarks. Ids are resolved by the hub's
// index (hub/id_index), presence and leases carried over the log by the hub.
#include <memory>

#include "transport/kafka/kafka_core.hpp"
#include "transport/log.hpp"

namespace herald {

std::unique_ptr<Log> make_kafka_log(std::shared_ptr<KafkaCore> core);

}  // namespace herald
