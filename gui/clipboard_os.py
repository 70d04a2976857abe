"""Putting a secret on the system clipboard, marked private where the platform allows.

Windows: the text goes on as CF_UNICODETEXT together with the registered formats
that keep it out of clipboard history, the cloud clipboard and clipboard monitors
("ExcludeClipboardContentFromMonitorProcessing", and "CanIncludeInClipboardHistory"
and "CanUploadToCloudClipboard" as a DWORD 0), through user32 (ctypes): Tk's own
clipboard cannot add formats there. Elsewhere (X11): Tk's clipboard, plus the
target x-kde-passwordManagerHint = "secret", which KDE's Klipper and other
clipboard managers honour by not keeping it.

Only the window's Tk thread calls these. Whether the clipboard still holds our
value, and when to clear it, is gui/clipboard.py's decision.
"""

from __future__ import annotations

import sys
import tkinter as tk
from typing import Any

from node.errors import VaultError

HINT_TYPE = "x-kde-passwordManagerHint"
WINDOWS = sys.platform == "win32"


class ClipboardBusyError(VaultError):
    """Another program holds the clipboard (Windows lets one program open it at a time)."""


BUSY = "the clipboard is busy (another program holds it); try again"


def put(root: tk.Misc, text: str) -> None:
    try:
        if WINDOWS:
            _put_windows(text)
            return
        root.clipboard_clear()
        root.clipboard_append(text)
        root.clipboard_append("secret", type=HINT_TYPE)
    except (OSError, MemoryError, tk.TclError):
        raise ClipboardBusyError(BUSY) from None


def read(root: tk.Misc) -> str | None:
    """The clipboard's text now (None: empty, or not text)."""
    try:
        return root.clipboard_get()
    except tk.TclError:
        return None


def clear(root: tk.Misc) -> None:
    try:
        if WINDOWS:
            _clear_windows()
            return
        root.clipboard_clear()
    except (OSError, tk.TclError):
        raise ClipboardBusyError(BUSY) from None


# -- Windows (user32/kernel32 through ctypes) ---------------------------------------------
_PRIVATE_FORMATS = (
    ("ExcludeClipboardContentFromMonitorProcessing", b"\x00"),
    ("CanIncludeInClipboardHistory", (0).to_bytes(4, "little")),
    ("CanUploadToCloudClipboard", (0).to_bytes(4, "little")),
)
_CF_UNICODETEXT = 13
_GMEM_MOVEABLE = 0x0002


def _api() -> tuple[Any, Any, Any]:  # pragma: no cover (Windows only)
    import ctypes  # noqa: PLC0415
    from ctypes import wintypes  # noqa: PLC0415

    user32 = getattr(ctypes, "WinDLL")("user32", use_last_error=True)  # noqa: B009 (Windows only)
    kernel32 = getattr(ctypes, "WinDLL")("kernel32", use_last_error=True)  # noqa: B009
    user32.OpenClipboard.argtypes = [wintypes.HWND]
    user32.OpenClipboard.restype = wintypes.BOOL
    user32.EmptyClipboard.restype = wintypes.BOOL
    user32.CloseClipboard.restype = wintypes.BOOL
    user32.SetClipboardData.argtypes = [wintypes.UINT, wintypes.HANDLE]
    user32.SetClipboardData.restype = wintypes.HANDLE
    user32.RegisterClipboardFormatW.argtypes = [wintypes.LPCWSTR]
    user32.RegisterClipboardFormatW.restype = wintypes.UINT
    kernel32.GlobalAlloc.argtypes = [wintypes.UINT, ctypes.c_size_t]
    kernel32.GlobalAlloc.restype = wintypes.HGLOBAL
    kernel32.GlobalLock.argtypes = [wintypes.HGLOBAL]
    kernel32.GlobalLock.restype = ctypes.c_void_p
    kernel32.GlobalUnlock.argtypes = [wintypes.HGLOBAL]
    kernel32.GlobalFree.argtypes = [wintypes.HGLOBAL]
    return ctypes, user32, kernel32


def _open(user32: Any) -> None:  # pragma: no cover (Windows only)
    import time  # noqa: PLC0415

    for _ in range(20):  # another program may hold it for a moment
        if user32.OpenClipboard(None):
            return
        time.sleep(0.01)
    raise OSError("the clipboard is busy")


def _put_windows(text: str) -> None:  # pragma: no cover (Windows only)
    ctypes, user32, kernel32 = _api()

    def global_bytes(data: bytes) -> object:
        handle = kernel32.GlobalAlloc(_GMEM_MOVEABLE, len(data))
        if not handle:
            raise MemoryError
        pointer = kernel32.GlobalLock(handle)
        ctypes.memmove(pointer, data, len(data))
        kernel32.GlobalUnlock(handle)
        return handle

    _open(user32)
    try:
        user32.EmptyClipboard()
        for data, fmt in [(text.encode("utf-16-le") + b"\x00\x00", _CF_UNICODETEXT)] + [
            (value, user32.RegisterClipboardFormatW(name)) for name, value in _PRIVATE_FORMATS
        ]:
            handle = global_bytes(data)
            if not user32.SetClipboardData(fmt, handle):  # the system owns it only on success
                kernel32.GlobalFree(handle)
    finally:
        user32.CloseClipboard()


def _clear_windows() -> None:  # pragma: no cover (Windows only)
    _, user32, _ = _api()
    _open(user32)
    try:
        user32.EmptyClipboard()
    finally:
        user32.CloseClipboard()
