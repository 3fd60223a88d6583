"""medcite: a self-hosted clinical evidence engine.

Pipeline folders: ingest -> index -> retrieve -> analyze -> compose -> verify -> render.
Front ends (cli.py, api/, web/, CDS Hooks) are thin shells over library calls.
"""

__version__ = "0.1.0"
