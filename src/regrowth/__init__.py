"""regrowth: replication package for fiscal decentralization, regional innovation
and growth across Korea's 17 provinces (KIET, Lee Doohee et al. 2018, reconstructed).

Data flow, one package or module per arrow (README section 7 says where code goes)::

    data/raw (acquire) -> sources/ (tidy long tables) -> panel (panel.parquet, codebook)
    -> models/ (estimators, registry, covariance) -> specs/ (the spec file's vocabulary)
    -> fit (the one spec -> model adapter) -> analyses/ (declared per table in the spec)
    -> outputs + report/ (tables, figures, notes) -> replicate (the driver) -> notebooks/
    curve/ runs the multiverse over the same vocabulary.
"""

from regrowth import _aliases

__version__ = "0.1.0"

_aliases.install()
