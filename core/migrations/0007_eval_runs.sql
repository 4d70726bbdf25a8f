-- Eval runs (`huntaze eval run`): the canonical results.json summary per run and one row per case.
-- creator_id is NULL for a run on the suites' own fixtures (visible to every member); a run made for one
-- creator is visible to that creator's members only.
CREATE TABLE eval_runs (
    id           uuid PRIMARY KEY,
    creator_id   uuid REFERENCES creators(id) ON DELETE CASCADE,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    model        text NOT NULL DEFAULT '',
    prompts      text NOT NULL DEFAULT 'built-in',
    suites       text[] NOT NULL,
    passed       boolean NOT NULL,
    baseline_id  uuid,
    -- results.json without the per-case rows (suites with metrics, thresholds and counts; the comparison)
    summary      jsonb NOT NULL
);
CREATE INDEX eval_runs_started_idx ON eval_runs (started_at DESC, id DESC);

CREATE TABLE eval_results (
    run_id       uuid NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
    creator_id   uuid,  -- the run's creator_id (NULL for a run on the suites' own fixtures)
    suite        text NOT NULL,
    case_id      text NOT NULL,
    passed       boolean NOT NULL,
    error        text,
    tags         text[] NOT NULL DEFAULT '{}',
    duration_ms  real NOT NULL,
    grades       jsonb NOT NULL,
    detail       jsonb NOT NULL,  -- input, expect, output
    PRIMARY KEY (run_id, suite, case_id)
);
