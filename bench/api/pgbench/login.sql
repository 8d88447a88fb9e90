-- POST /auth/login: the database's part only (the user by email); the password hash is CPU in
-- the server, not database work.
SELECT id, email, password_hash, created_at FROM users WHERE email = :email;
