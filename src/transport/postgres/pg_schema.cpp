#include "transport/postgres/pg_schema.hpp"

#include <regex>

namespace herald::pg_schema {
namespace {

/// Version 1. Every statement is idempotent on its own (IF NOT EXISTS, OR REPLACE).
constexpr const char* kVersion1 = R"sql(
CREATE TABLE IF NOT EXISTS T_updates (
  seq bigint PRIMARY KEY,
  id text NOT NULL,
  topics text[] NOT NULL,
  data text NOT NULL,
  private boolean NOT NULL DEFAULT false,
  type text,
  retry bigint,
  published_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  subscription_event boolean NOT NULL DEFAULT false,
  control boolean NOT NULL DEFAULT false,
  ordinal bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS T_updates_id ON T_updates (id);
CREATE INDEX IF NOT EXISTS T_updates_ordinal ON T_updates (subscription_event, ordinal);
CREATE INDEX IF NOT EXISTS T_updates_published_at ON T_updates (published_at);
CREATE TABLE IF NOT EXISTS T_head (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  seq bigint NOT NULL DEFAULT 0,
  updates bigint NOT NULL DEFAULT 0,
  events bigint NOT NULL DEFAULT 0,
  trimmed bigint NOT NULL DEFAULT 0
);
INSERT INTO T_head (one) VALUES (true) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS T_nodes (
  node text PRIMARY KEY,
  address text NOT NULL DEFAULT '',
  info jsonb NOT NULL DEFAULT '{}',
  started_at timestamptz NOT NULL DEFAULT now(),
  seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS T_subscribers (
  node text NOT NULL,
  id text NOT NULL,
  topics text NOT NULL,
  payload text NOT NULL DEFAULT '',
  position bigserial,
  PRIMARY KEY (node, id)
);
CREATE TABLE IF NOT EXISTS T_leases (
  name text PRIMARY KEY,
  token bigint NOT NULL,
  holder text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS T_lease_tokens;
)sql";

/// Appends a batch. The head row's lock, taken first, serializes publishes from every node:
/// seqs are dense and commit in seq order, so a reader of "seq > the last I delivered" never
/// skips a row that commits late (as it would with bigserial). Retention (`size`, and
/// `events_size` for subscription events) runs in the same transaction.
constexpr const char* kPublish = R"sql(
CREATE OR REPLACE FUNCTION T_publish(p_ids text[], p_topics text[], p_data text[], p_private boolean[],
    p_types text[], p_retries bigint[], p_events boolean[], p_controls boolean[], p_size bigint,
    p_events_size bigint) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  n bigint := cardinality(p_ids);
  k bigint;
  e bigint;
  h T_head%ROWTYPE;
  cut bigint;
BEGIN
  SELECT count(*) FILTER (WHERE NOT x), count(*) FILTER (WHERE x) INTO k, e FROM unnest(p_events) AS x;
  UPDATE T_head SET seq = seq + n, updates = updates + k, events = events + e RETURNING * INTO h;
  INSERT INTO T_updates (seq, id, topics, data, private, type, retry, published_at, subscription_event,
                         control, ordinal)
  SELECT h.seq - n + u.i, u.id, ARRAY(SELECT json_array_elements_text(u.topics::json)), u.data, u.private,
         NULLIF(u.type, ''), NULLIF(u.retry, 0), clock_timestamp(), u.event, u.control,
         CASE WHEN u.event THEN h.events - e + count(*) FILTER (WHERE u.event) OVER w
              ELSE h.updates - k + count(*) FILTER (WHERE NOT u.event) OVER w END
  FROM unnest(p_ids, p_topics, p_data, p_private, p_types, p_retries, p_events, p_controls)
       WITH ORDINALITY AS u(id, topics, data, private, type, retry, event, control, i)
  WINDOW w AS (ORDER BY u.i);
  -- Trimmed in steps of 100, keeping 100 more as slack (between size + 100 and size + 200 are
  -- kept; Redis's MAXLEN ~ and the Bolt hub's cleanup are approximate too): a delete per 100
  -- updates, not one per batch, and a node up to 100 records behind is never overtaken.
  IF p_size > 0 AND h.updates > p_size + 100
     AND (h.updates - p_size - 100) / 100 > greatest(h.updates - k - p_size - 100, 0) / 100 THEN
    WITH gone AS (DELETE FROM T_updates WHERE NOT subscription_event
                  AND ordinal <= (h.updates - p_size - 100) / 100 * 100 RETURNING seq)
    SELECT max(seq) INTO cut FROM gone;
    IF cut IS NOT NULL THEN
      UPDATE T_head SET trimmed = greatest(trimmed, cut);
    END IF;
  END IF;
  IF p_events_size > 0 AND h.events > p_events_size THEN
    DELETE FROM T_updates WHERE subscription_event AND ordinal <= h.events - p_events_size;
  END IF;
  PERFORM pg_notify('T_updates', '');
  RETURN h.seq - n + 1;
END
$fn$;
)sql";

std::string named(const char* text, const std::string& t) { return std::regex_replace(text, std::regex("\\bT_"), t + "_"); }

}  // namespace

/// Version 1's statements run only while the schema is older: DDL on tables in use (CREATE
/// INDEX IF NOT EXISTS still locks the table) would deadlock with publishes of other nodes.
std::string migration(const std::string& t) {
  std::string s = "BEGIN;\nSELECT pg_advisory_xact_lock(hashtext('herald-schema:" + t + "'));\n";
  s += "CREATE TABLE IF NOT EXISTS " + t + "_schema (version integer NOT NULL);\n";
  s += "DO $migrate$ BEGIN\nIF EXISTS (SELECT 1 FROM " + t + "_schema WHERE version >= 1) THEN RETURN; END IF;\n";
  s += named(kVersion1, t);
  s += named(kPublish, t);
  s += "INSERT INTO " + t + "_schema (version) VALUES (1);\nEND $migrate$;\nCOMMIT;\n";
  return s;
}

}  // namespace herald::pg_schema
