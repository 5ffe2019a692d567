"""Validation of objects with the API server's exact messages and field paths.

`controlplane.validation.objects` is the entry point (validate_create / validate_update); `names` holds the
string-format checks shared with the selector parser.
"""
