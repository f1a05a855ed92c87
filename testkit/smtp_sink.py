"""A real SMTP server for Weir's tests (driven by testkit/src/smtp.rs).

Usage: smtp_sink.py DIR [PORT]

Listens on 127.0.0.1:PORT (0, the default, lets the kernel choose), prints the bound port as
the first line on stdout, and writes every accepted message into DIR as `<n>.json` (the
envelope: {"mail_from": ..., "rcpt_tos": [...]}) and then `<n>.eml` (the raw RFC 5322
message as received, dot-unstuffed), n = 1, 2, ... Both files are written under a temporary
name and renamed, so a reader that sees `<n>.eml` also sees a complete `<n>.json`.

Exits when stdin reaches end of file, so the server never outlives the test process that
started it (which holds the other end of the pipe), or on SIGTERM/SIGINT.
"""

import asyncio
import errno
import json
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    def _write(self, name, data):
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.directory, name))

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}
        self._write("%d.json" % n, json.dumps(meta).encode())
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        self._write("%d.eml" % n, raw)
        return "250 Message accepted for delivery"


async def main():
    if len(sys.argv) not in (2, 3):
        print("usage: smtp_sink.py DIR [PORT]", file=sys.stderr)
        sys.exit(2)
    directory = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) == 3 else 0
    os.makedirs(directory, exist_ok=True)
    handler = Sink(directory)
    loop = asyncio.get_running_loop()

    def factory():
        # A fixed hostname: the default (socket.getfqdn()) can stall on DNS.
        return SMTP(handler, hostname="weir-smtp-sink", enable_SMTPUTF8=True)

    # A given port may still be held for a moment by a sink that was just killed (or by a
    # test that probed it): retry for a few seconds before giving up.
    deadline = loop.time() + 10
    while True:
        try:
            server = await loop.create_server(factory, "127.0.0.1", port)
            break
        except OSError as e:
            if e.errno != errno.EADDRINUSE or loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)

    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write("%d\n" % bound)
    sys.stdout.flush()

    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)

    def on_stdin():
        try:
            chunk = os.read(sys.stdin.fileno(), 4096)
        except OSError:
            chunk = b""
        if not chunk:
            loop.remove_reader(sys.stdin.fileno())
            done.set()

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    await done.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
