"""The password every test user of the web tests has (cheap argon2 parameters in tests)."""

PASSWORD = "correct horse battery staple"
