"""The join's heavy crypto in a short-lived child process, so the node's own memory stays flat.

A node runs for months. Answering a join needs SPAKE2 (the spake2 package
and the cryptography library under it: ~12 MB that would stay mapped for
good once imported) and one Argon2id of the invite code (64 MiB while it
runs). `pake_answer` and `argon2id` do each in a child (`python -m
node.isolated`) that exits at once: the node never imports spake2 and its
peak stays its own. Secrets cross only the child's pipes, never the disk;
what comes back is parsed strictly, like any other bytes from outside.
"""

from __future__ import annotations

import subprocess
import sys

from node import codec, crypto, pake
from node.codec import Fields
from node.errors import CryptoError, DecodeError, HelperError, PeerError

TIMEOUT = 10.0  # seconds: an Argon2id takes well under one; the node's loop waits meanwhile
MAX_IO = 4096


def pake_answer(secret: bytes, nameplate: int, theirs: bytes) -> tuple[bytes, pake.Session]:
    """`pake.answer`, computed in a child process."""
    f = _call({"op": "pake", "secret": secret, "nameplate": nameplate, "theirs": theirs})
    try:
        message = f.blob("message", pake.MESSAGE_SIZE)
        key, transcript = f.blob("key", crypto.KEY_SIZE), f.blob("transcript", 2 * len(message))
    except DecodeError:
        raise HelperError("the join helper process answered nonsense") from None
    return message, pake.Session(True, key, transcript)


def argon2id(password: bytes | bytearray, salt: bytes, opslimit: int, memlimit: int) -> bytearray:
    """`crypto.argon2id`, computed in a child process."""
    f = _call({"op": "argon2id", "password": bytes(password), "salt": salt,
               "ops": opslimit, "mem": memlimit})  # fmt: skip
    try:
        return bytearray(f.blob("key", crypto.KEY_SIZE))
    except DecodeError:
        raise HelperError("the join helper process answered nonsense") from None


def _call(request: dict[str, codec.Value]) -> Fields:
    try:
        done = subprocess.run(
            # -I: not this directory, nor PYTHON* variables, decides what code gets the secret
            [sys.executable, "-I", "-m", "node.isolated"],
            input=codec.encode(request),
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        raise HelperError("the join helper process could not run") from None
    try:
        f = Fields(codec.decode(done.stdout[:MAX_IO]), "helper answer")
        if done.returncode == 0 and "error" not in f.raw():
            return f
        error = f.text("error", 20)
    except DecodeError:
        raise HelperError("the join helper process failed") from None
    if error == "peer":
        raise PeerError("a malformed key-exchange message")
    raise HelperError("the join helper process failed")


def _serve(data: bytes) -> dict[str, codec.Value]:
    f = Fields(codec.decode(data), "helper request")
    op = f.text("op", 16)
    if op == "pake":
        f.exactly("op", "secret", "nameplate", "theirs")
        theirs = f.blob("theirs", max_size=256)
        secret = f.blob("secret", max_size=256)
        nameplate = f.integer("nameplate")
        if not 0 <= nameplate < 2**32:  # SPAKE2's password packs it in 4 bytes
            raise DecodeError("a malformed nameplate")
        message, session = pake.answer(secret, nameplate, theirs)
        return {"message": message, "key": session.key, "transcript": session.transcript}
    if op == "argon2id":
        f.exactly("op", "password", "salt", "ops", "mem")
        password, salt = f.blob("password", max_size=1024), f.blob("salt", max_size=64)
        key = crypto.argon2id(password, salt, f.integer("ops"), f.integer("mem"))
        try:
            return {"key": bytes(key)}
        finally:
            crypto.wipe(key)
    raise DecodeError("an unknown helper request")


def main() -> int:
    try:
        reply = _serve(sys.stdin.buffer.read(MAX_IO))
    except PeerError:
        reply = {"error": "peer"}
    except (DecodeError, CryptoError, ValueError):
        reply = {"error": "failed"}
    sys.stdout.buffer.write(codec.encode(reply))
    return 0 if "error" not in reply else 1


if __name__ == "__main__":
    sys.exit(main())
