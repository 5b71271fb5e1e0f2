"""Runs a GTP engine and writes its conversation to a file as it happens.

``python gtp_tee.py LOG COMMAND...``: relays standard input to COMMAND and its answers back,
writing ``> command`` and ``< answer`` lines to LOG, flushed at once, so that a test can follow
a game that a GUI such as Quarry (whose own ``--gtp-log`` is written only when it exits) is
playing. The engine's standard error goes to LOG's ``.err`` sibling. Standard library only.
"""

from __future__ import annotations

import subprocess
import sys


def main() -> None:
    log_path, command = sys.argv[1], sys.argv[2:]
    with open(log_path, "a", buffering=1) as log, open(log_path + ".err", "a") as err:
        engine = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1
        )
        for line in sys.stdin:
            log.write("> " + line)
            engine.stdin.write(line)
            engine.stdin.flush()
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            while True:  # one GTP answer: lines up to and including an empty one
                answer = engine.stdout.readline()
                if not answer:
                    return
                sys.stdout.write(answer)
                sys.stdout.flush()
                log.write("< " + answer)
                if not answer.strip():
                    break
            if line.split()[0] == "quit":
                break
        engine.wait(timeout=10)


if __name__ == "__main__":
    main()
