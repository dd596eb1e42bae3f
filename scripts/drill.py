#!/usr/bin/env python3
"""Fault drill: two production replicas of Aegis behind haproxy, on their own
PostgreSQL, Redis and S3 server, under a bounded write load while faults are
injected one after another:

  kill -9 of a replica (restarted after a while), PostgreSQL restart,
  Redis outage (it comes back empty), S3 outage (connections refused).

Afterwards it checks what an operator cares about:
  * no acknowledged write lost: every test and evidence file answered 201 is
    there, evidence with its checksum;
  * no duplicate: no test name was stored twice;
  * no audit event missing: every stored test has its `test.create` event;
  * recovery without a restart: after each fault ends, writes through the
    balancer succeed again within RECOVERY_BOUND seconds;
  * no 500: a dependency outage is a 503 with a problem code, never a 500.

Everything runs as native processes in a temporary folder; nothing of the
machine's own services is touched. Standard library only.
Usage: drill.py --bin PATH/aegis --catalog STIX.json [--short] [--keep]
"""

import argparse
import hashlib
import json
import secrets
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter

RECOVERY_BOUND = 30.0
ADMIN_PASSWORD = "drill-admin-password-1"
SECRET_KEY = secrets.token_urlsafe(48)


def log(message):
    print(f"[drill {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"drill: {what} did not come up within {timeout:.0f} s")


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ---------------------------------------------------------------- services


class Postgres:
    """A PostgreSQL cluster of the drill's own, so it can be restarted."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        self.port = free_port()
        self.bin = sorted(
            os.path.join("/usr/lib/postgresql", v, "bin")
            for v in os.listdir("/usr/lib/postgresql")
        )[-1]
        os.makedirs(self.dir)
        # initdb refuses to run as root; the cluster then belongs to postgres.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(root, "postgres")
            shutil.chown(self.dir, "postgres")
        self.run("initdb", "-D", self.dir, "-A", "trust", "-U", "postgres", "--no-sync")

    def run(self, tool, *args):
        subprocess.run(
            self.as_user + [os.path.join(self.bin, tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", self.dir, "-o", options, "-l", self.dir + "/log", "-w", "start")

    def stop(self):
        self.run("pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop")

    def url(self, database="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


class Process:
    """A child process with its output in a log file."""

    def __init__(self, name, argv, env=None, log_dir="."):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        out = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Relay(threading.Thread):
    """A TCP relay in front of a service: `cut` drops every connection and
    refuses new ones (the service is unreachable), `restore` lets them in."""

    def __init__(self, target_port):
        super().__init__(daemon=True)
        self.target = target_port
        self.port = free_port()
        self.open = threading.Event()
        self.open.set()
        self.connections = []
        self.lock = threading.Lock()
        self.listener = None

    def run(self):
        while True:
            self.open.wait()
            self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
            self.listener.settimeout(0.2)
            while self.open.is_set():
                try:
                    client, _ = self.listener.accept()
                except socket.timeout:
                    continue
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.target))
                except OSError:
                    client.close()
                    continue
                with self.lock:
                    self.connections += [client, upstream]
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()
            self.listener.close()

    def pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.open.clear()
        with self.lock:
            for s in self.connections:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.connections = []
        wait_until("relay cut", lambda: not port_open(self.port), timeout=10)

    def restore(self):
        self.open.set()
        wait_until("relay restore", lambda: port_open(self.port), timeout=10)


# ---------------------------------------------------------------- the API


class Api:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.token = None

    def call(self, method, path, body=None, headers=None, timeout=15.0):
        """(status, parsed body or text); status 0 for a connection failure."""
        data = None
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif isinstance(body, bytes):
            data = body
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                status, raw = reply.status, reply.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (OSError, urllib.error.URLError):
            return 0, None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def login(self):
        status, body = self.call(
            "POST", "/api/v1/auth/login", {"username": "admin", "password": ADMIN_PASSWORD}
        )
        if status != 200:
            raise SystemExit(f"drill: admin login answered {status}: {body}")
        self.token = body["access_token"]

    def upload(self, test_id, content):
        boundary = uuid.uuid4().hex
        body = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"drill.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n"
        ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return self.call(
            "POST",
            f"/api/v1/tests/{test_id}/evidence",
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )


def outcome(status, body):
    """How an answer is counted: the code of a problem body, else the status."""
    if status == 0:
        return "no answer"
    if isinstance(body, dict) and status >= 400 and body.get("code"):
        return f"{status} {body['code']}"
    if status >= 500 and not isinstance(body, dict):
        return f"{status} from the balancer"
    return str(status)


class Load:
    """Writers creating tests (and evidence for them) through the balancer
    until stopped; what was acknowledged is kept to check afterwards."""

    def __init__(self, api, writers):
        self.api, self.writers = api, writers
        self.acked_tests = {}  # id -> name
        self.acked_evidence = {}  # (test id, evidence id) -> sha256
        self.outcomes = Counter()
        self.phase = "start"
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = []
        self.sequence = 0

    def start(self):
        for n in range(self.writers):
            thread = threading.Thread(target=self.write, args=(n,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def record(self, kind, status, body):
        with self.lock:
            self.outcomes[(self.phase, kind, outcome(status, body))] += 1

    def write(self, n):
        while not self.stop.is_set():
            with self.lock:
                self.sequence += 1
                name = f"drill {n}-{self.sequence}"
            status, body = self.api.call(
                "POST", "/api/v1/tests", {"name": name, "technique_id": "T1059"}
            )
            self.record("create test", status, body)
            if status == 201:
                with self.lock:
                    self.acked_tests[body["id"]] = name
                content = f"evidence of {name} {uuid.uuid4()}".encode()
                status, evidence = self.api.upload(body["id"], content)
                self.record("upload evidence", status, evidence)
                if status == 201:
                    with self.lock:
                        self.acked_evidence[(body["id"], evidence["id"])] = hashlib.sha256(
                            content
                        ).hexdigest()
            elif status in (0, 502, 503, 504):
                time.sleep(0.2)
            time.sleep(0.02)


def first_success_after(api, since):
    """Seconds from `since` until a write through the balancer succeeds."""
    deadline = since + RECOVERY_BOUND * 2
    while time.monotonic() < deadline:
        status, _ = api.call(
            "POST", "/api/v1/tests", {"name": f"probe {uuid.uuid4()}", "technique_id": "T1059"}
        )
        if status == 201:
            return time.monotonic() - since
        time.sleep(0.25)
    return None


# ---------------------------------------------------------------- the drill


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="the aegis binary")
    parser.add_argument("--catalog", required=True, help="an ATT&CK STIX bundle with T1059")
    parser.add_argument("--moto", required=True, help="the moto_server executable")
    parser.add_argument("--haproxy", default="haproxy")
    parser.add_argument("--short", action="store_true", help="seconds per phase, for CI")
    parser.add_argument("--keep", action="store_true", help="keep the folder with the logs")
    args = parser.parse_args()
    calm, fault, writers = (3.0, 4.0, 3) if args.short else (15.0, 20.0, 8)

    root = tempfile.mkdtemp(prefix="aegis-drill-")
    logs = os.path.join(root, "logs")
    os.makedirs(logs)
    shutil.chown(logs, os.getuid())
    children = []
    pg = None
    failures = []
    try:
        log(f"folder {root}")
        pg = Postgres(root)
        pg.start()
        subprocess.run(
            pg.as_user + [os.path.join(pg.bin, "createdb"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "aegis"],
            check=True,
        )

        redis_port = free_port()
        redis = Process(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
            log_dir=logs,
        )
        redis.start()
        children.append(redis)
        moto_port = free_port()
        moto = Process("s3", [args.moto, "-H", "127.0.0.1", "-p", str(moto_port)], log_dir=logs)
        moto.start()
        children.append(moto)
        wait_until("redis", lambda: port_open(redis_port))
        wait_until("s3", lambda: port_open(moto_port))
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{moto_port}/aegis", method="PUT")
        ).read()
        s3 = Relay(moto_port)
        s3.start()
        wait_until("s3 relay", lambda: port_open(s3.port))

        env = dict(
            os.environ,
            AEGIS_ENV="production",
            AEGIS_SECRET_KEY=SECRET_KEY,
            AEGIS_ADMIN__PASSWORD=ADMIN_PASSWORD,
            AEGIS_DATA_DIR=os.path.join(root, "data"),
            AEGIS_DATABASE__URL=pg.url("aegis"),
            AEGIS_DATABASE__ACQUIRE_TIMEOUT_MS="2000",
            AEGIS_REDIS__URL=f"redis://127.0.0.1:{redis_port}",
            AEGIS_STORAGE__BACKEND="s3",
            AEGIS_STORAGE__S3__ENDPOINT=f"http://127.0.0.1:{s3.port}",
            AEGIS_STORAGE__S3__BUCKET="aegis",
            AEGIS_STORAGE__S3__ACCESS_KEY_ID="drill",
            AEGIS_STORAGE__S3__SECRET_ACCESS_KEY="drill",
            AEGIS_HTTP__TRUSTED_PROXIES="[127.0.0.1/32]",
            AEGIS_MITRE__SOURCE=args.catalog,
            AEGIS_LOG__FORMAT="text",
            AEGIS_LOG__LEVEL="warn",
        )
        env = {k: v for k, v in env.items() if not k.startswith("AEGIS_TEST_")}
        for step in (["migrate"], ["sync-mitre"]):
            done = subprocess.run([args.bin, *step], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"drill: aegis {step[0]} failed: {done.stderr.strip()[-2000:]}")

        replicas = []
        for name in ("replica-a", "replica-b"):
            port = free_port()
            replica = Process(name, [args.bin, "serve"], dict(env, AEGIS_HTTP__PORT=str(port)), logs)
            replica.port = port
            replica.start()
            children.append(replica)
            replicas.append(replica)
        for replica in replicas:
            wait_until(replica.name, lambda r=replica: port_open(r.port))

        balancer_port = free_port()
        config = os.path.join(root, "haproxy.cfg")
        with open(config, "w") as f:
            f.write(haproxy_config(balancer_port, [r.port for r in replicas]))
        balancer = Process("haproxy", [args.haproxy, "-f", config, "-db"], log_dir=logs)
        balancer.start()
        children.append(balancer)
        wait_until("haproxy", lambda: port_open(balancer_port))

        api = Api(balancer_port)
        wait_until("a replica behind haproxy", lambda: api.call("GET", "/health/ready")[0] == 200)
        api.login()
        load = Load(api, writers)
        load.start()

        def phase(name, begin, end, down_for=fault):
            load.phase = "calm before " + name
            time.sleep(calm)
            load.phase = name
            log(f"{name}: fault")
            begin()
            time.sleep(down_for)
            end()
            ended = time.monotonic()
            load.phase = name + " (recovering)"
            recovered = first_success_after(api, ended)
            verdict = "never" if recovered is None else f"{recovered:.1f} s"
            log(f"{name}: ended; writes succeed again after {verdict}")
            if recovered is None or recovered > RECOVERY_BOUND:
                failures.append(f"{name}: writes did not recover within {RECOVERY_BOUND:.0f} s")

        victim = replicas[0]
        phase("kill -9 of a replica", lambda: victim.kill(), lambda: victim.start())
        phase("PostgreSQL restart", pg.stop, pg.start, down_for=fault / 2)
        phase("Redis outage", lambda: redis.kill(signal.SIGKILL), redis.start)
        phase("S3 outage", s3.cut, s3.restore)
        load.phase = "calm after"
        time.sleep(calm)
        load.finish()

        # Both replicas serve again, and only the killed one was restarted:
        # the other came through every outage on its own.
        for replica in replicas:
            ready = Api(replica.port)
            try:
                wait_until(
                    f"{replica.name} ready", lambda: ready.call("GET", "/health/ready")[0] == 200,
                    timeout=RECOVERY_BOUND,
                )
            except SystemExit as not_ready:
                failures.append(str(not_ready))
            if replica.starts != (2 if replica is victim else 1):
                failures.append(f"{replica.name} was started {replica.starts} times")

        # Read back through one replica directly, not through the balancer.
        reader = Api(replicas[1].port)
        reader.token = api.token
        failures += check_writes(reader, load)
        report(load)
    finally:
        for child in reversed(children):
            child.kill()
        if pg:
            try:
                pg.stop()
            except subprocess.CalledProcessError:
                pass
        if args.keep or failures:
            log(f"logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if failures:
        for failure in failures:
            log("FAILED: " + failure)
        sys.exit(1)
    log("passed: no acknowledged write lost or duplicated, every audit event there, no 500")


def haproxy_config(port, backends):
    servers = "\n".join(
        f"    server r{n} 127.0.0.1:{p} check inter 500ms fall 2 rise 1"
        for n, p in enumerate(backends)
    )
    # Retried only when the request never reached a replica (a failed
    # connection), so a write is never sent twice.
    return f"""global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    retry-on conn-failure
    option redispatch
frontend aegis
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend replicas
backend replicas
    option httpchk GET /health
{servers}
"""


def fetch_all(api, path, key="items"):
    items, offset = [], 0
    while True:
        separator = "&" if "?" in path else "?"
        status, body = api.call("GET", f"{path}{separator}limit=500&offset={offset}")
        if status != 200:
            raise SystemExit(f"drill: GET {path} answered {status}: {body}")
        items += body[key]
        offset += len(body[key])
        if not body[key] or offset >= body["total"]:
            return items


def check_writes(api, load):
    failures = []
    tests = fetch_all(api, "/api/v1/tests?q=drill")
    stored = {t["id"]: t["name"] for t in tests if t["name"].startswith("drill ")}
    lost = [i for i in load.acked_tests if i not in stored]
    names = Counter(stored.values())
    duplicated = [n for n, count in names.items() if count > 1]
    events = fetch_all(api, "/api/v1/audit?action=test.create")
    audited = {e.get("target_id") for e in events}
    unaudited = [i for i in stored if i not in audited]
    lost_evidence = []
    for (test_id, evidence_id), sha in load.acked_evidence.items():
        status, body = api.call("GET", f"/api/v1/tests/{test_id}/evidence/{evidence_id}")
        if status != 200 or body.get("sha256") != sha:
            lost_evidence.append(evidence_id)
    log(
        f"acknowledged {len(load.acked_tests)} tests and {len(load.acked_evidence)} evidence files; "
        f"stored {len(stored)} drill tests ({len(set(stored) - set(load.acked_tests))} of them "
        f"unacknowledged: their answer was lost or a 503 as the write committed); "
        f"lost {len(lost)} tests, {len(lost_evidence)} evidence; "
        f"duplicated {len(duplicated)}; without audit event {len(unaudited)}"
    )
    if lost:
        failures.append(f"{len(lost)} acknowledged tests lost, e.g. {lost[:3]}")
    if lost_evidence:
        failures.append(f"{len(lost_evidence)} acknowledged evidence files lost or changed")
    if duplicated:
        failures.append(f"{len(duplicated)} test names stored twice, e.g. {duplicated[:3]}")
    if unaudited:
        failures.append(f"{len(unaudited)} tests without their audit event")
    errors = {k: v for k, v in load.outcomes.items() if k[2].startswith("500")}
    if errors:
        failures.append(f"500 answers: {errors}")
    if not load.acked_tests:
        failures.append("no write was acknowledged at all")
    return failures


def report(load):
    log("answers by phase (what, outcome: count):")
    phases = []
    for (phase, _, _) in load.outcomes:
        if phase not in phases:
            phases.append(phase)
    for phase in phases:
        rows = sorted((k[1], k[2], v) for k, v in load.outcomes.items() if k[0] == phase)
        log(f"  {phase}: " + "; ".join(f"{what} {out}: {n}" for what, out, n in rows))


if __name__ == "__main__":
    main()
