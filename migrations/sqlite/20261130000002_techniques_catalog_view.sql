-- The catalog's published read surface. Other modules (test cases,
-- coverage) join catalog techniques in SQL only through this view, never
-- the techniques_* tables, so the catalog's tables can change inside the
-- techniques module as long as the view keeps these columns and meanings:
--   domain ('enterprise-attack', ...), attack_id (T1059, T1059.001), name,
--   tactics and platforms (JSON arrays of short names, as text),
--   is_subtechnique, parent_attack_id, revoked and deprecated (0 or 1),
--   revoked_by (the replacing attack_id), missing_since (RFC 3339 UTC text:
--   since when the technique left the synced release; NULL while present).
CREATE VIEW techniques_catalog_technique AS
SELECT domain, attack_id, name, tactics, platforms, is_subtechnique, parent_attack_id,
       revoked, deprecated, revoked_by, missing_since
FROM techniques_technique;
