"""Deliberately vulnerable settings: one real credential, two names that only look like one."""

DATABASE_PASSWORD = "hunter2hunter2"
SECRET_HEADER = "x-api-secret"
TOKEN_KIND = "BEARER_TOKEN"
