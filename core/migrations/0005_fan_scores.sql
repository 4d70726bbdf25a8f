-- Segmentation results: one row per fan, replaced by each refresh; the run row keeps the fitted models and the
-- RFM cut-offs so a single fan can be re-scored on a purchase or expiry without refitting.
CREATE TABLE segmentation_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    creator_id   uuid NOT NULL REFERENCES creators(id) ON DELETE CASCADE,
    as_of        timestamptz NOT NULL,
    fans         integer NOT NULL,
    model        jsonb NOT NULL,
    duration_ms  integer NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX segmentation_runs_creator_idx ON segmentation_runs (creator_id, id DESC);

-- Written a million rows at a time: one foreign key only (to the fan, which implies the creator; deleting either
-- cascades). run_id is informational; runs are never deleted.
CREATE TABLE fan_scores (
    creator_id              uuid NOT NULL,
    fan_id                  uuid NOT NULL,
    run_id                  bigint NOT NULL,
    segment                 text NOT NULL CHECK (segment IN ('whale', 'big_spender', 'loyal', 'new', 'at_risk',
                                                             'dormant', 'expired', 'never_spent', 'regular')),
    value_tier              text NOT NULL CHECK (value_tier IN ('whale', 'big_spender', 'spender', 'none')),
    r_score                 smallint CHECK (r_score BETWEEN 1 AND 5),
    f_score                 smallint CHECK (f_score BETWEEN 1 AND 5),
    m_score                 smallint CHECK (m_score BETWEEN 1 AND 5),
    days_since_purchase     integer,
    days_since_active       integer,
    purchase_days           integer NOT NULL,
    spend_cents             bigint NOT NULL,
    discretionary_cents     bigint NOT NULL,
    p_alive                 real,
    expected_purchases      real,
    expected_value_cents    real,
    ltv_cents               bigint,
    best_hours              smallint[] NOT NULL,
    computed_at             timestamptz NOT NULL,
    PRIMARY KEY (creator_id, fan_id),
    FOREIGN KEY (creator_id, fan_id) REFERENCES fans (creator_id, id) ON DELETE CASCADE
);
CREATE INDEX fan_scores_segment_idx ON fan_scores (creator_id, segment, ltv_cents DESC NULLS LAST, fan_id);
CREATE INDEX fan_scores_ltv_idx ON fan_scores (creator_id, ltv_cents DESC NULLS LAST, fan_id);
