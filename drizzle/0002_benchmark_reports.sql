CREATE TABLE "benchmark_ground_truth" (
	"cache_key" text PRIMARY KEY NOT NULL,
	"run_key" text NOT NULL,
	"trace_count" integer NOT NULL,
	"generator_seed" integer NOT NULL,
	"query_seed" integer NOT NULL,
	"query_count" integer NOT NULL,
	"neighbours" jsonb NOT NULL,
	"exact_p50_ms" double precision,
	"plan_node" text NOT NULL,
	"seconds" double precision NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "benchmark_runs" ADD COLUMN "name" text;--> statement-breakpoint
ALTER TABLE "benchmark_runs" ADD COLUMN "environment" jsonb;--> statement-breakpoint
ALTER TABLE "benchmark_runs" ADD COLUMN "http_p99_ms" double precision;--> statement-breakpoint
CREATE UNIQUE INDEX "ux_benchmark_runs_name" ON "benchmark_runs" USING btree ("name");