"""Objects, validation, store, allocators and controllers: pure Python, no root, no kernel."""
