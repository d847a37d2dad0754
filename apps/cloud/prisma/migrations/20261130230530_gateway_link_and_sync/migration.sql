-- No release ever wrote conversations or messages (sync did not exist), so the
-- NOT NULL columns below need no backfill and the plaintext column goes.

-- CreateEnum
CREATE TYPE "conversation_agent_source" AS ENUM ('workspace', 'local');

-- AlterTable
ALTER TABLE "gateways" ADD COLUMN     "online_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "gateway_enrollments" ADD COLUMN     "name" TEXT;

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN     "agent_id" TEXT NOT NULL,
ADD COLUMN     "agent_source" "conversation_agent_source" NOT NULL;

-- AlterTable
ALTER TABLE "messages" DROP COLUMN "content",
DROP COLUMN "metadata",
ADD COLUMN     "ciphertext" BYTEA NOT NULL,
ADD COLUMN     "data_key_version" INTEGER NOT NULL,
ADD COLUMN     "nonce" BYTEA NOT NULL,
ADD COLUMN     "status" TEXT;

-- CreateTable
CREATE TABLE "conversation_tombstones" (
    "gateway_id" UUID NOT NULL,
    "external_id" TEXT NOT NULL,
    "workspace_id" UUID NOT NULL,
    "deleted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "conversation_tombstones_pkey" PRIMARY KEY ("gateway_id","external_id")
);

-- CreateIndex
CREATE INDEX "conversation_tombstones_workspace_id_idx" ON "conversation_tombstones"("workspace_id");

-- CreateIndex
CREATE INDEX "conversations_workspace_id_agent_id_idx" ON "conversations"("workspace_id", "agent_id");

-- AddForeignKey
ALTER TABLE "conversation_tombstones" ADD CONSTRAINT "conversation_tombstones_gateway_id_fkey" FOREIGN KEY ("gateway_id") REFERENCES "gateways"("id") ON DELETE CASCADE ON UPDATE CASCADE;
