#!/usr/bin/env python3
"""Measures the backups API: listing a folder of 10,000 backups, and
downloading one large backup against nginx serving the same file.

The server runs from the release binary in a folder of its own on a free
port of 127.0.0.1; nginx (Debian's, `sendfile on`) serves the backups
folder on another. Downloads go through curl to /dev/null, ours and nginx
alternately after one warm-up each. Every process started here is stopped
by its id at the end, however the run ends.

Usage: api.py --binary PATH --work DIR [--size-mib N] [--backups N]
              [--lists N] [--pairs N] [--markdown FILE]
"""

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

from measure import write_markdown

HOST = "bench.host"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def backup_name(index):
    """The index-th backup name, one second apart from 2024-01-01."""
    day, rest = divmod(index, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{HOST}_2024-01-{day + 1:02d}_{hour:02d}-{minute:02d}-{second:02d}.zip"


def fill_backups(binary, work, count, size_mib):
    """A backups folder of `count` hard links to one small backup, and one
    large file of `size_mib` MiB; answers the folder and the large name."""
    data = os.path.join(work, "data")
    backups = os.path.join(data, "backups")
    config = os.path.join(data, "config")
    os.makedirs(backups)
    os.makedirs(config)
    with open(os.path.join(config, "wg0.conf"), "w") as handle:
        handle.write("[Interface]\nListenPort = 51820\n")
    small = os.path.join(work, "small.zip")
    subprocess.run([binary, "create", "--config-dir", config, "--host", HOST,
                    "--output", small], check=True, stdout=subprocess.DEVNULL)
    for index in range(count):
        os.link(small, os.path.join(backups, backup_name(index)))
    large = backup_name(count)
    with open(os.path.join(backups, large), "wb") as handle:
        chunk = os.urandom(1 << 20)
        for _ in range(size_mib):
            handle.write(chunk)
        # Written back now, so the writeback does not run under the
        # downloads being timed.
        handle.flush()
        os.fsync(handle.fileno())
    return data, backups, large


def start_server(binary, work, data, processes):
    port = free_port()
    settings = os.path.join(work, "server.toml")
    with open(settings, "w") as handle:
        handle.write(f'listen = "127.0.0.1:{port}"\ndata_dir = "{data}"\n'
                     f'host_name = "{HOST}"\ntime_zone = "UTC"\n')
    log = open(os.path.join(work, "server.log"), "wb")
    server = subprocess.Popen([binary, "serve", "--config", settings],
                              stdout=subprocess.PIPE, stderr=log)
    processes.append(server)
    # A first start prints the access hash on its second line.
    server.stdout.readline()
    access_hash = server.stdout.readline().decode().strip()
    wait_for_port(port)
    return port, access_hash


def start_nginx(work, backups, processes):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as handle:
        handle.write(f"""worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        root {backups};
    }}
}}
""")
    process = subprocess.Popen([nginx, "-c", conf, "-p", work],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(process)
    wait_for_port(port)
    return port


def wait_for_port(port):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on port {port}")


def list_times(port, access_hash, count, expected):
    """Milliseconds of `count` listings on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": f"access_hash={access_hash}"}
    times = []
    for round_number in range(count + 3):
        started = time.perf_counter()
        connection.request("GET", "/api/v1/backups", headers=headers)
        response = connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"listing answered {response.status}: {body[:200]!r}")
        if round_number == 0 and body.count(b".zip") < expected:
            raise SystemExit(f"the listing holds fewer than {expected} backups")
        if round_number >= 3:
            times.append(elapsed)
    return times


def download_speed(url, cookie=None):
    """Bytes per second of one download through curl to /dev/null."""
    argv = ["curl", "-s", "-f", "-o", "/dev/null", "-w", "%{size_download} %{time_total}"]
    if cookie:
        argv += ["-b", cookie]
    output = subprocess.run(argv + [url], check=True, capture_output=True, text=True).stdout
    size, seconds = output.split()
    return int(size) / float(seconds), int(size)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--backups", type=int, default=10_000)
    parser.add_argument("--lists", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--markdown")
    arguments = parser.parse_args()

    shutil.rmtree(arguments.work, ignore_errors=True)
    os.makedirs(arguments.work)
    processes = []
    try:
        data, backups, large = fill_backups(arguments.binary, arguments.work,
                                            arguments.backups, arguments.size_mib)
        port, access_hash = start_server(arguments.binary, arguments.work, data, processes)
        nginx_port = start_nginx(arguments.work, backups, processes)

        times = list_times(port, access_hash, arguments.lists, arguments.backups)
        ours_url = f"http://127.0.0.1:{port}/api/v1/backups/{large}"
        nginx_url = f"http://127.0.0.1:{nginx_port}/{large}"
        cookie = f"access_hash={access_hash}"
        download_speed(ours_url, cookie)
        download_speed(nginx_url)
        ours, nginx, ratios = [], [], []
        for _ in range(arguments.pairs):
            our_speed, our_size = download_speed(ours_url, cookie)
            nginx_speed, nginx_size = download_speed(nginx_url)
            if our_size != nginx_size:
                raise SystemExit(f"downloads differ in size: {our_size} and {nginx_size}")
            ours.append(our_speed)
            nginx.append(nginx_speed)
            ratios.append(our_speed / nginx_speed)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    median_list = statistics.median(times)
    text = (
        f"| figure | value |\n|---|---|\n"
        f"| `GET /api/v1/backups`, {arguments.backups:,} backups in the folder | median "
        f"{median_list:.1f} ms, fastest {min(times):.1f} ms, slowest {max(times):.1f} ms "
        f"({arguments.lists} requests on one connection) |\n"
        f"| download of {arguments.size_mib} MiB, ours | median "
        f"{statistics.median(ours) / 1e6:,.0f} MB/s |\n"
        f"| the same file from nginx (`sendfile on`) | median "
        f"{statistics.median(nginx) / 1e6:,.0f} MB/s |\n"
        f"| ours / nginx | median {statistics.median(ratios):.2f} "
        f"(pairs: {', '.join(f'{ratio:.2f}' for ratio in ratios)}) |\n"
    )
    print(text)
    if arguments.markdown:
        write_markdown(arguments.markdown, text, section="The backups API", name="api")
    return 0


if __name__ == "__main__":
    sys.exit(main())
