"""regrowth: replication package for fiscal decentralization, regional innovation
and growth across Korea's 17 provinces (KIET, Lee Doohee et al. 2018, reconstructed).

Data flow, one module per arrow::

    data/raw (acquire.py) -> sources/ (tidy long tables) -> panel.py -> models/
    -> replicate.py (tables, figures, estimates.json) -> notebooks/
"""

__version__ = "0.1.0"
