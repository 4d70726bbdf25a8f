-- A name written in styled or spelt-out letters often loses its accent ("ｅｌｏｄｉｅ" for Élodie): the outbound policy's
-- lookup of other fans (policies/scoped.py) also compares a display name's key without accents. The expression must
-- stay identical to policies/scoped.py's PLAIN_NAME_KEY (translate() with policies/rules.py's ACCENTED and
-- UNACCENTED) for the planner to use this index.
CREATE INDEX fans_display_name_plain_key ON fans (creator_id, translate(ltrim(lower(btrim(display_name, U&'\0009\000A\000B\000C\000D\001C\001D\001E\001F\0020\0085\00A0\1680\2000\2001\2002\2003\2004\2005\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000')), '@'), 'àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőŕřśšşťùúûüūůűųýÿźżžÀÁÂÃÄÅĀĂĄÇĆČĎÈÉÊËĒĖĘĚÌÍÎÏĪĮŁÑŃŇÒÓÔÕÖØŌŐŔŘŚŠŞŤÙÚÛÜŪŮŰŲÝŸŹŻŽ', 'aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrssstuuuuuuuuyyzzzaaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrssstuuuuuuuuyyzzz'));
