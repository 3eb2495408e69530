"""Policy files: the native format, containers-policy.json, the ``admission:`` section, reloads."""
