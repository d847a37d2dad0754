-- A synced conversation is named by (workspace, person, the gateway's own id
-- for it), no longer by (gateway, that id): re-linking the same install enrolls
-- a new gateway id, and its resend must continue the conversation the cloud
-- holds (and meet its tombstone), not start an empty copy. The gateway's ids
-- are random UUIDs, so two gateways of one person never share one by chance.
--
-- Existing rows are brought under the new key before it is enforced:
-- 1. tombstones name their person (from their gateway), one per new key;
-- 2. a conversation whose new key has a tombstone was deleted by the person and
--    came back through a re-link's resend (the defect this fixes): it goes;
-- 3. of the copies a re-link made of one conversation, the one the cloud holds
--    furthest (highest contiguous `last_seq`, then the oldest) stays. A copy's
--    messages cannot move to it (their ciphertext is bound to their own
--    conversation id), and nothing past the kept copy's `last_seq` was ever
--    acked, so the gateway sends it again.

-- Tombstones: the person, then the new key.
ALTER TABLE "conversation_tombstones" ADD COLUMN "owner_user_id" UUID;

UPDATE "conversation_tombstones" t
   SET "owner_user_id" = g."owner_user_id"
  FROM "gateways" g
 WHERE g."id" = t."gateway_id";

DELETE FROM "conversation_tombstones" t
 USING (SELECT "gateway_id", "external_id",
               row_number() OVER (PARTITION BY "workspace_id", "owner_user_id", "external_id"
                                  ORDER BY "deleted_at", "gateway_id") AS "rank"
          FROM "conversation_tombstones") d
 WHERE t."gateway_id" = d."gateway_id" AND t."external_id" = d."external_id" AND d."rank" > 1;

-- DropForeignKey
ALTER TABLE "conversation_tombstones" DROP CONSTRAINT "conversation_tombstones_gateway_id_fkey";

-- DropIndex
DROP INDEX "conversation_tombstones_workspace_id_idx";

-- AlterTable
ALTER TABLE "conversation_tombstones" DROP CONSTRAINT "conversation_tombstones_pkey",
DROP COLUMN "gateway_id",
ALTER COLUMN "owner_user_id" SET NOT NULL,
ADD CONSTRAINT "conversation_tombstones_pkey" PRIMARY KEY ("workspace_id", "owner_user_id", "external_id");

-- Conversations: a tombstoned one that came back goes (its messages by cascade).
DELETE FROM "conversations" c
 USING "conversation_tombstones" t
 WHERE t."workspace_id" = c."workspace_id" AND t."owner_user_id" = c."owner_user_id"
   AND t."external_id" = c."external_id";

-- Conversations: one per new key, the furthest held.
DELETE FROM "conversations" c
 USING (SELECT "id",
               row_number() OVER (PARTITION BY "workspace_id", "owner_user_id", "external_id"
                                  ORDER BY "last_seq" DESC, "created_at", "id") AS "rank"
          FROM "conversations") d
 WHERE c."id" = d."id" AND d."rank" > 1;

-- DropIndex
DROP INDEX "conversations_gateway_id_external_id_key";

-- CreateIndex
CREATE UNIQUE INDEX "conversations_workspace_id_owner_user_id_external_id_key" ON "conversations"("workspace_id", "owner_user_id", "external_id");

-- CreateIndex
CREATE INDEX "conversation_tombstones_owner_user_id_idx" ON "conversation_tombstones"("owner_user_id");

-- AddForeignKey
ALTER TABLE "conversation_tombstones" ADD CONSTRAINT "conversation_tombstones_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation_tombstones" ADD CONSTRAINT "conversation_tombstones_owner_user_id_fkey" FOREIGN KEY ("owner_user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
