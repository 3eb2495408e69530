"""The engine: the one place trust is decided (``verifier``), and its verdict cache."""
