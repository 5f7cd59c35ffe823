CREATE TABLE "capacity_runway_samples" (
	"workflow_id" text PRIMARY KEY NOT NULL,
	"benchmark_run_id" uuid NOT NULL,
	"measured_at" timestamp with time zone NOT NULL,
	"live_rows" integer NOT NULL,
	"capacity_rows" integer NOT NULL,
	"index_bytes" bigint NOT NULL,
	"shared_buffers_bytes" bigint NOT NULL,
	"estimated_graph_bytes" bigint NOT NULL,
	"maintenance_work_mem_bytes" bigint NOT NULL,
	"build_seconds" double precision,
	"p99_ms" double precision,
	"http_p99_ms" double precision,
	"recall_at_10" double precision,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "ix_capacity_runway_samples_measured" ON "capacity_runway_samples" USING btree ("measured_at");