ALTER TABLE "users" ADD COLUMN "is_system" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- The two system users created before this column existed. Only rows without an API key: the project
-- creates its system users without one, while a row registered through the API always has a key, so
-- an address squatted by registration stays a normal user and is never adopted.
UPDATE "users" SET "is_system" = true
 WHERE "email" IN ('seeds@commontrace.internal', 'capacity-test@commontrace.internal') AND "api_key_hash" IS NULL;
