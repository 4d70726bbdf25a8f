-- The outbound policy looks up only the other fans whose display name or handle could appear in a draft (by the
-- draft's 1-3 word phrases), instead of reading every fan of the creator for each draft. Both sides are compared
-- in one form: trimmed, lower case, without a leading '@'. The expression must stay identical to the one in
-- policies/scoped.py (IDENTITY_KEY) for the planner to use these indexes.
CREATE INDEX fans_display_name_key ON fans (creator_id, ltrim(lower(btrim(display_name, E' \t\n\r\f')), '@'));
CREATE INDEX fans_platform_fan_id_key ON fans (creator_id, ltrim(lower(btrim(platform_fan_id, E' \t\n\r\f')), '@'));
