"""A misbehaving GTP engine for the tests of :mod:`selfplay.gtp_player`.

``python fake_gtp.py GAME MODE [AFTER]``: plays Hex (GAME names it for the record; the size
comes from ``boardsize``) legally, the first empty cell in action order (a1, b1, ..., a2, ...),
until its genmove number AFTER (0 = the first), where MODE takes over:

- ``legal``: never misbehaves; ``resign``: answers ``= resign``;
- ``illegal``: a move that is not legal; ``garbage``: ``= zz99``; ``notgtp``: a line that
  is not GTP; ``binary``: bytes that are not text; ``huge``: two megabytes with no newline;
- ``hang``: never answers; ``die``: exits with status 3; ``close``: closes its output and
  stays alive; ``refuse``: ``? no`` to genmove;
- ``boardsize``: ``?`` to ``boardsize`` (from the start); ``play``: ``?`` to every ``play``
  from its AFTER-th on;
- ``hex:HEX``: answers genmove with the bytes ``HEX`` spells, as they are, and exits.

Plain Python with nothing imported but the standard library: it starts in milliseconds.
"""

from __future__ import annotations

import os
import sys
import time

LETTERS = "abcdefghijk"


def main() -> None:
    game_name, mode = sys.argv[1], sys.argv[2]
    after = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    size, taken = 5, set()
    out = sys.stdout.buffer
    genmoves = plays = 0
    del game_name

    def say(text: str | bytes) -> None:
        out.write(text if isinstance(text, bytes) else text.encode())
        out.flush()

    def cells():
        return [f"{LETTERS[c]}{r + 1}" for r in range(size) for c in range(size)]

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        if cmd == "quit":
            say("=\n\n")
            return
        if cmd == "name":
            say(f"= fake-{mode}\n\n")
        elif cmd == "version":
            say("= 1\n\n")
        elif cmd == "known_command":
            say("= true\n\n" if args and args[0] == "time_settings" else "= false\n\n")
        elif cmd == "boardsize" and mode == "boardsize":
            say("? unacceptable size\n\n")
        elif cmd in ("boardsize", "clear_board"):
            size = int(args[0]) if cmd == "boardsize" else size
            taken = set()
            say("=\n\n")
        elif cmd == "play":
            plays += 1
            if (mode == "play" and plays > after) or args[1].lower() in taken or args[1].lower() not in cells():
                say("? illegal move\n\n")
                continue
            taken.add(args[1].lower())
            say("=\n\n")
        elif cmd == "genmove":
            genmoves += 1
            if genmoves > after and mode not in ("legal", "play", "boardsize"):
                misbehave(mode, say)
                continue
            move = next(c for c in cells() if c not in taken)
            taken.add(move)
            say(f"= {move}\n\n")
        else:
            say("=\n\n")


def misbehave(mode: str, say) -> None:
    if mode == "resign":
        say("= resign\n\n")
    elif mode == "illegal":
        say("= z1\n\n")
    elif mode == "garbage":
        say("= zz99\n\n")
    elif mode == "notgtp":
        say("hello there\n\n")
    elif mode == "binary":
        say(b"= \xff\xfe\x00\x80junk\n\n")
    elif mode == "huge":
        say(b"=" + b"x" * (2 << 20))
        time.sleep(600)
    elif mode == "hang":
        time.sleep(600)
    elif mode == "die":
        os._exit(3)
    elif mode == "close":
        sys.stdout.close()
        os.close(1)
        time.sleep(600)
    elif mode == "refuse":
        say("? no\n\n")
    elif mode.startswith("hex:"):
        say(bytes.fromhex(mode[4:]))
        os._exit(0)


if __name__ == "__main__":
    main()
