CREATE TABLE "span_annotations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"pair" text NOT NULL,
	"timeframe" text NOT NULL,
	"label" text NOT NULL,
	"start_time" bigint NOT NULL,
	"end_time" bigint NOT NULL,
	"confidence" double precision DEFAULT 1 NOT NULL,
	"source" text DEFAULT 'human' NOT NULL,
	"model_prediction" jsonb,
	"note" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "span_annotations_span_order" CHECK ("span_annotations"."start_time" <= "span_annotations"."end_time"),
	CONSTRAINT "span_annotations_confidence_range" CHECK ("span_annotations"."confidence" >= 0 and "span_annotations"."confidence" <= 1),
	CONSTRAINT "span_annotations_source_values" CHECK ("span_annotations"."source" in ('human', 'human_correction', 'model'))
);
--> statement-breakpoint
CREATE INDEX "span_annotations_partition_start_idx" ON "span_annotations" USING btree ("pair","timeframe","start_time");