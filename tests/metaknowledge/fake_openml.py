"""A loopback fake of the OpenML XML API (v1, as openml-python 0.15.1 calls it), for tests.

It serves data the test builds (:class:`FakeOpenML`): suites, datasets with qualities, flows (plain
or pipelines of component flows), setups and evaluations. Routes, relative to ``/api/v1/xml/``:
``study/{id}``, ``evaluation/list/...``, ``user/list/user_id/{ids}``, ``setup/list/...``,
``setup/{id}``, ``data/{id}``, ``data/qualities/{id}``, ``data/qualities/list``, ``run/list/...``,
``task/list/...``. Filters are ``/key/value`` pairs in any order; lists are comma-separated.
Every document carries ``xmlns:oml="http://openml.org/openml"``; errors are HTTP 412 with an
``oml:error`` body (542/674/512/372/482 "no results", 540/545/546 bad listing requests, 111/362
unknown dataset/qualities); responses are gzip-encoded like the real server's. ``fail_on`` injects
an error for requests whose path contains a string.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

NS = 'xmlns:oml="http://openml.org/openml"'
PREFIX = "/api/v1/xml/"
MAX_EVALUATION_LIMIT = 10000
MAX_SETUP_LIMIT = 1000


class ApiError(Exception):
    def __init__(self, code: int, message: str, info: str | None = None, status: int = 412):
        super().__init__(message)
        self.code, self.message, self.info, self.status = code, message, info, status


@dataclass
class Flow:
    id: int
    name: str  # e.g. sklearn.ensemble._forest.RandomForestClassifier
    version: int = 1
    components: tuple[int, ...] = ()  # component flow ids (a pipeline's steps)

    @property
    def full_name(self) -> str:
        return f"{self.name}({self.version})"


@dataclass
class Setup:
    id: int
    flow_id: int
    values: dict[tuple[int, str], str]  # (flow id of the component, parameter) -> raw value


@dataclass
class Evaluation:
    run_id: int
    task_id: int
    setup_id: int
    value: float
    function: str = "unweighted_recall"
    uploader: int = 1


@dataclass
class Dataset:
    id: int
    name: str
    qualities: dict[str, float | None] | None = None


@dataclass
class FakeOpenML:
    """The server's data, built by the test; ``start()`` serves it on 127.0.0.1."""

    suites: dict[int, list[int]] = field(default_factory=dict)
    task_data: dict[int, int] = field(default_factory=dict)  # task id -> dataset id
    datasets: dict[int, Dataset] = field(default_factory=dict)
    flows: dict[int, Flow] = field(default_factory=dict)
    setups: dict[int, Setup] = field(default_factory=dict)
    evaluations: list[Evaluation] = field(default_factory=list)
    users: dict[int, str] = field(default_factory=lambda: {1: "alice", 2: "bob"})
    fail_on: dict[str, ApiError] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> str:
        """Serve on a free port; returns the API root to set as ``openml.config.server``."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                status, body = fake.respond(self.path)
                data = gzip.compress(body.encode("utf-8"))
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v1/xml"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- dispatch --------------------------------------------------------------------------------
    def respond(self, raw_path: str) -> tuple[int, str]:
        path = raw_path.split("?", 1)[0].replace("%3d", "=").replace("%3D", "=")
        try:
            for needle, error in self.fail_on.items():
                if needle in path:
                    raise error
            if not path.startswith(PREFIX):
                raise ApiError(0, "Unknown API", status=404)
            parts = [p for p in path[len(PREFIX) :].split("/") if p]
            return 200, self._route(parts)
        except ApiError as e:
            info = (
                f"<oml:additional_information>{escape(e.info)}</oml:additional_information>"
                if e.info
                else ""
            )
            body = (
                f"<oml:error {NS}>\n  <oml:code>{e.code}</oml:code>\n"
                f"  <oml:message>{escape(e.message)}</oml:message>{info}\n</oml:error>\n"
            )
            return e.status, body

    def _route(self, parts: list[str]) -> str:
        head = parts[:2]
        if parts[:1] == ["study"] and len(parts) == 2:
            return self._study(parts[1])
        if head == ["evaluation", "list"]:
            return self._evaluations(_filters(parts[2:]))
        if parts[:3] == ["user", "list", "user_id"] and len(parts) == 4:
            return self._users(parts[3])
        if head == ["setup", "list"]:
            return self._setup_list(_filters(parts[2:]))
        if parts[:1] == ["setup"] and len(parts) == 2:
            return self._setup(int(parts[1]))
        if head == ["data", "qualities"] and len(parts) == 3:
            if parts[2] == "list":
                return self._quality_names()
            return self._qualities(int(parts[2]))
        if parts[:1] == ["data"] and len(parts) == 2:
            return self._data(int(parts[1]))
        if head == ["run", "list"]:
            return self._runs(_filters(parts[2:]))
        if head == ["task", "list"]:
            return self._tasks(_filters(parts[2:]))
        raise ApiError(0, f"Unknown call {'/'.join(parts)}", status=404)

    # -- routes ----------------------------------------------------------------------------------
    def _study(self, key: str) -> str:
        if not key.isdigit() or int(key) not in self.suites:
            raise ApiError(601, "Unknown study")
        sid = int(key)
        tasks = self.suites[sid]
        data = sorted({self.task_data[t] for t in tasks if t in self.task_data})
        return (
            f"<oml:study {NS}>\n  <oml:id>{sid}</oml:id>\n"
            "  <oml:main_entity_type>task</oml:main_entity_type>\n"
            f"  <oml:name>suite {sid}</oml:name>\n  <oml:description>test suite</oml:description>\n"
            "  <oml:visibility>public</oml:visibility>\n  <oml:status>active</oml:status>\n"
            "  <oml:creation_date>2024-01-01T00:00:00</oml:creation_date>\n"
            "  <oml:creator>1</oml:creator>\n"
            "  <oml:data>"
            + "".join(f"<oml:data_id>{d}</oml:data_id>" for d in data)
            + "</oml:data>\n"
            "  <oml:tasks>"
            + "".join(f"<oml:task_id>{t}</oml:task_id>" for t in tasks)
            + "</oml:tasks>\n</oml:study>\n"
        )

    def _evaluations(self, f: dict[str, str]) -> str:
        if "function" not in f:
            raise ApiError(540, "Please provide function")
        if "offset" in f and "limit" not in f:
            raise ApiError(545, "Offset without limit")
        if "limit" in f and int(f["limit"]) > MAX_EVALUATION_LIMIT:
            raise ApiError(546, "Limit too large")
        rows = [e for e in self.evaluations if e.function == f["function"]]
        for key, attr in (("task", "task_id"), ("setup", "setup_id"), ("run", "run_id")):
            if key in f:
                wanted = _ids(f[key])
                rows = [e for e in rows if getattr(e, attr) in wanted]
        if "flow" in f:
            wanted = _ids(f["flow"])
            rows = [e for e in rows if self.setups[e.setup_id].flow_id in wanted]
        if "uploader" in f:
            wanted = _ids(f["uploader"])
            rows = [e for e in rows if e.uploader in wanted]
        rows.sort(key=lambda e: e.run_id)
        if "limit" not in f and len(rows) > MAX_EVALUATION_LIMIT:
            raise ApiError(543, "Too many results, please use a limit")
        rows = _page(rows, f)
        if not rows:
            raise ApiError(542, "No results", "No evaluations found for the given filters")
        items = []
        for e in rows:
            flow = self.flows[self.setups[e.setup_id].flow_id]
            data = self.datasets[self.task_data[e.task_id]]
            items.append(
                "  <oml:evaluation>\n"
                f"    <oml:run_id>{e.run_id}</oml:run_id>\n"
                f"    <oml:task_id>{e.task_id}</oml:task_id>\n"
                f"    <oml:setup_id>{e.setup_id}</oml:setup_id>\n"
                f"    <oml:flow_id>{flow.id}</oml:flow_id>\n"
                f"    <oml:flow_name>{escape(flow.full_name)}</oml:flow_name>\n"
                f"    <oml:data_id>{data.id}</oml:data_id>\n"
                f"    <oml:data_name>{escape(data.name)}</oml:data_name>\n"
                f"    <oml:function>{e.function}</oml:function>\n"
                "    <oml:upload_time>2024-01-01T00:00:00</oml:upload_time>\n"
                f"    <oml:uploader>{e.uploader}</oml:uploader>\n"
                f"    <oml:value>{e.value!r}</oml:value>\n"
                "  </oml:evaluation>\n"
            )
        return f"<oml:evaluations {NS}>\n" + "".join(items) + "</oml:evaluations>\n"

    def _users(self, ids: str) -> str:
        users = [u for u in sorted(_ids(ids)) if u in self.users]
        if not users:
            raise ApiError(541, "No results")
        body = "".join(
            f"  <oml:user>\n    <oml:id>{u}</oml:id>\n"
            f"    <oml:username>{self.users[u]}</oml:username>\n  </oml:user>\n"
            for u in users
        )
        return f"<oml:users {NS}>\n{body}</oml:users>\n"

    def _setup_body(self, setup: Setup, indent: str) -> str:
        out = [
            f"{indent}<oml:setup_id>{setup.id}</oml:setup_id>\n",
            f"{indent}<oml:flow_id>{setup.flow_id}</oml:flow_id>\n",
        ]
        for n, ((flow_id, param), value) in enumerate(sorted(setup.values.items()), start=1):
            flow = self.flows[flow_id]
            out.append(
                f"{indent}<oml:parameter>\n"
                f"{indent}  <oml:id>{flow_id * 1000 + n}</oml:id>\n"
                f"{indent}  <oml:flow_id>{flow_id}</oml:flow_id>\n"
                f"{indent}  <oml:flow_name>{escape(flow.name)}</oml:flow_name>\n"
                f"{indent}  <oml:full_name>{escape(flow.full_name)}_{param}</oml:full_name>\n"
                f"{indent}  <oml:parameter_name>{param}</oml:parameter_name>\n"
                f"{indent}  <oml:data_type>option</oml:data_type>\n"
                f"{indent}  <oml:default_value>null</oml:default_value>\n"
                f"{indent}  <oml:value>{escape(value)}</oml:value>\n"
                f"{indent}</oml:parameter>\n"
            )
        return "".join(out)

    def _setup_list(self, f: dict[str, str]) -> str:
        if "limit" in f and int(f["limit"]) > MAX_SETUP_LIMIT:
            raise ApiError(672, "Limit too large")
        rows = sorted(self.setups.values(), key=lambda s: s.id)
        if "setup" in f:
            wanted = _ids(f["setup"])
            rows = [s for s in rows if s.id in wanted]
        if "flow" in f:
            wanted = _ids(f["flow"])
            rows = [s for s in rows if s.flow_id in wanted]
        rows = _page(rows, f)
        if not rows:
            raise ApiError(674, "No results")
        body = "".join(
            f"  <oml:setup>\n{self._setup_body(s, '    ')}  </oml:setup>\n" for s in rows
        )
        return f"<oml:setups {NS}>\n{body}</oml:setups>\n"

    def _setup(self, setup_id: int) -> str:
        if setup_id not in self.setups:
            raise ApiError(281, "Unknown setup")
        body = self._setup_body(self.setups[setup_id], "  ")
        return f"<oml:setup_parameters {NS}>\n{body}</oml:setup_parameters>\n"

    def _data(self, data_id: int) -> str:
        if data_id not in self.datasets:
            raise ApiError(111, "Unknown dataset")
        d = self.datasets[data_id]
        return (
            f"<oml:data_set_description {NS}>\n  <oml:id>{d.id}</oml:id>\n"
            f"  <oml:name>{escape(d.name)}</oml:name>\n  <oml:version>1</oml:version>\n"
            "  <oml:description>generated for a test</oml:description>\n"
            "  <oml:format>ARFF</oml:format>\n"
            "  <oml:upload_date>2024-01-01T00:00:00</oml:upload_date>\n"
            "  <oml:licence>Public</oml:licence>\n"
            f"  <oml:url>http://127.0.0.1/data/v1/download/{d.id}/{d.name}.arff</oml:url>\n"
            f"  <oml:file_id>{d.id}</oml:file_id>\n"
            "  <oml:default_target_attribute>class</oml:default_target_attribute>\n"
            "  <oml:visibility>public</oml:visibility>\n  <oml:status>active</oml:status>\n"
            "  <oml:md5_checksum>00000000000000000000000000000000</oml:md5_checksum>\n"
            "</oml:data_set_description>\n"
        )

    def _qualities(self, data_id: int) -> str:
        if data_id not in self.datasets:
            raise ApiError(361, "Unknown dataset")
        qualities = self.datasets[data_id].qualities
        if not qualities:
            raise ApiError(362, "No qualities found")
        body = "".join(
            f"  <oml:quality>\n    <oml:name>{name}</oml:name>\n"
            f"    <oml:value>{'' if value is None else repr(value)}</oml:value>\n"
            "  </oml:quality>\n"
            for name, value in sorted(qualities.items())
        )
        return f"<oml:data_qualities {NS}>\n{body}</oml:data_qualities>\n"

    def _quality_names(self) -> str:
        names = sorted({q for d in self.datasets.values() for q in d.qualities or {}})
        body = "".join(f"  <oml:quality>{n}</oml:quality>\n" for n in names)
        return f"<oml:data_qualities_list {NS}>\n{body}</oml:data_qualities_list>\n"

    def _runs(self, f: dict[str, str]) -> str:
        rows = sorted(self.evaluations, key=lambda e: e.run_id)
        rows = list({e.run_id: e for e in rows}.values())
        for key, attr in (("task", "task_id"), ("setup", "setup_id"), ("run", "run_id")):
            if key in f:
                wanted = _ids(f[key])
                rows = [e for e in rows if getattr(e, attr) in wanted]
        rows = _page(rows, f)
        if not rows:
            raise ApiError(512, "No results")
        body = "".join(
            "  <oml:run>\n"
            f"    <oml:run_id>{e.run_id}</oml:run_id>\n    <oml:task_id>{e.task_id}</oml:task_id>\n"
            "    <oml:task_type_id>1</oml:task_type_id>\n"
            f"    <oml:setup_id>{e.setup_id}</oml:setup_id>\n"
            f"    <oml:flow_id>{self.setups[e.setup_id].flow_id}</oml:flow_id>\n"
            f"    <oml:uploader>{e.uploader}</oml:uploader>\n"
            "    <oml:upload_time>2024-01-01T00:00:00</oml:upload_time>\n"
            "    <oml:error_message></oml:error_message>\n  </oml:run>\n"
            for e in rows
        )
        return f"<oml:runs {NS}>\n{body}</oml:runs>\n"

    def _tasks(self, f: dict[str, str]) -> str:
        rows = sorted(self.task_data.items())
        rows = _page(rows, f)
        if not rows:
            raise ApiError(482, "No results")
        body = "".join(
            f"  <oml:task>\n    <oml:task_id>{t}</oml:task_id>\n"
            "    <oml:task_type_id>1</oml:task_type_id>\n"
            f"    <oml:did>{d}</oml:did>\n"
            f"    <oml:name>{escape(self.datasets[d].name)}</oml:name>\n"
            "    <oml:task_type>Supervised Classification</oml:task_type>\n"
            "    <oml:status>active</oml:status>\n  </oml:task>\n"
            for t, d in rows
        )
        return f"<oml:tasks {NS}>\n{body}</oml:tasks>\n"


def _filters(parts: list[str]) -> dict[str, str]:
    if len(parts) % 2:
        raise ApiError(544, "Illegal filter specified", "/".join(parts))
    return dict(zip(parts[::2], parts[1::2], strict=True))


def _ids(text: str) -> set[int]:
    return {int(x) for x in text.split(",") if x}


def _page(rows: list[Any], f: dict[str, str]) -> list[Any]:
    offset = int(f.get("offset", 0))
    if "limit" in f:
        return rows[offset : offset + int(f["limit"])]
    return rows[offset:]
