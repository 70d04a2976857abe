"""Dumb widgets: they draw what presenters give them and hand user input back."""
