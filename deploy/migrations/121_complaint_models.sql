-- A brand's own complaint model (qyctl moderation train --category
-- complaint --brand B) is stored and loaded like its ad and abuse models.
ALTER TABLE moderation_models DROP CONSTRAINT moderation_models_category_check;
ALTER TABLE moderation_models ADD CONSTRAINT moderation_models_category_check
    CHECK (category IN ('ad', 'abuse', 'complaint'));
