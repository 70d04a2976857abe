"""The desktop window: dumb ttkbootstrap widgets, and presenters of plain values.

Presenters (this package's modules without Tk) hold every decision the window
makes: what a list shows, which actions a role gets, when a copied secret
leaves the clipboard, when the vault locks. They take the time as an argument
and are tested without a display; the widgets only draw what they are given
and hand user input back.
"""
