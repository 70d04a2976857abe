"""The tray icon (Windows): closing the window can keep OfficeVault, and its sync, running.

The only module that imports pystray. Its icon runs its own loop on its own thread;
a menu click only posts "open", "lock" or "quit" to the window's Inbox, which the Tk
thread drains (Tk is never touched from the tray's thread). Where there is no tray
(pystray is installed on Windows only) `start` returns None and closing the window
quits, as it should where the user could not get the window back.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

from gui.events import Inbox

TrayAct = Literal["open", "lock", "quit"]


class Tray:
    def __init__(self, icon: Any) -> None:
        self._icon = icon

    def close(self) -> None:
        self._icon.stop()


def _picture() -> Any:
    """A 64x64 padlock: the icon needs an image, and we ship none."""
    from PIL import Image, ImageDraw  # noqa: PLC0415 (Pillow comes with ttkbootstrap)

    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((10, 28, 54, 60), radius=6, fill=(32, 96, 200, 255))
    draw.arc((18, 6, 46, 40), 180, 360, fill=(32, 96, 200, 255), width=6)
    draw.ellipse((28, 38, 36, 46), fill=(255, 255, 255, 255))
    return image


def start(inbox: Inbox[TrayAct], title: str = "OfficeVault") -> Tray | None:
    """Show the tray icon whose menu posts to `inbox`; None where there is no tray."""
    if sys.platform != "win32":
        return None
    try:
        import pystray  # noqa: PLC0415 (installed on Windows only)
    except ImportError:
        return None

    def post(act: TrayAct) -> Any:
        return lambda _icon, _item: inbox.put(act)

    menu = pystray.Menu(
        pystray.MenuItem("Open OfficeVault", post("open"), default=True),
        pystray.MenuItem("Lock", post("lock")),
        pystray.MenuItem("Quit (stops syncing)", post("quit")),
    )
    icon = pystray.Icon("OfficeVault", _picture(), title, menu)
    icon.run_detached()
    icon.visible = True
    return Tray(icon)
