"""The fake GitHub: REST routes PyGithub uses for a bump, GraphQL updateRefs and
enablePullRequestAutoMerge, GitHub App tokens, and fault injection.

Git objects live in a real bare repository (blobs, trees and commits by git plumbing; ref
updates are compare-and-swap through ``git update-ref <new> <old>``), so a test can clone
the result and diff it. Every answer is validated against GitHub's OpenAPI description
(or the GraphQL schema); problems are collected in ``violations`` and the fixture fails the
test on any.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

from tests.fakes.github import graphql, openapi

ZERO = "0" * 40
Handler = Callable[["Request"], tuple[int, Any]]


@dataclass
class Fault:
    """Answer the next ``times`` matching requests with ``status`` (or hang for ``delay`` s)."""

    method: str
    path: str  # a regular expression matched against the URL path
    status: int = 500
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"
    delay: float = 0.0  # with status 0: hang this long and close without answering
    process: bool = False  # with status 0: do the work first, then lose the answer


@dataclass
class Pull:
    number: int
    head: str
    base: str
    title: str
    body: str
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    team_reviewers: list[str] = field(default_factory=list)
    auto_merge: str | None = None
    merged: bool = False

    @property
    def node_id(self) -> str:
        return f"PR_fake{self.number}"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    match: re.Match[str]
    token: str


class GitRepo:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        ok: tuple[int, ...] = (0,),
    ) -> str:
        done = subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            input=stdin,
            capture_output=True,
            env={**os.environ, "LC_ALL": "C", **(env or {})},
            check=False,
        )
        if done.returncode not in ok:
            raise RuntimeError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode("utf-8", errors="replace")

    def ref(self, name: str) -> str | None:
        out = self("rev-parse", "--verify", "-q", f"refs/{name}^{{commit}}", ok=(0, 1)).strip()
        return out or None

    def exists(self, sha: str, kind: str) -> bool:
        return self("cat-file", "-t", sha, ok=(0, 128)).strip() == kind


class FakeGitHub:
    """Start with :meth:`start`; ``url`` is the base_url for PyGithub."""

    def __init__(
        self,
        bare_repo: Path,
        owner: str = "acme",
        name: str = "config",
        default_branch: str = "main",
    ) -> None:
        self.git = GitRepo(bare_repo)
        self.owner, self.name, self.default_branch = owner, name, default_branch
        self.tokens: set[str] = {"test-token"}
        self.app_id = "4242"
        self.app_public_key: str | None = None
        self.installation_id = 77
        self.pulls: dict[int, Pull] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.violations: list[str] = []
        self.mergeable_clean = False  # auto-merge answers "clean status" (already mergeable)
        self.auto_merge_allowed = True
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        for method, pattern, template, handler in (
            ("GET", repo, "/repos/{owner}/{repo}", self._get_repo),
            (
                "GET",
                repo + "/installation",
                "/repos/{owner}/{repo}/installation",
                self._get_installation,
            ),
            (
                "POST",
                r"/app/installations/(?P<id>\d+)/access_tokens",
                "/app/installations/{installation_id}/access_tokens",
                self._access_token,
            ),
            (
                "GET",
                repo + r"/git/ref/(?P<ref>.+)",
                "/repos/{owner}/{repo}/git/ref/{ref}",
                self._get_ref,
            ),
            (
                "GET",
                repo + r"/contents/(?P<path>.+)",
                "/repos/{owner}/{repo}/contents/{path}",
                self._get_contents,
            ),
            (
                "GET",
                repo + r"/git/commits/(?P<sha>[0-9a-f]{40})",
                "/repos/{owner}/{repo}/git/commits/{commit_sha}",
                self._get_commit,
            ),
            ("POST", repo + "/git/trees", "/repos/{owner}/{repo}/git/trees", self._create_tree),
            (
                "POST",
                repo + "/git/commits",
                "/repos/{owner}/{repo}/git/commits",
                self._create_commit,
            ),
            ("POST", repo + "/git/refs", "/repos/{owner}/{repo}/git/refs", self._create_ref),
            ("GET", repo + "/pulls", "/repos/{owner}/{repo}/pulls", self._list_pulls),
            ("POST", repo + "/pulls", "/repos/{owner}/{repo}/pulls", self._create_pull),
            (
                "PATCH",
                repo + r"/pulls/(?P<number>\d+)",
                "/repos/{owner}/{repo}/pulls/{pull_number}",
                self._edit_pull,
            ),
            (
                "PUT",
                repo + r"/pulls/(?P<number>\d+)/merge",
                "/repos/{owner}/{repo}/pulls/{pull_number}/merge",
                self._merge_pull,
            ),
            (
                "POST",
                repo + r"/issues/(?P<number>\d+)/labels",
                "/repos/{owner}/{repo}/issues/{issue_number}/labels",
                self._add_labels,
            ),
            (
                "POST",
                repo + r"/pulls/(?P<number>\d+)/requested_reviewers",
                "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
                self._request_reviewers,
            ),
        ):
            self._routes.append((method, re.compile(pattern + "$"), template, handler))

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeGitHub:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def web(self) -> str:
        return self.url + "/web"

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def count(self, method: str | None = None, pattern: str = "") -> int:
        return sum(
            1 for m, p in self.requests if (method is None or m == method) and re.search(pattern, p)
        )

    # -- dispatch --------------------------------------------------------------------------
    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        split = urlsplit(http.path)
        path = unquote(split.path)
        method = http.command
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append((method, path))
            fault = next(
                (
                    f
                    for f in self.faults
                    if f.method == method and re.search(f.path, path) and f.times > 0
                ),
                None,
            )
            if fault is not None:
                fault.times -= 1
        if fault is not None and fault.process:
            http.lost_answer_delay = fault.delay  # type: ignore[attr-defined]
        elif fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status == 0:
                http.close_connection = True
                return
            self._send(
                http,
                fault.status,
                {"message": fault.message, "documentation_url": "https://docs.github.com/rest"},
                fault.headers,
            )
            return
        auth = http.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        body = json.loads(raw) if raw else None
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        if path == "/graphql" and method == "POST":
            self._graphql(http, token, body)
            return
        for route_method, pattern, template, handler in self._routes:
            match = pattern.match(path)
            if match is None or route_method != method:
                continue
            request = Request(method, path, query, body, match, token)
            asked_wrong = openapi.validate_request(method, template, body)
            if asked_wrong:
                self.violations.extend(asked_wrong)
                self._send(
                    http,
                    422,
                    {
                        "message": "Validation Failed: " + asked_wrong[0],
                        "documentation_url": "https://docs.github.com/rest",
                    },
                )
                return
            if not self._authorised(request):
                status, answer = (
                    401,
                    {
                        "message": "Bad credentials",
                        "documentation_url": "https://docs.github.com/rest",
                    },
                )
            else:
                with self._lock:
                    status, answer = handler(request)
            answer = openapi.rebase_urls(answer, self.url, self.web)
            problems = openapi.validate(method, template, status, answer)
            if problems:
                self.violations.extend(problems)
                status, answer = 500, {"message": "fake answered off-spec: " + problems[0]}
            self._send(http, status, answer)
            return
        self.violations.append(f"no route for {method} {path}")
        self._send(
            http, 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        )

    def _send(
        self,
        http: BaseHTTPRequestHandler,
        status: int,
        answer: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        lost_after = getattr(http, "lost_answer_delay", None)
        if lost_after is not None:  # the work is done, the client never hears of it
            time.sleep(lost_after)
            http.close_connection = True
            return
        data = b"" if answer is None else json.dumps(answer).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json; charset=utf-8")
        http.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            http.send_header(key, value)
        http.end_headers()
        http.wfile.write(data)

    def _authorised(self, request: Request) -> bool:
        app_routes = ("/installation", "/access_tokens")
        if request.path.endswith(app_routes):
            if self.app_public_key is None:
                return False
            try:
                claims = jwt.decode(request.token, self.app_public_key, algorithms=["RS256"])
            except jwt.PyJWTError:
                return False
            return str(claims.get("iss")) == self.app_id
        return request.token in self.tokens

    def _error(self, status: int, message: str) -> tuple[int, Any]:
        return status, {"message": message, "documentation_url": "https://docs.github.com/rest"}

    # -- REST handlers ---------------------------------------------------------------------
    def _repo_fields(self) -> dict[str, Any]:
        full = f"{self.owner}/{self.name}"
        api = f"{self.url}/repos/{full}"
        return {
            "name": self.name,
            "full_name": full,
            "url": api,
            "html_url": f"{self.web}/{full}",
            "default_branch": self.default_branch,
            "node_id": "R_fakeconfig",
            "allow_auto_merge": self.auto_merge_allowed,
        }

    def _get_repo(self, request: Request) -> tuple[int, Any]:
        answer = openapi.example("GET", "/repos/{owner}/{repo}", 200)
        answer.update(self._repo_fields())
        answer["owner"]["login"] = self.owner
        answer["language"] = "YAML"  # the official example omits this required field
        for fork_only in ("source", "parent", "template_repository"):
            answer.pop(fork_only, None)
        return 200, answer

    def _get_installation(self, request: Request) -> tuple[int, Any]:
        answer = openapi.example("GET", "/repos/{owner}/{repo}/installation", 200)
        answer["id"] = self.installation_id
        answer["app_id"] = int(self.app_id)
        return 200, answer

    def _access_token(self, request: Request) -> tuple[int, Any]:
        if int(request.match["id"]) != self.installation_id:
            return self._error(404, "Not Found")
        token = f"ghs_fake{len(self.tokens)}"
        self.tokens.add(token)
        answer = openapi.example("POST", "/app/installations/{installation_id}/access_tokens", 201)
        answer["token"] = token
        answer["expires_at"] = "2099-01-01T00:00:00Z"
        return 201, answer

    def _ref_answer(self, name: str, sha: str) -> dict[str, Any]:
        api = f"{self.url}/repos/{self.owner}/{self.name}"
        return {
            "ref": f"refs/{name}",
            "node_id": "REF_fake",
            "url": f"{api}/git/refs/{name}",
            "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
        }

    def _get_ref(self, request: Request) -> tuple[int, Any]:
        name = request.match["ref"]
        sha = self.git.ref(name)
        return (200, self._ref_answer(name, sha)) if sha else self._error(404, "Not Found")

    def _get_contents(self, request: Request) -> tuple[int, Any]:
        path = request.match["path"]
        ref = request.query.get("ref", self.default_branch)
        commit = ref if re.fullmatch(r"[0-9a-f]{40}", ref) else self.git.ref(f"heads/{ref}")
        if commit is None:
            return self._error(404, "No commit found for the ref")
        blob = self.git("rev-parse", "--verify", "-q", f"{commit}:{path}", ok=(0, 1, 128)).strip()
        if not blob or not self.git.exists(blob, "blob"):
            return self._error(404, "Not Found")
        data = subprocess.run(
            ["git", "--git-dir", str(self.git.path), "cat-file", "blob", blob],
            capture_output=True,
            check=True,
        ).stdout
        api = f"{self.url}/repos/{self.owner}/{self.name}"
        answer = openapi.example("GET", "/repos/{owner}/{repo}/contents/{path}", 200)
        answer.update(
            {
                "type": "file",
                "encoding": "base64",
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": base64.b64encode(data).decode(),
                "sha": blob,
                "url": f"{api}/contents/{path}?ref={ref}",
                "git_url": f"{api}/git/blobs/{blob}",
                "html_url": f"{self.web}/{self.owner}/{self.name}/blob/{ref}/{path}",
                "download_url": f"{self.web}/raw/{path}",
            }
        )
        answer["_links"] = {
            "self": answer["url"],
            "git": answer["git_url"],
            "html": answer["html_url"],
        }
        for key in ("target", "submodule_git_url", "entries"):
            answer.pop(key, None)
        return 200, answer

    def _commit_answer(self, sha: str) -> dict[str, Any]:
        raw = self.git("cat-file", "commit", sha)
        header, _, message = raw.partition("\n\n")
        tree = re.search(r"^tree (\w+)", header, re.M)
        parents = re.findall(r"^parent (\w+)", header, re.M)
        api = f"{self.url}/repos/{self.owner}/{self.name}"

        def person(kind: str) -> dict[str, str]:
            found = re.search(rf"^{kind} (.*) <(.*)> (\d+) ", header, re.M)
            assert found
            when = datetime.fromtimestamp(int(found[3]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return {"name": found[1], "email": found[2], "date": when}

        assert tree
        return {
            "sha": sha,
            "node_id": f"C_{sha[:12]}",
            "url": f"{api}/git/commits/{sha}",
            "html_url": f"{self.web}/{self.owner}/{self.name}/commit/{sha}",
            "author": person("author"),
            "committer": person("committer"),
            "message": message,
            "tree": {"sha": tree[1], "url": f"{api}/git/trees/{tree[1]}"},
            "parents": [
                {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{self.web}/commit/{p}"}
                for p in parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def _get_commit(self, request: Request) -> tuple[int, Any]:
        sha = request.match["sha"]
        if not self.git.exists(sha, "commit"):
            return self._error(404, "Not Found")
        return 200, self._commit_answer(sha)

    def _create_tree(self, request: Request) -> tuple[int, Any]:
        body = request.body or {}
        index = self.git.path / f"fake-index-{threading.get_ident()}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            base = body.get("base_tree")
            if base:
                if not self.git.exists(base, "tree"):
                    return self._error(422, "base_tree is not a valid tree")
                self.git("read-tree", base, env=env)
            else:
                self.git("read-tree", "--empty", env=env)
            for entry in body.get("tree", []):
                if "content" in entry:
                    blob = self.git(
                        "hash-object", "-w", "--stdin", stdin=entry["content"].encode()
                    ).strip()
                else:
                    blob = entry["sha"]
                self.git(
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    f"{entry['mode']},{blob},{entry['path']}",
                    env=env,
                )
            tree = self.git("write-tree", env=env).strip()
        finally:
            index.unlink(missing_ok=True)
        api = f"{self.url}/repos/{self.owner}/{self.name}"
        entries = []
        for line in self.git("ls-tree", "-l", tree).splitlines():
            meta, path = line.split("\t", 1)
            mode, kind, sha, size = meta.split()
            item = {
                "path": path,
                "mode": mode,
                "type": kind,
                "sha": sha,
                "url": f"{api}/git/{kind}s/{sha}",
            }
            if size != "-":
                item["size"] = int(size)
            entries.append(item)
        return 201, {
            "sha": tree,
            "url": f"{api}/git/trees/{tree}",
            "tree": entries,
            "truncated": False,
        }

    def _create_commit(self, request: Request) -> tuple[int, Any]:
        body = request.body or {}
        tree, parents = body.get("tree", ""), body.get("parents", [])
        if not self.git.exists(tree, "tree") or not all(
            self.git.exists(p, "commit") for p in parents
        ):
            return self._error(422, "Tree SHA does not exist")
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {
            "GIT_AUTHOR_NAME": "shipline",
            "GIT_AUTHOR_EMAIL": "bot@example.test",
            "GIT_COMMITTER_NAME": "GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.com",
        }
        sha = self.git(*args, "-m", body.get("message", ""), env=env).strip()
        return 201, self._commit_answer(sha)

    def _create_ref(self, request: Request) -> tuple[int, Any]:
        body = request.body or {}
        ref, sha = body.get("ref", ""), body.get("sha", "")
        if not ref.startswith("refs/") or not self.git.exists(sha, "commit"):
            return self._error(422, "Invalid request")
        result = subprocess.run(
            ["git", "--git-dir", str(self.git.path), "update-ref", ref, sha, ZERO],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            return self._error(422, "Reference already exists")
        return 201, self._ref_answer(ref.removeprefix("refs/"), sha)

    def _pull_answer(self, pull: Pull, simple: bool = False) -> dict[str, Any]:
        template = (
            ("GET", "/repos/{owner}/{repo}/pulls", 200)
            if simple
            else ("POST", "/repos/{owner}/{repo}/pulls", 201)
        )
        answer = openapi.example(*template)
        if simple:
            answer = answer[0]
        answer = openapi.rebase_urls(answer, self.url, self.web)
        api = f"{self.url}/repos/{self.owner}/{self.name}"
        full = f"{self.owner}/{self.name}"
        head_sha = self.git.ref(f"heads/{pull.head}") or ZERO
        base_sha = self.git.ref(f"heads/{pull.base}") or ZERO
        answer.update(
            {
                "number": pull.number,
                "id": 1000 + pull.number,
                "node_id": pull.node_id,
                "title": pull.title,
                "body": pull.body,
                "state": pull.state,
                "url": f"{api}/pulls/{pull.number}",
                "html_url": f"{self.web}/{full}/pull/{pull.number}",
                "issue_url": f"{api}/issues/{pull.number}",
                "merged_at": "2026-01-01T00:00:00Z" if pull.merged else None,
                "labels": [self._label(name) for name in pull.labels],
                "requested_reviewers": [
                    dict(answer["user"], login=login) for login in pull.reviewers
                ],
                "requested_teams": [],
                "auto_merge": None,
                "draft": False,
            }
        )
        for side, branch, sha in (("head", pull.head, head_sha), ("base", pull.base, base_sha)):
            answer[side].update({"ref": branch, "sha": sha, "label": f"{self.owner}:{branch}"})
            answer[side]["repo"].update(self._repo_fields())
        if not simple:
            answer.update(
                {
                    "merged": pull.merged,
                    "mergeable": True,
                    "mergeable_state": "clean" if self.mergeable_clean else "blocked",
                }
            )
        return answer

    def _label(self, name: str) -> dict[str, Any]:
        return {
            "id": abs(hash(name)) % 10**6,
            "node_id": f"LA_{name}",
            "url": f"{self.url}/repos/{self.owner}/{self.name}/labels/{name}",
            "name": name,
            "description": "",
            "color": "ededed",
            "default": False,
        }

    def _list_pulls(self, request: Request) -> tuple[int, Any]:
        state = request.query.get("state", "open")
        head = request.query.get("head")
        base = request.query.get("base")
        found = [
            p
            for p in sorted(self.pulls.values(), key=lambda p: p.number)
            if (state == "all" or p.state == state)
            and (head is None or f"{self.owner}:{p.head}" == head)
            and (base is None or p.base == base)
        ]
        return 200, [self._pull_answer(p, simple=True) for p in found]

    def _create_pull(self, request: Request) -> tuple[int, Any]:
        body = request.body or {}
        head, base = body.get("head", ""), body.get("base", "")
        if not self.git.ref(f"heads/{head}") or not self.git.ref(f"heads/{base}"):
            return 422, {
                "message": "Validation Failed",
                "errors": [{"resource": "PullRequest", "code": "invalid", "field": "head"}],
                "documentation_url": "https://docs.github.com/rest",
            }
        if any(
            p.head == head and p.base == base and p.state == "open" for p in self.pulls.values()
        ):
            return 422, {
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {self.owner}:{head}.",
                    }
                ],
                "documentation_url": "https://docs.github.com/rest",
            }
        pull = Pull(len(self.pulls) + 1, head, base, body.get("title", ""), body.get("body") or "")
        self.pulls[pull.number] = pull
        return 201, self._pull_answer(pull)

    def _pull(self, request: Request) -> Pull | None:
        return self.pulls.get(int(request.match["number"]))

    def _edit_pull(self, request: Request) -> tuple[int, Any]:
        pull = self._pull(request)
        if pull is None:
            return self._error(404, "Not Found")
        body = request.body or {}
        pull.title = body.get("title", pull.title)
        pull.body = body.get("body", pull.body)
        pull.state = body.get("state", pull.state)
        return 200, self._pull_answer(pull)

    def _merge_pull(self, request: Request) -> tuple[int, Any]:
        pull = self._pull(request)
        if pull is None or pull.state != "open":
            return self._error(404 if pull is None else 405, "Pull Request is not mergeable")
        head = self.git.ref(f"heads/{pull.head}")
        base = self.git.ref(f"heads/{pull.base}")
        expected = (request.body or {}).get("sha")
        if expected and expected != head:
            return self._error(409, "Head branch was modified. Review and try the merge again.")
        assert head and base
        tree = (
            self.git("merge-tree", "--write-tree", base, head, ok=(0, 1)).split("\n", 1)[0].strip()
        )
        merged = self.git(
            "commit-tree",
            tree,
            "-p",
            base,
            "-p",
            head,
            "-m",
            f"Merge pull request #{pull.number}",
            env={
                "GIT_AUTHOR_NAME": "GitHub",
                "GIT_AUTHOR_EMAIL": "noreply@github.com",
                "GIT_COMMITTER_NAME": "GitHub",
                "GIT_COMMITTER_EMAIL": "noreply@github.com",
            },
        ).strip()
        self.git("update-ref", f"refs/heads/{pull.base}", merged, base)
        pull.merged, pull.state = True, "closed"
        return 200, {"sha": merged, "merged": True, "message": "Pull Request successfully merged"}

    def _add_labels(self, request: Request) -> tuple[int, Any]:
        pull = self._pull(request)
        if pull is None:
            return self._error(404, "Not Found")
        body = request.body
        names = body.get("labels", []) if isinstance(body, dict) else body or []
        for name in names:
            if name not in pull.labels:
                pull.labels.append(name)
        return 200, [self._label(name) for name in pull.labels]

    def _request_reviewers(self, request: Request) -> tuple[int, Any]:
        pull = self._pull(request)
        if pull is None:
            return self._error(404, "Not Found")
        body = request.body or {}
        pull.reviewers += body.get("reviewers", [])
        pull.team_reviewers += body.get("team_reviewers", [])
        answer = self._pull_answer(pull, simple=True)
        return 201, answer

    # -- GraphQL ---------------------------------------------------------------------------
    def _graphql(self, http: BaseHTTPRequestHandler, token: str, body: Any) -> None:
        if token not in self.tokens:
            self._send(
                http,
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/graphql",
                },
            )
            return
        try:
            name, given, selection = graphql.check_request(
                body["query"], body.get("variables") or {}
            )
        except (ValueError, KeyError) as error:
            self.violations.append(f"GraphQL request off-schema: {error}")
            self._send(http, 200, {"errors": [{"message": str(error)}]})
            return
        with self._lock:
            data, error_message = (
                self._update_refs(given)
                if name == "updateRefs"
                else self._enable_auto_merge(given)
                if name == "enablePullRequestAutoMerge"
                else (None, f"{name} is not served by the fake")
            )
        if error_message:
            self._send(
                http,
                200,
                {
                    "data": {name: None},
                    "errors": [{"type": "UNPROCESSABLE", "path": [name], "message": error_message}],
                },
            )
            return
        payload = {key: data.get(key) for key in selection} if isinstance(data, dict) else data
        problems = graphql.check_answer(payload, selection, graphql.payload_type(name), name)
        self.violations.extend(problems)
        self._send(http, 200, {"data": {name: payload}})

    def _update_refs(self, given: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        if given["repositoryId"] != "R_fakeconfig":
            return None, "Could not resolve to a node with the global id"
        for update in given["refUpdates"]:
            before = update.get("beforeOid") or ZERO
            after = update["afterOid"]
            if not update.get("force") and before != ZERO:
                ancestor = subprocess.run(
                    [
                        "git",
                        "--git-dir",
                        str(self.git.path),
                        "merge-base",
                        "--is-ancestor",
                        before,
                        after,
                    ],
                    check=False,
                )
                if ancestor.returncode != 0:
                    return None, f"Ref {update['name']} update is not a fast forward"
            result = subprocess.run(
                [
                    "git",
                    "--git-dir",
                    str(self.git.path),
                    "update-ref",
                    update["name"],
                    after,
                    before,
                ],
                capture_output=True,
                check=False,
            )
            if result.returncode != 0:
                return (
                    None,
                    f"Ref {update['name']} is at a different commit than beforeOid {before}",
                )
        return {"clientMutationId": None}, ""

    def _enable_auto_merge(self, given: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        pull = next((p for p in self.pulls.values() if p.node_id == given["pullRequestId"]), None)
        if pull is None:
            return None, "Could not resolve to a node with the global id"
        if not self.auto_merge_allowed:
            return None, "Pull request Auto merge is not allowed for this repository"
        if self.mergeable_clean:
            return None, "Pull request Pull request is in clean status"
        expected = given.get("expectedHeadOid")
        if expected and expected != self.git.ref(f"heads/{pull.head}"):
            return None, "Pull request head has changed"
        pull.auto_merge = given.get("mergeMethod", "MERGE")
        return {
            "clientMutationId": None,
            "pullRequest": {
                "number": pull.number,
                "autoMergeRequest": {"mergeMethod": pull.auto_merge},
            },
        }, ""
