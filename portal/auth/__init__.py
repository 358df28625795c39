"""Users and logins. Everyone logs in here; a SECAS admin manages accounts."""
