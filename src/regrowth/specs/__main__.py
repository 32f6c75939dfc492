"""``python -m regrowth.specs``: print the key list that heads ``specs/models.toml``."""

from regrowth.specs import schema_comment

print(schema_comment(), end="")
