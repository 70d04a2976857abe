"""admin_tools."""
