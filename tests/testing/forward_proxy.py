#!/usr/bin/env python3
"""A tiny HTTP forward proxy for tests: absolute-form requests (GET http://host:port/path) are
forwarded, CONNECT host:port opens a tunnel. Listens on 127.0.0.1, an ephemeral port, which it
prints as "PORT <n>" on stdout; appends one line per request to the log file given as argv[1]:
"<METHOD> <target> auth=<Proxy-Authorization or ->", or "BAD <request line>" for a request it
refuses (origin-form, or a CONNECT target that cannot be reached: 502). Runs until killed."""
import socket
import sys
import threading

LOG = open(sys.argv[1], "a", buffering=1)
LOCK = threading.Lock()


def log(line):
    with LOCK:
        LOG.write(line + "\n")


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def relay(client, upstream, first_bytes):
    if first_bytes:
        upstream.sendall(first_bytes)
    t = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    t.start()
    pump(client, upstream)
    t.join(timeout=10)


def handle(client):
    with client:
        head, rest = read_head(client)
        if head is None:
            return
        lines = head.split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = lines[1:]
        auth = "-"
        for h in headers:
            if h.lower().startswith("proxy-authorization:"):
                auth = h.split(":", 1)[1].strip()
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
            except OSError:
                log("BAD " + lines[0])
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            log("CONNECT %s auth=%s" % (target, auth))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with upstream:
                relay(client, upstream, rest)
            return
        if not target.startswith("http://"):
            log("BAD " + lines[0])
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        log("%s %s auth=%s" % (method, target, auth))
        hostport, _, path = target[len("http://"):].partition("/")
        host, _, port = hostport.rpartition(":")
        kept = [h for h in headers if not h.lower().startswith(("proxy-", "connection:"))]
        request = "\r\n".join(["%s /%s %s" % (method, path, version)] + kept +
                              ["Connection: close", "", ""]).encode("latin-1")
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5) as upstream:
            relay(client, upstream, request + rest)


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    print("PORT %d" % server.getsockname()[1], flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
