-- The outbound policy looks up only the other fans whose display name or handle could appear in a draft (by the
-- draft's 1-3 word phrases), instead of reading every fan of the creator for each draft. Both sides are compared
-- in one form: trimmed of what Python's str.strip() trims (the U& literal), lower case, without a leading '@'.
-- The expression must stay identical to policies/scoped.py's IDENTITY_KEY for the planner to use these indexes.
CREATE INDEX fans_display_name_key ON fans (creator_id, ltrim(lower(btrim(display_name, U&'\0009\000A\000B\000C\000D\001C\001D\001E\001F\0020\0085\00A0\1680\2000\2001\2002\2003\2004\2005\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000')), '@'));
CREATE INDEX fans_platform_fan_id_key ON fans (creator_id, ltrim(lower(btrim(platform_fan_id, U&'\0009\000A\000B\000C\000D\001C\001D\001E\001F\0020\0085\00A0\1680\2000\2001\2002\2003\2004\2005\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000')), '@'));
