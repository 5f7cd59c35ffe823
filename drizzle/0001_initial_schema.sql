CREATE TYPE "public"."trace_status" AS ENUM('pending', 'validated', 'rejected');--> statement-breakpoint
CREATE TABLE "benchmark_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_key" text NOT NULL,
	"workflow_id" text,
	"trace_count" integer NOT NULL,
	"dimensions" integer NOT NULL,
	"ef_search" integer,
	"p99_ms" double precision,
	"recall_at_10" double precision,
	"verdict" text,
	"figures" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "capacity_batches" (
	"run_key" text NOT NULL,
	"batch_index" integer NOT NULL,
	"rows" integer NOT NULL,
	"done_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "capacity_batches_run_key_batch_index_pk" PRIMARY KEY("run_key","batch_index")
);
--> statement-breakpoint
CREATE TABLE "tags" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	CONSTRAINT "tags_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "trace_tags" (
	"trace_id" uuid NOT NULL,
	"tag_id" integer NOT NULL,
	CONSTRAINT "trace_tags_trace_id_tag_id_pk" PRIMARY KEY("trace_id","tag_id")
);
--> statement-breakpoint
CREATE TABLE "traces" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"title" text NOT NULL,
	"context_text" text NOT NULL,
	"solution_text" text NOT NULL,
	"embedding" vector(1536),
	"embedding_model_id" text,
	"status" "trace_status" DEFAULT 'pending' NOT NULL,
	"trust_score" double precision DEFAULT 0 NOT NULL,
	"confirmation_count" integer DEFAULT 0 NOT NULL,
	"is_seed" boolean DEFAULT false NOT NULL,
	"is_flagged" boolean DEFAULT false NOT NULL,
	"contributor_id" uuid NOT NULL,
	"agent_model" text,
	"agent_version" text,
	"seed_key" text,
	"content_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"display_name" text,
	"is_seed" boolean DEFAULT false NOT NULL,
	"api_key_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_email_unique" UNIQUE("email"),
	CONSTRAINT "users_api_key_hash_unique" UNIQUE("api_key_hash")
);
--> statement-breakpoint
ALTER TABLE "trace_tags" ADD CONSTRAINT "trace_tags_trace_id_traces_id_fk" FOREIGN KEY ("trace_id") REFERENCES "public"."traces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trace_tags" ADD CONSTRAINT "trace_tags_tag_id_tags_id_fk" FOREIGN KEY ("tag_id") REFERENCES "public"."tags"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "traces" ADD CONSTRAINT "traces_contributor_id_users_id_fk" FOREIGN KEY ("contributor_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ix_benchmark_runs_created" ON "benchmark_runs" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "ix_trace_tags_tag" ON "trace_tags" USING btree ("tag_id");--> statement-breakpoint
CREATE UNIQUE INDEX "ux_traces_seed_key" ON "traces" USING btree ("seed_key") WHERE "traces"."seed_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "ix_traces_contributor" ON "traces" USING btree ("contributor_id");--> statement-breakpoint
CREATE INDEX "ix_traces_embedding_pending" ON "traces" USING btree ("created_at") WHERE "traces"."embedding" IS NULL;--> statement-breakpoint
CREATE INDEX "ix_traces_embedding_hnsw" ON "traces" USING hnsw ("embedding" vector_cosine_ops) WITH (m=16,ef_construction=64);