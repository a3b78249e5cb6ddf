"""Deliberately vulnerable: each weakness is the target of one shipped semgrep rule."""

import hashlib
import os
import pickle
import sqlite3
import subprocess

import requests
import yaml
from fastapi import FastAPI

app = FastAPI(debug=True)

GITHUB_TOKEN = "ghp_R2d2C3poL8u7Kx9Qw4Er5Ty6Ui7Op8As9Df0"


@app.get("/ping")
def ping(host: str) -> str:
    return subprocess.check_output(f"ping -c 1 {host}", shell=True).decode()


@app.get("/run")
def run(command: str) -> int:
    return os.system("echo " + command)


@app.post("/session")
def session(blob: bytes) -> object:
    return pickle.loads(blob)


@app.post("/config")
def config(text: str) -> object:
    return yaml.load(text)


@app.get("/users")
def users(name: str) -> list[tuple[str]]:
    connection = sqlite3.connect("users.db")
    return connection.execute("SELECT id FROM users WHERE name = '%s'" % name).fetchall()


@app.get("/users-by-email")
def users_by_email(email: str) -> list[tuple[str]]:
    connection = sqlite3.connect("users.db")
    return connection.execute(f"SELECT id FROM users WHERE email = '{email}'").fetchall()


@app.get("/digest")
def digest(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@app.get("/fetch")
def fetch(url: str) -> str:
    return requests.get(url, verify=False, timeout=5).text


@app.get("/calc")
def calc(expression: str) -> object:
    return eval(expression)


def safe_config(text: str) -> object:
    return yaml.safe_load(text)


def safe_ping(host: str) -> bytes:
    return subprocess.check_output(["ping", "-c", "1", host])


def safe_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=8000, reload=True)
