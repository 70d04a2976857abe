"""`officevault`: with no subcommand, or `officevault gui [--data-dir D]`, the window;
any other subcommand is the command line (node/cli.py), unchanged.

Tk and ttkbootstrap are imported only when the window opens, so the commands stay as
quick to start as before.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from node import cliutil, datadir
from node.errors import VaultError

if TYPE_CHECKING:
    import tkinter


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "gui":
        return window(args[1:])
    if not args or args[0].startswith("--data-dir"):
        return window(args)
    from node import cli as node_cli  # noqa: PLC0415 (the window does not need it)

    return node_cli.main(args)


def build_parser() -> cliutil.Parser:
    parser = cliutil.Parser(prog="officevault gui", description="Open the OfficeVault window.")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="this device's data folder (default: the usual place)")  # fmt: skip
    parser.add_argument("--demo", action="store_true",
                        help="try it: a demo office with sample entries and a second PC "
                             "that changes them, on this PC (--data-dir: its folder)")  # fmt: skip
    return parser


def _demo_folder(args: argparse.Namespace) -> Path:
    if args.data_dir is not None:
        return Path(args.data_dir)
    return datadir.default_path().parent / "OfficeVault demo"


def window(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        import tkinter  # noqa: PLC0415 (only the window needs Tk)

        import ttkbootstrap as ttk  # noqa: PLC0415

        from gui.app import App  # noqa: PLC0415
    except ImportError as exc:
        if exc.name not in ("tkinter", "_tkinter", "ttkbootstrap"):
            raise  # not a missing Tk: a broken install, to be seen as such
        sys.stderr.write(f"officevault: error: the window needs Tk ({exc.name} is missing)\n")
        return 1
    try:
        root = ttk.Window(title="OfficeVault", size=(1100, 680))
    except tkinter.TclError as exc:
        sys.stderr.write(f"officevault: error: cannot open a window ({exc})\n")
        return 1
    from gui import session_os  # noqa: PLC0415

    def close() -> None:
        app.close()
        if second is not None:
            second.stop()
        root.destroy()

    profile = cliutil.kdf_profile()
    path, hint, second = cliutil.data_dir(args), "", None
    options: tuple[str, ...] = ()
    if args.demo:
        from gui import demo  # noqa: PLC0415

        try:
            made = demo.prepare(_demo_folder(args), profile, cliutil.now())
        except VaultError as exc:
            root.destroy()
            sys.stderr.write(f"officevault: error: the demo could not be made: {exc}\n")
            return 1
        second = demo.SecondPc(made)
        path, options = made.you, second.node_options
        hint = f"Demo office: the password is {demo.PASSWORD!r}. sam's PC changes an entry "
        hint += "every 20 s: watch the list."
    app = App(root, path, profile, node_options=options, session=session_os.probe(),
              on_quit=close, hint=hint)  # fmt: skip

    def close_button() -> None:
        if not app.hide_to_tray():  # to the tray where there is one (the node keeps syncing)
            close()

    root.protocol("WM_DELETE_WINDOW", close_button)
    try:
        app.start()
        _report_paint(root, close)
        root.mainloop()
    finally:  # Ctrl-C, an error: the node and sam's PC stop with the window all the same
        if app.node is not None or second is not None:
            app.close()
            if second is not None:
                second.stop()
    return 0


def _report_paint(root: tkinter.Tk, close: Callable[[], None]) -> None:
    """For scripts/bench_window: once the first screen is painted, write the time to the
    file OFFICEVAULT_PAINTED names, and with OFFICEVAULT_EXIT_AFTER_PAINT=1 close."""
    target = os.environ.get("OFFICEVAULT_PAINTED")
    if not target:
        return
    root.update()  # the first screen, drawn
    Path(target).write_text(f"{time.time():.6f}\n")
    if os.environ.get("OFFICEVAULT_EXIT_AFTER_PAINT") == "1":
        root.after_idle(close)


if __name__ == "__main__":
    sys.exit(main())
