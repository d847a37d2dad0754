-- Appending a workspace's audit entry in one statement (bench/vault, issue 19).
--
-- A workspace's audit entries form a hash chain: entry n has seq n, prev_hash =
-- entry n-1's hash, and hash = SHA-256(prev_hash || canonical entry), the
-- canonical entry being the JSON text the application builds
-- (modules/audit/recorder.ts, canonicalAuditEntry). The application used to take
-- the chain's advisory lock, read the last entry and insert the next in three
-- statements. This function does the same three steps in one call, so a reveal
-- is one round trip for its entry instead of five (BEGIN, lock, read, insert,
-- COMMIT) and the lock is held for one statement when the call is its own
-- transaction.
--
-- Each query of a VOLATILE PL/pgSQL function takes a new snapshot (READ
-- COMMITTED), so the last entry is read after the lock is granted: the entry a
-- writer before us committed is seen, and two writers never take one seq (the
-- unique (workspace_id, seq) key stays the backstop).
--
-- The hash is computed here from what the application hashes: the canonical
-- entry is `head || seq || tail`, where `head` and `tail` are the UTF-8 bytes
-- of the canonical JSON before and after the seq (a decimal string, the only
-- field the application cannot know before the lock). Verification
-- (modules/audit/verify.ts) recomputes every hash in the application, as before.
--
-- The migration runner splits a script at every semicolon, dollar quotes and
-- comments included, so the body below is an E'' string whose statement ends
-- are written \073 (octal for a semicolon) and whose quotes are doubled.
CREATE FUNCTION "audit_append"(
    "lock_namespace" INTEGER,
    "lock_key" TEXT,
    "p_workspace_id" UUID,
    "p_actor_kind" "audit_actor_kind",
    "p_actor_id" UUID,
    "p_action" TEXT,
    "p_target_type" TEXT,
    "p_target_id" TEXT,
    "p_metadata" JSONB,
    "p_ip" INET,
    "p_user_agent" TEXT,
    "p_created_at" TIMESTAMPTZ,
    "canonical_head" BYTEA,
    "canonical_tail" BYTEA
) RETURNS BIGINT
LANGUAGE plpgsql VOLATILE AS E'
DECLARE
    "last_seq" BIGINT\073
    "last_hash" BYTEA\073
    "next_seq" BIGINT\073
BEGIN
    PERFORM pg_advisory_xact_lock("lock_namespace", hashtext("lock_key"))\073
    SELECT a."seq", a."hash" INTO "last_seq", "last_hash"
      FROM "audit_events" a
     WHERE a."workspace_id" = "p_workspace_id"
     ORDER BY a."seq" DESC
     LIMIT 1\073
    "next_seq" := COALESCE("last_seq", 0) + 1\073
    INSERT INTO "audit_events"
        ("workspace_id", "seq", "actor_kind", "actor_id", "action", "target_type", "target_id", "metadata",
         "ip", "user_agent", "created_at", "prev_hash", "hash")
    VALUES ("p_workspace_id", "next_seq", "p_actor_kind", "p_actor_id", "p_action", "p_target_type", "p_target_id",
            "p_metadata", "p_ip", "p_user_agent", "p_created_at", "last_hash",
            sha256(COALESCE("last_hash", ''\\x''::BYTEA) || "canonical_head"
                   || convert_to("next_seq"::TEXT, ''UTF8'') || "canonical_tail"))\073
    RETURN "next_seq"\073
END
';
