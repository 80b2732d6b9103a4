DROP TABLE IF EXISTS second_factor_challenges;
DROP TABLE IF EXISTS recovery_codes;
DROP TABLE IF EXISTS second_factors;
UPDATE sites SET settings = settings - 'require_second_factor';
