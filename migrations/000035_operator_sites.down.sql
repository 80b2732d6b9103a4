DROP TABLE signup_invites;
