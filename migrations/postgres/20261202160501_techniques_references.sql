-- The sources a technique's texts cite as `(Citation: <name>)`: its STIX
-- external references but its own ATT&CK id, as a JSON array of
-- {source_name, description, url}.
ALTER TABLE techniques_technique ADD COLUMN external_references TEXT NOT NULL DEFAULT '[]';

-- Releases synced before references were kept are read again at the next
-- sync (the release comparison would otherwise skip them as unchanged);
-- the catalog itself stays, so nothing that points into it changes.
DELETE FROM techniques_release;
