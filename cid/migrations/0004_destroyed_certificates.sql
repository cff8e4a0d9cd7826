-- R03/R61: nothing derived from a non-disclosable certificate survives its destruction.
-- Before this, a non-disclosable certificate's "most serious" mark (R12) was kept on its
-- row and copied to its case, and its issue date stayed after destruction.

-- The case's mark comes from its disclosable certificates alone.
UPDATE cases c SET most_serious = EXISTS (
    SELECT 1 FROM certificates k WHERE k.case_id = c.id AND k.disclosable AND k.most_serious
) WHERE c.most_serious;

UPDATE certificates SET most_serious = false WHERE NOT disclosable AND most_serious;
UPDATE certificates SET issued_on = NULL WHERE destroyed_at IS NOT NULL AND NOT disclosable AND issued_on IS NOT NULL;

ALTER TABLE certificates ADD CONSTRAINT certificates_nothing_kept_from_non_disclosable
    CHECK (disclosable OR NOT most_serious);
